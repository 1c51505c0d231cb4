"""Stored dimension values (the words a question may filter on) and how fresh the data is."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from bot.models import DIMENSIONS, CloudCost, GpuUsage, LlmUsage, Outcome, ReportedCost, ToolUsage

# The tables that store each filterable column.
_COLUMNS = {
    **{name: [getattr(table, name) for table in (LlmUsage, ToolUsage, Outcome, GpuUsage, CloudCost)]
       for name in DIMENSIONS},
    "provider": [LlmUsage.provider, ReportedCost.provider, ToolUsage.provider, CloudCost.provider_name],
    "model": [LlmUsage.model],
    "service_tier": [LlmUsage.service_tier],
    "tool": [ToolUsage.tool],
    "host": [GpuUsage.host],
    "gpu_model": [GpuUsage.gpu_model],
}


def stored_values(session: Session) -> dict[str, list[str]]:
    """Return the distinct non-empty values of every filterable column, sorted."""
    from bot.queries import rollups

    cached = rollups.stored_values(session)
    if cached is not None:
        return cached
    result: dict[str, list[str]] = {}
    for name, columns in _COLUMNS.items():
        queries = [sa.select(column.label("value")).where(column.is_not(None)).distinct() for column in columns]
        union = sa.union(*queries) if len(queries) > 1 else queries[0]
        result[name] = sorted(value for (value,) in session.execute(union) if value)
    return result


# The start and the width in seconds of each usage table's buckets. FOCUS rows store their end instead.
_BUCKETED = ((LlmUsage.start_time, LlmUsage.bucket_seconds), (ReportedCost.start_time, ReportedCost.bucket_seconds),
             (ToolUsage.start_time, ToolUsage.bucket_seconds), (Outcome.start_time, Outcome.bucket_seconds),
             (GpuUsage.sampled_at, GpuUsage.interval_seconds))
_TIME_COLUMNS = (*(start for start, _ in _BUCKETED), CloudCost.charge_period_start)


def latest_usage_end(session: Session, *, until: datetime | None = None) -> datetime | None:
    """Return the end of the most recent usage bucket of any kind that starts at or before
    `until`, capped at `until` (no cap when None), or None when there is none.

    Daily usage of Nov 2 covers Nov 2 up to Nov 3 00:00, so its end, not its start, shows how
    far the data reaches. A question asked as of a past moment states the data it could see then.
    """
    ends = [_bucketed_end(session, start, width, until) for start, width in _BUCKETED]
    ends.append(session.execute(
        sa.select(sa.func.max(CloudCost.charge_period_end)).where(_at_or_before(CloudCost.charge_period_start, until))
    ).scalar())
    found = [end for end in ends if end is not None]
    if not found:
        return None
    latest = max(found)
    return min(latest, until) if until is not None else latest


def has_usage_between(session: Session, start: datetime, end: datetime) -> bool:
    """Return whether any usage row of any kind starts in [start, end)."""
    for column in _TIME_COLUMNS:
        found = session.execute(sa.select(column).where(column >= start, column < end).limit(1)).first()
        if found is not None:
            return True
    return False


def _at_or_before(column, until: datetime | None):
    return sa.true() if until is None else column <= until


def _bucketed_end(session: Session, start, width, until: datetime | None) -> datetime | None:
    """Return the latest `start + width` of one table without date arithmetic in SQL, which
    SQLite and PostgreSQL spell differently.

    A row can end after the latest start only if it starts less than the widest bucket
    before it, so only those rows are read, one per distinct start.
    """
    latest_start, widest = session.execute(
        sa.select(sa.func.max(start), sa.func.max(width)).where(_at_or_before(start, until))
    ).one()
    if latest_start is None:
        return None
    window = sa.select(start, sa.func.max(width)).where(
        _at_or_before(start, until), start >= latest_start - timedelta(seconds=widest or 0), width > 0,
    ).group_by(start)
    ends = [bucket_start + timedelta(seconds=seconds) for bucket_start, seconds in session.execute(window)]
    return max([latest_start, *ends])
