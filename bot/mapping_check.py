"""Validation of the mapping file's YAML node tree, which keeps the line of every key and value.

`MappingChecker` walks the nodes that `yaml.compose` returns and collects every problem as
`FILE:LINE: key: value: what is wrong`, so an admin sees all mistakes of a file at once.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yaml.nodes import MappingNode, Node, ScalarNode

from bot.models.base import DIMENSIONS
from bot.yamlfile import node_line

# Sections whose entries map a source id to dimensions.
ID_SECTIONS = ("projects", "api_keys", "teams")
SECTIONS = (*ID_SECTIONS, "hosts", "tag_keys", "features", "owners")

# Per-host settings besides the dimensions. `hourly_rate_usd` is the price of one GPU for
# one hour; `timezone` is the zone of the host's clock, used for nvidia-smi timestamps.
HOST_KEYS = ("gpu_model", "hourly_rate_usd", "timezone")
FEATURE_KEYS = ("interactive", "owner", "team", "description")

# `via` on a project or API key names the proxy that calls the provider with it, so the
# provider's usage report and the proxy's logs hold the same calls. Teams are LiteLLM's own ids.
ID_KEYS = {"projects": ("via",), "api_keys": ("via",), "teams": ()}
PROXIES = ("litellm",)

# "workflow" is what outcome exports call a feature; both words name the same dimension.
DIMENSION_ALIASES = {"workflow": "feature"}

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")

_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"


def scalar_text(node: Node) -> str:
    if isinstance(node, ScalarNode):
        return node.value
    if isinstance(node, MappingNode):
        return "{...}"
    return "[...]"


class MappingChecker:
    """Walks the YAML node tree, which keeps line numbers, and collects every error."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._errors: list[tuple[int, str]] = []

    @property
    def errors(self) -> list[str]:
        """The error lines in file order."""
        return [text for _, text in sorted(self._errors, key=lambda error: error[0])]

    def fail(self, node: Node, key: str, value: Any, message: str) -> None:
        line = node_line(node)
        self._errors.append((line, f"{self.path}:{line}: {key}: {value}: {message}"))

    def pairs(self, node: Node, key: str) -> list[tuple[ScalarNode, Node]]:
        """Return the key/value node pairs of a mapping node, rejecting duplicate and non-scalar keys."""
        if not isinstance(node, MappingNode):
            if isinstance(node, ScalarNode) and node.tag == _NULL_TAG:
                return []
            self.fail(node, key, scalar_text(node), "expected a mapping of key: value lines")
            return []
        seen: set[str] = set()
        result = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.fail(key_node, key, scalar_text(key_node), "a key must be a plain string")
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
            self.fail(node, key, scalar_text(node), "expected a single value, not a list or mapping")
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

    def id_section(self, node: Node, section: str) -> tuple[dict[str, dict[str, str]], set[str]]:
        """Read a section of source ids; return their dimensions and the ids declared `via: litellm`."""
        entries = {}
        proxied: set[str] = set()
        for key_node, value_node in self.pairs(node, section):
            key = f"{section}.{key_node.value}"
            entries[key_node.value], extras = self.dimensions(value_node, key, ID_KEYS[section])
            if "via" in extras and self.proxy(extras["via"], f"{key}.via") is not None:
                proxied.add(key_node.value)
        return entries, proxied

    def proxy(self, node: Node, key: str) -> str | None:
        name = self.text(node, key)
        if name is not None and name not in PROXIES:
            self.fail(node, key, name, "unknown proxy; expected " + ", ".join(PROXIES))
            return None
        return name

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
                self.fail(value_node, key, scalar_text(value_node), "expected a dimension name: " + ", ".join(DIMENSIONS))
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
                        self.fail(attr_value, key, scalar_text(attr_value), "expected true or false")
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
