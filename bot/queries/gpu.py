"""GPU utilization, GPU-hours and idle cost per host and GPU model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

import sqlalchemy as sa
from sqlmodel import Session

from bot.models import GpuUsage
from bot.queries.sources import matches
from bot.queries.spend import ZERO, check_period, spend_by

_CENT = Decimal("0.01")
GPU_FILTERS = ("team", "feature", "tenant", "user", "project", "environment", "host", "gpu_model")


def gpu_utilization(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]] | None = None,
) -> list[dict]:
    """Return per host and GPU model: samples, GPU-hours, time-weighted mean utilization,
    GPU cost and idle cost, largest idle cost first.

    GPU cost follows spend_by (FOCUS rows where the host has them, else sample hours at
    the hourly rate). Idle cost = cost x (1 - mean utilization / 100), an estimate that
    treats utilization as the share of paid time the GPU did work.
    """
    check_period(start, end)
    weighted = GpuUsage.utilization_pct * GpuUsage.interval_seconds
    query = (
        sa.select(
            GpuUsage.host,
            GpuUsage.gpu_model,
            sa.func.count().label("samples"),
            sa.func.count(sa.distinct(sa.func.coalesce(GpuUsage.gpu_uuid, sa.cast(GpuUsage.gpu_index, sa.String)))).label("gpus"),
            sa.func.sum(GpuUsage.interval_seconds).label("seconds"),
            sa.func.sum(sa.case((GpuUsage.utilization_pct.is_not(None), weighted), else_=0)).label("busy"),
            sa.func.sum(sa.case((GpuUsage.utilization_pct.is_not(None), GpuUsage.interval_seconds), else_=0)).label("measured"),
            sa.func.max(GpuUsage.memory_used_mib).label("max_memory_mib"),
        )
        .where(GpuUsage.sampled_at >= start, GpuUsage.sampled_at < end)
        .group_by(GpuUsage.host, GpuUsage.gpu_model)
    )
    gpu_filters = {name: values for name, values in (filters or {}).items() if name in GPU_FILTERS}
    for name, values in gpu_filters.items():
        query = query.where(matches(getattr(GpuUsage, name), values))
    cost = {row.group["host"]: row for row in spend_by(session, start=start, end=end, filters=gpu_filters,
                                                        group_by=("host",), kinds=("gpu",))}
    result = []
    for row in session.execute(query):
        spend = cost.get(row.host)
        amount = spend.total if spend else ZERO
        utilization = float(row.busy) / float(row.measured) if row.measured else None
        idle = None
        if utilization is not None:
            idle = (amount * (1 - Decimal(str(round(utilization, 4))) / 100)).quantize(_CENT, ROUND_HALF_EVEN)
        result.append({
            "host": row.host,
            "gpu_model": row.gpu_model,
            "samples": int(row.samples),
            "gpu_hours": Decimal(int(row.seconds)) / 3600,
            "utilization_pct": None if utilization is None else round(utilization, 1),
            "cost": amount,
            "idle_cost": idle,
            "max_memory_mib": row.max_memory_mib,
            "unpriced_samples": spend.unpriced_rows if spend else 0,
        })
    result.sort(key=lambda entry: (-(entry["idle_cost"] or ZERO), entry["host"]))
    return result
