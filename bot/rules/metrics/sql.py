"""Grouped SQL the metrics share: spend per group, LLM request counts and outcome counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session

from bot.models import LlmUsage, Outcome
from bot.queries.sources import proxy_duplicate
from bot.queries.spend import SpendRow, spend_by

Key = tuple[str | None, ...]
ZERO = Decimal(0)


def spend_groups(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    group_by: Sequence[str],
    kinds: Sequence[str],
    filters: dict[str, list[str | None]] | None = None,
) -> dict[Key, SpendRow]:
    """Return spend per group from the query layer, keyed by the group values in order."""
    rows = spend_by(session, start=start, end=end, group_by=tuple(group_by), kinds=tuple(kinds), filters=filters)
    return {tuple(row.group.get(name) for name in group_by): row for row in rows}


def _grouped(session: Session, table, group_by: Sequence[str], measures, time_column, start, end,
             *conditions: sa.ColumnElement) -> dict[Key, sa.Row]:
    columns = [getattr(table, name) for name in group_by]
    query = sa.select(*[column.label(f"g{index}") for index, column in enumerate(columns)], *measures)
    query = query.where(time_column >= start, time_column < end, *conditions)
    if columns:
        query = query.group_by(*columns)
    result: dict[Key, sa.Row] = {}
    for row in session.execute(query):
        result[tuple(row[: len(columns)])] = row
    return result


def _counted(session: Session) -> sa.ColumnElement:
    """Leave out provider rows that repeat calls of the LiteLLM logs, as the query layer does."""
    return sa.not_(proxy_duplicate(LlmUsage, session.get_bind().dialect.name))


def llm_counts(session: Session, *, start: datetime, end: datetime, group_by: Sequence[str]) -> dict[Key, dict[str, int]]:
    """Return requests, retries and failed requests per group of LLM usage rows."""
    measures = [
        sa.func.coalesce(sa.func.sum(LlmUsage.requests), 0).label("requests"),
        sa.func.coalesce(sa.func.sum(LlmUsage.retries), 0).label("retries"),
        sa.func.coalesce(sa.func.sum(LlmUsage.failed_requests), 0).label("failed"),
    ]
    rows = _grouped(session, LlmUsage, group_by, measures, LlmUsage.start_time, start, end, _counted(session))
    return {
        key: {"requests": int(row.requests), "retries": int(row.retries), "failed": int(row.failed)}
        for key, row in rows.items()
    }


def outcome_counts(session: Session, *, start: datetime, end: datetime, group_by: Sequence[str]) -> dict[Key, dict[str, int]]:
    """Return succeeded, failed and escalated runs and review seconds per group of outcome rows."""
    measures = [
        sa.func.coalesce(sa.func.sum(Outcome.succeeded), 0).label("succeeded"),
        sa.func.coalesce(sa.func.sum(Outcome.failed), 0).label("failed"),
        sa.func.coalesce(sa.func.sum(Outcome.escalated), 0).label("escalated"),
        sa.func.coalesce(sa.func.sum(Outcome.review_seconds), 0).label("review_seconds"),
    ]
    rows = _grouped(session, Outcome, group_by, measures, Outcome.start_time, start, end)
    return {
        key: {
            "succeeded": int(row.succeeded),
            "failed": int(row.failed),
            "escalated": int(row.escalated),
            "review_seconds": int(row.review_seconds),
        }
        for key, row in rows.items()
    }


def success_rate(counts: dict[str, int] | None) -> float | None:
    """Return succeeded / all runs, or None without runs."""
    if not counts:
        return None
    runs = counts["succeeded"] + counts["failed"] + counts["escalated"]
    return counts["succeeded"] / runs if runs else None


def known_scope(key: Key) -> bool:
    """Return False for a group whose values are all unknown (unallocated rows)."""
    return any(value is not None for value in key)


def llm_usage_split(
    session: Session, *, start: datetime, end: datetime, group_by: Sequence[str], column: str
) -> dict[Key, dict[str | None, tuple[Decimal, int]]]:
    """Return (cost, requests) of LLM usage rows per group and value of `column` (model or
    service_tier).

    Provider cost reports (the OpenAI Costs API, for example) carry neither model nor tier,
    and the query layer counts them instead of the priced usage rows, so splits by model or
    tier come from the usage rows' own cost.
    """
    measures = [
        sa.func.sum(LlmUsage.cost_usd).label("cost"),
        sa.func.coalesce(sa.func.sum(LlmUsage.requests), 0).label("requests"),
    ]
    rows = _grouped(session, LlmUsage, (*group_by, column), measures, LlmUsage.start_time, start, end, _counted(session))
    result: dict[Key, dict[str | None, tuple[Decimal, int]]] = {}
    for key, row in rows.items():
        result.setdefault(key[:-1], {})[key[-1]] = (row.cost or ZERO, int(row.requests))
    return result
