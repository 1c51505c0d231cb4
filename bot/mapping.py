"""The mapping file: turn source identifiers into allocation dimensions and owners.

Admins edit one YAML file that states which team, feature (workflow), tenant, user, project and
environment an OpenAI project, an API key, a LiteLLM team, a tag or a GPU host belongs to, and
who owns each scope. `load_mapping` validates the whole file and reports every problem as
`FILE:LINE: key: value: what is wrong`, so a typo never silently drops allocation.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from bot.models.base import DIMENSIONS

logger = logging.getLogger(__name__)

# Sections whose entries map a source id to dimensions.
ID_SECTIONS = ("projects", "api_keys", "teams")
SECTIONS = (*ID_SECTIONS, "hosts", "tag_keys", "features", "owners")

# Per-host settings besides the dimensions. `hourly_rate_usd` is the price of one GPU for
# one hour; `timezone` is the zone of the host's clock, used for nvidia-smi timestamps.
HOST_KEYS = ("gpu_model", "hourly_rate_usd", "timezone")
FEATURE_KEYS = ("interactive", "owner", "team", "description")

# "workflow" is what outcome exports call a feature; both words name the same dimension.
DIMENSION_ALIASES = {"workflow": "feature"}

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")

_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"


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
    path: Path | None = None

    def for_project(self, project_id: str | None) -> dict[str, str]:
        return dict(self.projects.get(str(project_id), {})) if project_id is not None else {}

    def for_api_key(self, api_key_id: str | None) -> dict[str, str]:
        return dict(self.api_keys.get(str(api_key_id), {})) if api_key_id is not None else {}

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
        "mapping loaded from %s: projects=%d api_keys=%d teams=%d hosts=%d tag_keys=%d features=%d",
        path, len(mapping.projects), len(mapping.api_keys), len(mapping.teams), len(mapping.hosts),
        len(mapping.tag_keys), len(mapping.features),
    )
    return mapping


def parse_mapping(text: str, path: Path | str = "<mapping>") -> Mapping:
    """Validate mapping YAML `text`; `path` only names the file in error messages."""
    checker = _Checker(str(path))
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else "?"
        problem = getattr(exc, "problem", None) or str(exc)
        raise MappingError([f"{path}:{line}: yaml: {problem}: invalid YAML; fix the syntax"]) from None

    if root is None:
        return Mapping(path=Path(path))
    if not isinstance(root, MappingNode):
        checker.fail(root, "mapping", _scalar_text(root), "the file must be a YAML mapping of sections " + ", ".join(SECTIONS))
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
            built[name] = checker.id_section(sections[name], name)
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


def _scalar_text(node: Node) -> str:
    if isinstance(node, ScalarNode):
        return node.value
    if isinstance(node, MappingNode):
        return "{...}"
    return "[...]"


class _Checker:
    """Walks the YAML node tree, which keeps line numbers, and collects every error."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._errors: list[tuple[int, str]] = []

    @property
    def errors(self) -> list[str]:
        """The error lines in file order."""
        return [text for _, text in sorted(self._errors, key=lambda error: error[0])]

    def fail(self, node: Node, key: str, value: Any, message: str) -> None:
        line = node.start_mark.line + 1
        self._errors.append((line, f"{self.path}:{line}: {key}: {value}: {message}"))

    def pairs(self, node: Node, key: str) -> list[tuple[ScalarNode, Node]]:
        """Return the key/value node pairs of a mapping node, rejecting duplicate and non-scalar keys."""
        if not isinstance(node, MappingNode):
            if isinstance(node, ScalarNode) and node.tag == _NULL_TAG:
                return []
            self.fail(node, key, _scalar_text(node), "expected a mapping of key: value lines")
            return []
        seen: set[str] = set()
        result = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.fail(key_node, key, _scalar_text(key_node), "a key must be a plain string")
                continue
            if key_node.value in seen:
                self.fail(key_node, f"{key}.{key_node.value}", key_node.value, "duplicate key; keep one entry")
                continue
            seen.add(key_node.value)
            result.append((key_node, value_node))
        return result

    def text(self, node: Node, key: str, *, nullable: bool = False) -> str | None:
        """Return a scalar as a string; numbers become their written text, booleans are rejected."""
        if not isinstance(node, ScalarNode):
            self.fail(node, key, _scalar_text(node), "expected a single value, not a list or mapping")
            return None
        if node.tag == _NULL_TAG:
            if not nullable:
                self.fail(node, key, node.value or "null", "a value is required")
            return None
        if node.tag == _BOOL_TAG:
            self.fail(node, key, node.value, "YAML reads this as a boolean; quote it if it is a name")
            return None
        if node.value.strip() == "":
            self.fail(node, key, repr(node.value), "empty value; remove the line or give a value")
            return None
        return node.value

    def dimension_name(self, node: ScalarNode, key: str) -> str | None:
        name = DIMENSION_ALIASES.get(node.value, node.value)
        if name not in DIMENSIONS:
            self.fail(node, key, node.value, "unknown dimension; expected one of " + ", ".join(DIMENSIONS))
            return None
        return name

    def dimensions(self, node: Node, key: str, extra: tuple[str, ...] = ()) -> tuple[dict[str, str], dict[str, Node]]:
        """Read one entry's dimensions; return them and the nodes of the `extra` keys."""
        dimensions: dict[str, str] = {}
        extras: dict[str, Node] = {}
        for key_node, value_node in self.pairs(node, key):
            name = key_node.value
            if name in extra:
                extras[name] = value_node
                continue
            dimension = DIMENSION_ALIASES.get(name, name)
            if dimension not in DIMENSIONS:
                allowed = ", ".join((*DIMENSIONS, *extra))
                self.fail(key_node, f"{key}.{name}", name, "unknown key; expected one of " + allowed)
                continue
            value = self.text(value_node, f"{key}.{name}", nullable=True)
            if value is not None:
                dimensions[dimension] = value
        return dimensions, extras

    def id_section(self, node: Node, section: str) -> dict[str, dict[str, str]]:
        entries = {}
        for key_node, value_node in self.pairs(node, section):
            entries[key_node.value], _ = self.dimensions(value_node, f"{section}.{key_node.value}")
        return entries

    def hosts(self, node: Node) -> dict[str, Any]:
        hosts: dict[str, dict[str, str]] = {}
        rates: dict[str, Decimal] = {}
        models: dict[str, str] = {}
        zones: dict[str, str] = {}
        for key_node, value_node in self.pairs(node, "hosts"):
            name = key_node.value
            key = f"hosts.{name}"
            hosts[name], extras = self.dimensions(value_node, key, HOST_KEYS)
            if "gpu_model" in extras:
                model = self.text(extras["gpu_model"], f"{key}.gpu_model", nullable=True)
                if model is not None:
                    models[name] = model
            if "hourly_rate_usd" in extras:
                rate = self.money(extras["hourly_rate_usd"], f"{key}.hourly_rate_usd")
                if rate is not None:
                    rates[name] = rate
            if "timezone" in extras:
                zone = self.text(extras["timezone"], f"{key}.timezone", nullable=True)
                if zone is not None and self.valid_zone(extras["timezone"], f"{key}.timezone", zone):
                    zones[name] = zone
        return {"hosts": hosts, "host_rates": rates, "host_models": models, "host_timezones": zones}

    def money(self, node: Node, key: str) -> Decimal | None:
        """Read a USD amount exactly from the text as written (YAML floats are never used)."""
        if isinstance(node, ScalarNode) and node.tag not in (_STR_TAG, _INT_TAG, _FLOAT_TAG, _NULL_TAG):
            self.fail(node, key, node.value, 'expected an amount in USD such as "6.88"')
            return None
        text = self.text(node, key, nullable=True)
        if text is None:
            return None
        try:
            amount = Decimal(text.strip())
        except InvalidOperation:
            self.fail(node, key, text, 'not a number; write the amount in USD such as "6.88"')
            return None
        if not amount.is_finite() or amount < 0:
            self.fail(node, key, text, "must be a finite amount of zero or more")
            return None
        return amount

    def valid_zone(self, node: Node, key: str, zone: str) -> bool:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(node, key, zone, "unknown IANA time zone; use a name such as Europe/Berlin or UTC")
            return False
        return True

    def tag_keys(self, node: Node) -> dict[str, str]:
        keys = {}
        for key_node, value_node in self.pairs(node, "tag_keys"):
            key = f"tag_keys.{key_node.value}"
            if not isinstance(value_node, ScalarNode) or value_node.tag != _STR_TAG:
                self.fail(value_node, key, _scalar_text(value_node), "expected a dimension name: " + ", ".join(DIMENSIONS))
                continue
            dimension = self.dimension_name(value_node, key)
            if dimension is not None:
                keys[key_node.value] = dimension
        return keys

    def features(self, node: Node) -> dict[str, dict[str, Any]]:
        features: dict[str, dict[str, Any]] = {}
        for key_node, value_node in self.pairs(node, "features"):
            name = key_node.value
            attributes: dict[str, Any] = {}
            for attr_node, attr_value in self.pairs(value_node, f"features.{name}"):
                attr = attr_node.value
                key = f"features.{name}.{attr}"
                if attr not in FEATURE_KEYS:
                    self.fail(attr_node, key, attr, "unknown key; expected one of " + ", ".join(FEATURE_KEYS))
                elif attr == "interactive":
                    if isinstance(attr_value, ScalarNode) and attr_value.tag == _BOOL_TAG:
                        attributes[attr] = attr_value.value.lower() in ("true", "yes", "on")
                    else:
                        self.fail(attr_value, key, _scalar_text(attr_value), "expected true or false")
                elif attr == "owner":
                    owner = self.slack_user(attr_value, key)
                    if owner is not None:
                        attributes[attr] = owner
                else:
                    value = self.text(attr_value, key, nullable=True)
                    if value is not None:
                        attributes[attr] = value
            features[name] = attributes
        return features

    def slack_user(self, node: Node, key: str) -> str | None:
        user = self.text(node, key)
        if user is not None and not SLACK_USER_ID.match(user):
            self.fail(node, key, user, "not a Slack user id; expected an id such as U0123ABCD")
            return None
        return user

    def owners(self, node: Node) -> dict[str, dict[str, str]]:
        owners: dict[str, dict[str, str]] = {}
        for key_node, value_node in self.pairs(node, "owners"):
            dimension = self.dimension_name(key_node, "owners")
            scope: dict[str, str] = {}
            for value_key, user_node in self.pairs(value_node, f"owners.{key_node.value}"):
                user = self.slack_user(user_node, f"owners.{key_node.value}.{value_key.value}")
                if user is not None:
                    scope[value_key.value] = user
            if dimension is not None:
                owners.setdefault(dimension, {}).update(scope)
        return owners
