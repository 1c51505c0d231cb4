"""Stored dimension values (the words a question may filter on) and how fresh the data is."""

from __future__ import annotations

from datetime import datetime

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


def latest_usage(session: Session, *, until: datetime | None = None) -> datetime | None:
    """Return the start time of the most recent usage row of any kind that starts at or before
    `until` (any time when None), or None when there is none. A question asked as of a past
    moment states the data it could see then."""
    candidates = [
        session.execute(sa.select(sa.func.max(column)).where(sa.true() if until is None else column <= until)).scalar()
        for column in (LlmUsage.start_time, ReportedCost.start_time, ToolUsage.start_time, Outcome.start_time,
                       GpuUsage.sampled_at, CloudCost.charge_period_start)
    ]
    found = [value for value in candidates if value is not None]
    return max(found) if found else None
