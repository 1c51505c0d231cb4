"""The mapping file: turn source identifiers into allocation dimensions and owners.

Admins edit one YAML file that states which team, feature (workflow), tenant, user, project and
environment an OpenAI project, an API key, a LiteLLM team, a tag or a GPU host belongs to, and
who owns each scope. `load_mapping` validates the whole file and reports every problem as
`FILE:LINE: key: value: what is wrong`, so a typo never silently drops allocation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from yaml.nodes import MappingNode

from bot.mapping_check import DIMENSION_ALIASES, ID_SECTIONS, SECTIONS, MappingChecker, scalar_text
from bot.yamlfile import compose_yaml, syntax_error_line

logger = logging.getLogger(__name__)


class MappingError(Exception):
    """Raised when the mapping file is invalid; `errors` contains one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass(frozen=True)
class Mapping:
    """The validated mapping. Every lookup returns an empty result for an unknown id."""

    projects: dict[str, dict[str, str]] = field(default_factory=dict)
    api_keys: dict[str, dict[str, str]] = field(default_factory=dict)
    teams: dict[str, dict[str, str]] = field(default_factory=dict)
    hosts: dict[str, dict[str, str]] = field(default_factory=dict)
    host_rates: dict[str, Decimal] = field(default_factory=dict)
    host_models: dict[str, str] = field(default_factory=dict)
    host_timezones: dict[str, str] = field(default_factory=dict)
    tag_keys: dict[str, str] = field(default_factory=dict)
    features: dict[str, dict[str, Any]] = field(default_factory=dict)
    owners: dict[str, dict[str, str]] = field(default_factory=dict)
    # Projects and API keys declared `via: litellm`: the LiteLLM proxy calls the provider with them.
    proxied_projects: frozenset[str] = frozenset()
    proxied_api_keys: frozenset[str] = frozenset()
    path: Path | None = None

    def for_project(self, project_id: str | None) -> dict[str, str]:
        return dict(self.projects.get(str(project_id), {})) if project_id is not None else {}

    def for_api_key(self, api_key_id: str | None) -> dict[str, str]:
        return dict(self.api_keys.get(str(api_key_id), {})) if api_key_id is not None else {}

    def via_proxy(self, project_id: str | None, api_key_id: str | None) -> bool:
        """Return True when the mapping declares the project or the API key `via: litellm`."""
        return (project_id is not None and str(project_id) in self.proxied_projects) or (
            api_key_id is not None and str(api_key_id) in self.proxied_api_keys
        )

    def for_team(self, team_id: str | None) -> dict[str, str]:
        return dict(self.teams.get(str(team_id), {})) if team_id is not None else {}

    def for_host(self, name: str | None) -> dict[str, str]:
        return dict(self.hosts.get(str(name), {})) if name is not None else {}

    def from_tags(self, tags: dict[str, Any] | None) -> dict[str, str]:
        """Return the dimensions named by `tags` whose keys are listed under `tag_keys`.

        Keys match exactly. Empty and null tag values are skipped.
        """
        if not tags:
            return {}
        dimensions: dict[str, str] = {}
        for key, value in tags.items():
            dimension = self.tag_keys.get(str(key))
            if dimension is None or value is None or str(value) == "":
                continue
            dimensions.setdefault(dimension, str(value))
        return dimensions

    def host_rate(self, name: str | None) -> Decimal | None:
        """Return the host's price of one GPU for one hour in USD, if the mapping sets it."""
        return self.host_rates.get(str(name)) if name is not None else None

    def host_gpu_model(self, name: str | None) -> str | None:
        return self.host_models.get(str(name)) if name is not None else None

    def host_timezone(self, name: str | None) -> ZoneInfo | None:
        """Return the time zone of the host's clock, if the mapping sets it."""
        zone = self.host_timezones.get(str(name)) if name is not None else None
        return ZoneInfo(zone) if zone else None

    def feature(self, name: str | None) -> dict[str, Any]:
        return dict(self.features.get(str(name), {})) if name is not None else {}

    def owner(self, dimension: str, value: str | None) -> str | None:
        if value is None:
            return None
        return self.owners.get(DIMENSION_ALIASES.get(dimension, dimension), {}).get(str(value))


def merge_dimensions(*sources: dict[str, str | None]) -> dict[str, str]:
    """Merge dimension dicts; an earlier source wins, so pass the row's own values first.

    A None value counts as unset and never hides a value from a later source.
    """
    merged: dict[str, str] = {}
    for source in sources:
        for dimension, value in source.items():
            if value is not None and value != "" and dimension not in merged:
                merged[dimension] = value
    return merged


def load_mapping(path: Path | str | None) -> Mapping:
    """Load and validate the mapping file; a missing file (or None) gives an empty mapping."""
    if path is None:
        return Mapping()
    path = Path(path)
    if not path.exists():
        logger.info("mapping file %s not found; no source ids are mapped", path)
        return Mapping(path=path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MappingError([f"{path}: file: {str(path)!r}: cannot be read ({exc.strerror}); check the path"]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 4]
        raise MappingError([f"{path}:{line}: file: {bad!r}: invalid UTF-8; save the file as UTF-8"]) from None
    mapping = parse_mapping(text, path)
    logger.info(
        "mapping loaded from %s: projects=%d api_keys=%d teams=%d hosts=%d tag_keys=%d features=%d via_litellm=%d",
        path, len(mapping.projects), len(mapping.api_keys), len(mapping.teams), len(mapping.hosts),
        len(mapping.tag_keys), len(mapping.features), len(mapping.proxied_projects) + len(mapping.proxied_api_keys),
    )
    return mapping


def parse_mapping(text: str, path: Path | str = "<mapping>") -> Mapping:
    """Validate mapping YAML `text`; `path` only names the file in error messages."""
    checker = MappingChecker(str(path))
    try:
        root = compose_yaml(text)
    except yaml.YAMLError as exc:
        line = syntax_error_line(exc) or "?"
        problem = getattr(exc, "problem", None) or str(exc)
        raise MappingError([f"{path}:{line}: yaml: {problem}: invalid YAML; fix the syntax"]) from None

    if root is None:
        return Mapping(path=Path(path))
    if not isinstance(root, MappingNode):
        checker.fail(root, "mapping", scalar_text(root), "the file must be a YAML mapping of sections " + ", ".join(SECTIONS))
        raise MappingError(checker.errors)

    sections: dict[str, Any] = {}
    for key_node, value_node in checker.pairs(root, "mapping"):
        name = key_node.value
        if name not in SECTIONS:
            checker.fail(key_node, name, name, "unknown section; expected one of " + ", ".join(SECTIONS))
            continue
        sections[name] = value_node

    built: dict[str, Any] = {"path": Path(path)}
    for name in ID_SECTIONS:
        if name in sections:
            built[name], proxied = checker.id_section(sections[name], name)
            if proxied:
                built[f"proxied_{name}"] = frozenset(proxied)
    if "hosts" in sections:
        built.update(checker.hosts(sections["hosts"]))
    if "tag_keys" in sections:
        built["tag_keys"] = checker.tag_keys(sections["tag_keys"])
    if "features" in sections:
        built["features"] = checker.features(sections["features"])
    if "owners" in sections:
        built["owners"] = checker.owners(sections["owners"])

    if checker.errors:
        raise MappingError(checker.errors)
    return Mapping(**built)
