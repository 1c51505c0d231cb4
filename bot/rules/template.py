"""Recommendation templates: text with `{field}` and `{field:format}` placeholders.

Nothing in a template is evaluated. A placeholder names a value the rule provides: a
metric field, a scope dimension, a metric param (the rule's value or the param's default),
or one of TEMPLATE_EXTRAS. It may carry a Python format
spec such as `.1f` or `,.0f`, or one of the named formats `usd` ($4,120) and `pct` (78%). Attribute access, indexing and calls are rejected at load time, because a
placeholder name must be a plain identifier. `{{` and `}}` print braces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
NAMED_FORMATS = ("usd", "pct")
MISSING = "n/a"
# Values every template may use besides the metric's fields and params and the rule's scope
# dimensions.
TEMPLATE_EXTRAS = ("scope", "window_days", "baseline_days", "rule_id", "monthly_saving_usd")


class TemplateError(ValueError):
    """Raised for a malformed template. The message names the placeholder and the problem."""


@dataclass(frozen=True)
class Placeholder:
    name: str
    spec: str


def placeholders(template: str) -> list[Placeholder]:
    """Parse the placeholders of a template; raise TemplateError for a malformed one."""
    found = []
    for match in PLACEHOLDER.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if token in ("{", "}"):
            raise TemplateError(f"unmatched {token!r} at character {match.start() + 1}; write {token * 2} for a literal brace")
        name, _, spec = match.group(1).partition(":")
        if not NAME.match(name):
            raise TemplateError(f"placeholder {{{match.group(1)}}} is not a field name; use {{field}} or {{field:format}}")
        found.append(Placeholder(name, spec))
    return found


def format_value(value: Any, spec: str) -> str:
    """Format one value; None prints as n/a whatever the spec."""
    if value is None:
        return MISSING
    if spec == "usd":
        amount = Decimal(str(value))
        places = "0" if abs(amount) >= 100 else "2"
        return f"${amount:,.{places}f}"
    if spec == "pct":
        return f"{float(value) * 100:.0f}%"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return format(value, spec)


def check_spec(spec: str, sample: Any) -> None:
    """Raise TemplateError when `spec` cannot format a value like `sample`."""
    try:
        format_value(sample, spec)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise TemplateError(f"format {spec!r} cannot print a value like {sample!r} ({exc})") from None


def render(template: str, values: dict[str, Any]) -> str:
    """Substitute the placeholders of a validated template with `values`."""

    def substitute(match: re.Match) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name, _, spec = match.group(1).partition(":")
        return format_value(values.get(name), spec)

    return PLACEHOLDER.sub(substitute, template)
