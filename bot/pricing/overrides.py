"""Local price overrides: a YAML file of per-model prices with effective dates.

```yaml
prices:
  - model: ft:gpt-4o-mini:acme:triage   # model id as stored (case-insensitive)
    provider: openai                    # optional; any provider when omitted
    effective_from: 2026-01-01          # UTC date, inclusive; optional
    effective_until: 2026-07-01         # UTC date, exclusive; optional
    input_mtok: "0.30"                  # USD per million input tokens
    cached_input_mtok: "0.15"           # optional; the input price when omitted
    cache_write_mtok: "0.375"           # optional; the input price when omitted
    cache_write_1h_mtok: "0.60"         # optional; cache_write_mtok when omitted
    output_mtok: "1.20"
    priority_multiplier: "2"            # optional; replaces the default tier multiplier
```
An override wins over genai-prices' bundled data for the dates it covers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from bot.pricing.catalog import Rates
from bot.yamlfile import compose_yaml, node_line, syntax_error_line

_PRICE_KEYS = ("input_mtok", "cached_input_mtok", "cache_write_mtok", "cache_write_1h_mtok", "output_mtok")
_ALLOWED_KEYS = {"model", "provider", "effective_from", "effective_until", "priority_multiplier", *_PRICE_KEYS}


class OverridesError(ValueError):
    """Raised for an invalid overrides file; the message has one `FILE:LINE: key: value: problem` per line."""


@dataclass(frozen=True)
class PriceOverride:
    model: str
    provider: str | None
    effective_from: dt.date | None
    effective_until: dt.date | None
    rates: Rates
    priority_multiplier: Decimal | None
    line: int

    def covers(self, provider: str, model: str, day: dt.date) -> bool:
        if self.model != model.lower():
            return False
        if self.provider is not None and self.provider != provider.lower():
            return False
        if self.effective_from is not None and day < self.effective_from:
            return False
        return self.effective_until is None or day < self.effective_until


def load_overrides(path: Path | None) -> list[PriceOverride]:
    """Read and validate the overrides file; a missing file means no overrides."""
    if path is None or not path.exists():
        return []
    text = path.read_text(encoding="utf-8-sig")
    try:
        root = compose_yaml(text)
    except yaml.YAMLError as exc:
        line = syntax_error_line(exc) or 1
        raise OverridesError(f"{path}:{line}: yaml: -: invalid YAML ({getattr(exc, 'problem', exc)})") from None
    if root is None:
        return []
    errors: list[str] = []

    def fail(node: yaml.Node, key: str, value: object, problem: str) -> None:
        errors.append(f"{path}:{node_line(node)}: {key}: {value!r}: {problem}")

    entries = _top_level_entries(root, fail)
    overrides = [override for node in entries if (override := _parse_entry(node, fail)) is not None]
    _check_overlaps(overrides, path, errors)
    if errors:
        raise OverridesError("\n".join(errors))
    return overrides


def _top_level_entries(root: yaml.Node, fail) -> list[yaml.MappingNode]:
    if not isinstance(root, yaml.MappingNode):
        fail(root, "prices", "-", "the file must be a mapping with a `prices:` list")
        return []
    entries: list[yaml.MappingNode] = []
    for key_node, value_node in root.value:
        if key_node.value != "prices":
            fail(key_node, key_node.value, "-", "unknown top-level key; the file holds only `prices:`")
        elif not isinstance(value_node, yaml.SequenceNode):
            fail(value_node, "prices", "-", "must be a list of price entries")
        else:
            for item in value_node.value:
                if isinstance(item, yaml.MappingNode):
                    entries.append(item)
                else:
                    fail(item, "prices", getattr(item, "value", "-"), "each entry must be a mapping with model and prices")
    return entries


def _parse_entry(node: yaml.MappingNode, fail) -> PriceOverride | None:
    values: dict[str, tuple[yaml.Node, str]] = {}
    ok = True
    for key_node, value_node in node.value:
        key = key_node.value
        if key not in _ALLOWED_KEYS:
            fail(key_node, key, "-", f"unknown key; use one of {', '.join(sorted(_ALLOWED_KEYS))}")
            ok = False
        elif not isinstance(value_node, yaml.ScalarNode):
            fail(value_node, key, "-", "must be a single value")
            ok = False
        else:
            values[key] = (value_node, value_node.value)
    for required in ("model", "input_mtok", "output_mtok"):
        if required not in values:
            fail(node, required, "-", "missing; every entry needs model, input_mtok and output_mtok")
            ok = False

    numbers: dict[str, Decimal | None] = {}
    for key in (*_PRICE_KEYS, "priority_multiplier"):
        if key not in values:
            numbers[key] = None
            continue
        value_node, text = values[key]
        try:
            number = Decimal(text)
        except InvalidOperation:
            fail(value_node, key, text, "not a number; write a decimal such as \"0.15\" (USD per million tokens)")
            ok = False
            continue
        if not number.is_finite() or number < 0:
            fail(value_node, key, text, "must be a number >= 0")
            ok = False
            continue
        numbers[key] = number

    dates: dict[str, dt.date | None] = {}
    for key in ("effective_from", "effective_until"):
        dates[key] = None
        if key in values:
            value_node, text = values[key]
            try:
                dates[key] = dt.date.fromisoformat(text)
            except ValueError:
                fail(value_node, key, text, "not a date; write YYYY-MM-DD")
                ok = False
    if ok and dates["effective_from"] and dates["effective_until"] and dates["effective_until"] <= dates["effective_from"]:
        fail(values["effective_until"][0], "effective_until", values["effective_until"][1], "must be after effective_from")
        ok = False
    if not ok:
        return None
    provider = values.get("provider")
    return PriceOverride(
        model=values["model"][1].strip().lower(),
        provider=provider[1].strip().lower() if provider else None,
        effective_from=dates["effective_from"],
        effective_until=dates["effective_until"],
        rates=Rates(
            input=numbers["input_mtok"],
            cached_input=numbers["cached_input_mtok"],
            cache_write=numbers["cache_write_mtok"],
            cache_write_1h=numbers["cache_write_1h_mtok"],
            output=numbers["output_mtok"],
        ),
        priority_multiplier=numbers["priority_multiplier"],
        line=node_line(node),
    )


def _check_overlaps(overrides: list[PriceOverride], path: Path, errors: list[str]) -> None:
    low, high = dt.date.min, dt.date.max
    for index, first in enumerate(overrides):
        for second in overrides[index + 1 :]:
            if first.model != second.model or first.provider != second.provider:
                continue
            if (first.effective_from or low) < (second.effective_until or high) and (second.effective_from or low) < (
                first.effective_until or high
            ):
                errors.append(
                    f"{path}:{second.line}: model: {second.model!r}: its dates overlap the entry on line "
                    f"{first.line}; give each period of a model its own dates"
                )
