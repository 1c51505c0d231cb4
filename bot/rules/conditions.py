"""Rule conditions: parsed from YAML, compiled to durable-rules expressions, or to Python.

A condition is `all: [...]`, `any: [...]`, `not: CONDITION`, or `FIELD: {OP: VALUE, ...}`
with OP one of gt, gte, lt, lte, eq, ne, in, not_in (several OPs on one field must all
hold). A comparison with a missing value (a field the metric could not compute for the
scope) is false, also under `not`: negation is pushed down to the comparisons, so
`not: {x: {gt: 5}}` means `x: {lte: 5}` and needs x to be present.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OPERATORS = ("gt", "gte", "lt", "lte", "eq", "ne", "in", "not_in")
ORDER_OPERATORS = ("gt", "gte", "lt", "lte")
_NEGATED = {"gt": "lte", "gte": "lt", "lt": "gte", "lte": "gt", "eq": "ne", "ne": "eq", "in": "not_in", "not_in": "in"}
_DURABLE = {"gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str
    value: Any
    line: int = 0


@dataclass(frozen=True)
class AllOf:
    items: tuple["Condition", ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple["Condition", ...]


@dataclass(frozen=True)
class Not:
    item: "Condition"


Condition = Comparison | AllOf | AnyOf | Not


def comparisons(condition: Condition) -> list[Comparison]:
    """Return every comparison in a condition, in order."""
    if isinstance(condition, Comparison):
        return [condition]
    if isinstance(condition, Not):
        return comparisons(condition.item)
    return [item for child in condition.items for item in comparisons(child)]


def push_not(condition: Condition, negate: bool = False) -> Condition:
    """Return an equivalent condition without Not nodes (De Morgan, negated operators)."""
    if isinstance(condition, Not):
        return push_not(condition.item, not negate)
    if isinstance(condition, Comparison):
        if not negate:
            return condition
        return Comparison(condition.field, _NEGATED[condition.op], condition.value, condition.line)
    items = tuple(push_not(item, negate) for item in condition.items)
    if isinstance(condition, AllOf):
        return AnyOf(items) if negate else AllOf(items)
    return AllOf(items) if negate else AnyOf(items)


def _matchable(value: Any) -> Any:
    """Convert a condition value to what facts carry: floats for numbers, as JSON allows."""
    if isinstance(value, bool) or isinstance(value, str):
        return value
    return float(value)


def to_durable(condition: Condition) -> dict:
    """Compile a condition (Not-free or not) to a durable-rules expression over the fact `m`."""
    return _durable(push_not(condition))


def _durable(condition: Condition) -> dict:
    if isinstance(condition, AllOf):
        return {"$and": [_durable(item) for item in condition.items]}
    if isinstance(condition, AnyOf):
        return {"$or": [_durable(item) for item in condition.items]}
    assert isinstance(condition, Comparison)
    name, op = condition.field, condition.op
    present = {"$ex": {name: 1}}
    if op in _DURABLE:
        return {_DURABLE[op]: {name: _matchable(condition.value)}}
    if op == "eq":
        return {name: _matchable(condition.value)}
    if op == "ne":
        return {"$and": [present, {"$neq": {name: _matchable(condition.value)}}]}
    values = [_matchable(value) for value in condition.value]
    if op == "in":
        return {"$or": [{name: value} for value in values]}
    return {"$and": [present, *({"$neq": {name: value}} for value in values)]}


def to_python(condition: Condition) -> Callable[[dict], bool]:
    """Compile a condition to a Python predicate over a fact dict, with the same semantics
    as the durable-rules expression (used by `rules explain` and the benchmark's baseline)."""
    return _python(push_not(condition))


def _python(condition: Condition) -> Callable[[dict], bool]:
    if isinstance(condition, AllOf):
        parts = [_python(item) for item in condition.items]
        return lambda fact: all(part(fact) for part in parts)
    if isinstance(condition, AnyOf):
        parts = [_python(item) for item in condition.items]
        return lambda fact: any(part(fact) for part in parts)
    assert isinstance(condition, Comparison)
    name, op = condition.field, condition.op
    if op in ("in", "not_in"):
        values = {_matchable(value) for value in condition.value}
        if op == "in":
            return lambda fact: name in fact and fact[name] in values
        return lambda fact: name in fact and fact[name] not in values
    value = _matchable(condition.value)
    tests = {
        "gt": lambda fact: name in fact and fact[name] > value,
        "gte": lambda fact: name in fact and fact[name] >= value,
        "lt": lambda fact: name in fact and fact[name] < value,
        "lte": lambda fact: name in fact and fact[name] <= value,
        "eq": lambda fact: name in fact and fact[name] == value,
        "ne": lambda fact: name in fact and fact[name] != value,
    }
    return tests[op]


def describe(condition: Condition) -> str:
    """Render a condition as one line of text, e.g. `premium_share >= 0.6 and ...`."""
    symbols = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "==", "ne": "!=", "in": "in", "not_in": "not in"}
    if isinstance(condition, Comparison):
        value = list(condition.value) if condition.op in ("in", "not_in") else condition.value
        return f"{condition.field} {symbols[condition.op]} {value!r}"
    if isinstance(condition, Not):
        return f"not ({describe(condition.item)})"
    joiner = " and " if isinstance(condition, AllOf) else " or "
    return "(" + joiner.join(describe(item) for item in condition.items) + ")"
