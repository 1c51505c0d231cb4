"""Cost per successful outcome and success rate per workflow (the `feature` dimension)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

import sqlalchemy as sa
from sqlmodel import Session

from bot.models import Outcome
from bot.queries.sources import matches
from bot.queries.spend import ZERO, check_period, spend_by

_PER_SUCCESS = Decimal("0.0001")
OUTCOME_FILTERS = ("team", "feature", "tenant", "user", "project", "environment")


@dataclass
class SuccessCost:
    """Spend, runs and cost per successful run of one workflow."""

    group: dict[str, str | None]
    spend: Decimal = ZERO
    by_kind: dict[str, Decimal] = field(default_factory=dict)
    succeeded: int = 0
    runs: int = 0
    success_rate: Decimal | None = None
    cost_per_success: Decimal | None = None
    unpriced_rows: int = 0


def cost_per_success(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]] | None = None,
    group_by: Sequence[str] = ("feature",),
) -> list[SuccessCost]:
    """Return, per workflow, its full spend divided by its successful runs, and its success rate.

    Full spend is everything allocated to the workflow: model calls (retries and failed
    runs included, because they are billed), tools, review and any GPU or cloud cost
    tagged with it. Success rate is succeeded / (succeeded + failed + escalated).
    Workflows without outcome rows have no cost per success (None).
    """
    check_period(start, end)
    if tuple(group_by) != ("feature",):
        raise ValueError(f"cost per success is computed per feature (workflow), not by {', '.join(group_by)}")
    counts_query = (
        sa.select(
            Outcome.feature,
            sa.func.sum(Outcome.succeeded).label("succeeded"),
            sa.func.sum(Outcome.failed).label("failed"),
            sa.func.sum(Outcome.escalated).label("escalated"),
            sa.func.sum(Outcome.review_cost_usd).label("review"),
        )
        .where(Outcome.start_time >= start, Outcome.start_time < end)
        .group_by(Outcome.feature)
    )
    for name, values in (filters or {}).items():
        if name in OUTCOME_FILTERS:
            counts_query = counts_query.where(matches(getattr(Outcome, name), values))
    counts = {row.feature: row for row in session.execute(counts_query)}
    spend = {row.group["feature"]: row for row in spend_by(session, start=start, end=end, filters=filters,
                                                            group_by=("feature",))}
    result = []
    for feature in sorted(set(counts) | set(spend), key=lambda name: (name is None, name or "")):
        outcome = counts.get(feature)
        row = spend.get(feature)
        total = row.total if row else ZERO
        succeeded = int(outcome.succeeded or 0) if outcome else 0
        runs = succeeded + (int(outcome.failed or 0) + int(outcome.escalated or 0) if outcome else 0)
        result.append(SuccessCost(
            group={"feature": feature},
            spend=total,
            by_kind=dict(row.by_kind) if row else {},
            succeeded=succeeded,
            runs=runs,
            success_rate=Decimal(succeeded) / runs if runs else None,
            cost_per_success=(total / succeeded).quantize(_PER_SUCCESS, ROUND_HALF_EVEN) if succeeded else None,
            unpriced_rows=row.unpriced_rows if row else 0,
        ))
    result.sort(key=lambda entry: (entry.cost_per_success is None, -(entry.cost_per_success or ZERO)))
    return result
