"""The metrics rule files read, keyed by the names admins write under `metric:`.

A metric turns usage rows into one snapshot per scope (a group such as a feature or a
GPU host): named fields that conditions compare and recommendation templates print.
Every snapshot comes from grouped SQL, through `bot.queries.spend.spend_by` for spend and
through the queries in this package for counts, retries, outcomes and GPU samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from bot.rules.template import TEMPLATE_EXTRAS

# Field types: what a value is, which comparisons apply, and how templates show it.
MONEY = "money"  # Decimal USD
RATIO = "ratio"  # float, 0.25 means 25%
NUMBER = "number"  # float
COUNT = "count"  # int
TEXT = "text"  # str
FLAG = "flag"  # bool
NUMERIC_TYPES = (MONEY, RATIO, NUMBER, COUNT)


@dataclass(frozen=True)
class MetricField:
    name: str
    type: str
    description: str


@dataclass(frozen=True)
class MetricParam:
    """A number a rule may set under `params:` to tune how the metric computes a field."""

    name: str
    default: float
    description: str
    minimum: float = 0.0
    maximum: float | None = None


@dataclass(frozen=True)
class MetricContext:
    """Everything a metric reads besides the database: lookups and tuning parameters."""

    mapping: Any  # bot.mapping.Mapping
    model_classes: Any  # bot.rules.model_classes.ModelClasses
    params: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricQuery:
    """One evaluation of a metric: its window, baseline window and grouping."""

    metric: str
    start: datetime
    end: datetime
    group_by: tuple[str, ...]
    baseline_start: datetime | None = None
    baseline_end: datetime | None = None

    @property
    def window_days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400


@dataclass
class Snapshot:
    """The values of a metric for one scope."""

    scope: dict[str, str | None]
    values: dict[str, Any]

    @property
    def scope_key(self) -> str:
        return scope_key(self.scope)


def scope_key(scope: dict[str, str | None]) -> str:
    """Return "feature=ticket-classifier" style text; "all" for the ungrouped scope."""
    if not scope:
        return "all"
    return ",".join(f"{name}={'(none)' if value is None else value}" for name, value in scope.items())


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    fields: tuple[MetricField, ...]
    group_by: tuple[str, ...]  # dimensions a rule may group by
    default_group_by: tuple[str, ...]
    needs_baseline: bool
    spend_field: str  # the money field `min_spend_usd` is compared with
    saving_fields: tuple[str, ...]  # fields holding estimated monthly savings; the first is the default
    saving_method: str
    example: str  # a rule in YAML that uses this metric
    compute: Callable[[Session, MetricQuery, MetricContext], list[Snapshot]]
    params: tuple[MetricParam, ...] = ()
    max_group_by: int | None = None  # how many dimensions a rule may group by; None for any

    def field(self, name: str) -> MetricField | None:
        for item in self.fields:
            if item.name == name:
                return item
        return None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(item.name for item in self.fields)


METRICS: dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    if metric.name in METRICS:
        raise ValueError(f"metric {metric.name!r} is registered twice")
    for name in (metric.spend_field, *metric.saving_fields):
        found = metric.field(name)
        if found is None or found.type != MONEY:
            raise ValueError(f"metric {metric.name!r}: {name!r} must be one of its money fields")
    # Templates print params by name next to fields, dimensions and extras, so names must differ.
    template_names = {*metric.field_names, *metric.group_by, *TEMPLATE_EXTRAS}
    for param in metric.params:
        if param.name in template_names:
            raise ValueError(
                f"metric {metric.name!r}: param {param.name!r} has the name of a field, dimension or template extra; rename the param"
            )
    METRICS[metric.name] = metric
    return metric


def ratio(part: Decimal | float | int, whole: Decimal | float | int) -> float | None:
    """Return part / whole as a float, or None when whole is zero."""
    if not whole:
        return None
    return float(part) / float(whole)


def monthly(amount: Decimal, window_days: float) -> Decimal:
    """Scale an amount over `window_days` to 30 days, rounded to cents."""
    return (amount * Decimal(30) / Decimal(str(window_days))).quantize(Decimal("0.01"))


# Importing the metric modules registers them.
from bot.rules.metrics import gpu, llm, outcomes  # noqa: E402,F401
