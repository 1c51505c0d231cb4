"""GPU utilization and idle cost per host or GPU model, from GPU samples and GPU cost rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session

from bot.models import GpuUsage
from bot.queries.spend import SpendRow
from bot.rules.metrics import (
    COUNT,
    MONEY,
    NUMBER,
    TEXT,
    Metric,
    MetricContext,
    MetricField,
    MetricParam,
    MetricQuery,
    Snapshot,
    monthly,
    register,
)
from bot.rules.metrics.sql import ZERO, spend_groups

MIB_PER_GIB = 1024


def _host_samples(session: Session, query: MetricQuery) -> list[sa.Row]:
    """Return one row per host and GPU model with time-weighted utilization and peak memory."""
    measured = GpuUsage.utilization_pct.is_not(None)
    gpu_id = sa.func.coalesce(GpuUsage.gpu_uuid, sa.cast(GpuUsage.gpu_index, sa.String), GpuUsage.host)
    statement = (
        sa.select(
            GpuUsage.host,
            GpuUsage.gpu_model,
            sa.func.sum(GpuUsage.interval_seconds).label("seconds"),
            sa.func.sum(sa.case((measured, GpuUsage.utilization_pct * GpuUsage.interval_seconds), else_=0)).label("busy"),
            sa.func.sum(sa.case((measured, GpuUsage.interval_seconds), else_=0)).label("measured_seconds"),
            sa.func.max(GpuUsage.memory_used_mib).label("memory_used"),
            sa.func.max(GpuUsage.memory_total_mib).label("memory_total"),
            sa.func.count(sa.distinct(gpu_id)).label("gpus"),
            sa.func.min(GpuUsage.sampled_at).label("first_sample"),
            sa.func.max(GpuUsage.sampled_at).label("last_sample"),
        )
        .where(GpuUsage.sampled_at >= query.start, GpuUsage.sampled_at < query.end)
        .group_by(GpuUsage.host, GpuUsage.gpu_model)
    )
    return list(session.execute(statement))


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _sampled_spans(rows: list[sa.Row], query: MetricQuery) -> dict[str, tuple[datetime, datetime]]:
    """Return the span each host's samples cover in the window, in whole UTC hours: from the
    hour of its first sample to the end of the hour of its last one."""
    spans: dict[str, tuple[datetime, datetime]] = {}
    for row in rows:
        start = max(_floor_hour(row.first_sample), query.start)
        end = min(_floor_hour(row.last_sample) + timedelta(hours=1), query.end)
        if row.host in spans:
            start, end = min(start, spans[row.host][0]), max(end, spans[row.host][1])
        spans[row.host] = (start, end)
    return spans


def _cost_by_host(session: Session, spans: dict[str, tuple[datetime, datetime]]) -> dict[tuple, SpendRow]:
    """Return the GPU spend of each host within its sampled span, so cost and GPU-hours cover the
    same time. Hosts that share a span share one query.

    NOTE: a cost row counts when it starts inside the span, so a daily FOCUS row that starts
    before a host's first sample is left out, and a gap between samples still counts its cost.
    """
    hosts_by_span: dict[tuple[datetime, datetime], list[str]] = defaultdict(list)
    for host, span in spans.items():
        hosts_by_span[span].append(host)
    cost_by_host: dict[tuple, SpendRow] = {}
    for (start, end), hosts in hosts_by_span.items():
        cost_by_host.update(
            spend_groups(session, start=start, end=end, group_by=("host",), kinds=("gpu",), filters={"host": hosts})
        )
    return cost_by_host


def _span_text(seconds: float) -> str:
    """Return a span as "7 days", "1 day" or "18 hours" for recommendation texts."""
    if seconds >= 86400:
        days = round(seconds / 86400)
        return f"{days} day" if days == 1 else f"{days} days"
    hours = max(1, round(seconds / 3600))
    return f"{hours} hour" if hours == 1 else f"{hours} hours"


def _compute_gpu_utilization(session: Session, query: MetricQuery, context: MetricContext) -> list[Snapshot]:
    a100_rate = Decimal(str(context.params["a100_hourly_usd"]))
    speedup = context.params["h100_speedup"]
    sample_rows = _host_samples(session, query)
    spans = _sampled_spans(sample_rows, query)
    cost_by_host = _cost_by_host(session, spans)

    groups: dict[tuple, dict] = defaultdict(
        lambda: {"seconds": 0, "busy": 0.0, "measured": 0, "memory_used": 0.0, "memory_total": 0.0, "gpus": 0,
                 "cost": ZERO, "models": set(), "span_start": None, "span_end": None}
    )
    for row in sample_rows:
        key = (row.host,) if query.group_by == ("host",) else (row.gpu_model,)
        group = groups[key]
        group["seconds"] += int(row.seconds or 0)
        group["busy"] += float(row.busy or 0)
        group["measured"] += int(row.measured_seconds or 0)
        group["memory_used"] = max(group["memory_used"], float(row.memory_used or 0))
        group["memory_total"] = max(group["memory_total"], float(row.memory_total or 0))
        group["gpus"] += int(row.gpus)
        group["models"].add(row.gpu_model)
        span_start, span_end = spans[row.host]
        group["span_start"] = span_start if group["span_start"] is None else min(group["span_start"], span_start)
        group["span_end"] = span_end if group["span_end"] is None else max(group["span_end"], span_end)
        cost = cost_by_host.pop((row.host,), None)  # a host's cost counts once, with its first GPU model
        if cost is not None:
            group["cost"] += cost.total

    snapshots = []
    for key, group in groups.items():
        if not group["measured"]:
            continue
        utilization = group["busy"] / group["measured"]
        gpu_hours = group["seconds"] / 3600
        cost = group["cost"]
        # Savings scale the sampled span to a month, because the cost covers that span only.
        span_seconds = (group["span_end"] - group["span_start"]).total_seconds()
        span_days = span_seconds / 86400
        models = sorted(model for model in group["models"] if model)
        gpu_model = models[0] if len(models) == 1 else ", ".join(models)
        idle_cost = (cost * Decimal(str(1 - utilization / 100))).quantize(Decimal("0.01"))
        a100_saving = None
        if gpu_model.upper() == "H100" and gpu_hours:
            a100_cost = a100_rate * Decimal(str(gpu_hours))
            if cost > a100_cost:
                a100_saving = monthly(cost - a100_cost, span_days)
        snapshots.append(
            Snapshot(
                scope=dict(zip(query.group_by, key)),
                values={
                    "gpu_model": gpu_model,
                    "gpus": group["gpus"],
                    "gpu_hours": round(gpu_hours, 1),
                    "sampled_span": _span_text(span_seconds),
                    "utilization_pct": round(utilization, 1),
                    "a100_utilization_pct": round(utilization * speedup, 1),
                    "memory_max_gib": round(group["memory_used"] / MIB_PER_GIB, 1),
                    "memory_total_gib": round(group["memory_total"] / MIB_PER_GIB, 1),
                    "cost_usd": cost,
                    "hourly_rate_usd": (cost / Decimal(str(gpu_hours))).quantize(Decimal("0.01")) if gpu_hours else None,
                    "idle_cost_usd": idle_cost,
                    "idle_saving_monthly_usd": monthly(idle_cost, span_days),
                    "a100_saving_monthly_usd": a100_saving,
                },
            )
        )
    return snapshots


register(
    Metric(
        name="gpu_utilization",
        description=(
            "Time-weighted GPU utilization, peak memory and cost per host or GPU model. Cost is the GPU "
            "spend of the query layer (FOCUS rows of cost kind gpu, else samples times their hourly rate). "
            "It is limited to the span each host's samples cover, so a host sampled for 1 day of a 7-day "
            "window is compared on that day's cost."
        ),
        fields=(
            MetricField("gpu_model", TEXT, "GPU model (A100, H100, ...); several joined by ', '."),
            MetricField("gpus", COUNT, "Distinct GPUs sampled."),
            MetricField("gpu_hours", NUMBER, "GPU-hours sampled in the window."),
            MetricField("sampled_span", TEXT, "Time the samples cover in the window, from the hour of the first to the end of the hour of the last, as text (\"7 days\", \"18 hours\")."),
            MetricField("utilization_pct", NUMBER, "Average utilization in percent, weighted by sample interval."),
            MetricField("a100_utilization_pct", NUMBER, "Estimated utilization if the same work ran on as many A100s (utilization_pct x h100_speedup)."),
            MetricField("memory_max_gib", NUMBER, "Highest memory used by one GPU, in GiB."),
            MetricField("memory_total_gib", NUMBER, "Memory of one GPU, in GiB."),
            MetricField("cost_usd", MONEY, "GPU cost in the sampled span, so it covers the same time as gpu_hours."),
            MetricField("hourly_rate_usd", MONEY, "cost_usd / gpu_hours."),
            MetricField("idle_cost_usd", MONEY, "cost_usd x (1 - utilization_pct / 100)."),
            MetricField("idle_saving_monthly_usd", MONEY, "idle_cost_usd scaled from the sampled span to 30 days."),
            MetricField("a100_saving_monthly_usd", MONEY, "Estimated monthly saving of renting A100s instead of these H100s."),
        ),
        group_by=("host", "gpu_model"),
        default_group_by=("host",),
        needs_baseline=False,
        spend_field="cost_usd",
        saving_fields=("idle_saving_monthly_usd", "a100_saving_monthly_usd"),
        saving_method=(
            "idle: cost x (1 - utilization) scaled from the sampled span to 30 days; A100: (H100 cost - "
            "gpu_hours x a100_hourly_usd) scaled from the sampled span to 30 days, one A100 per H100."
        ),
        params=(
            MetricParam("a100_hourly_usd", 3.43, "A100 80 GB on-demand price per GPU-hour (AWS, November 2026).", 0.0),
            MetricParam("h100_speedup", 2.0, "H100 tokens/s over A100 (independent estimates 1.5x to 2.5x; NVIDIA's FP8 tables 3.5x to 4.1x).", 1.0, 10.0),
        ),
        example="""\
- id: idle-rented-gpus
  description: Rented GPUs that mostly sit idle
  metric: gpu_utilization
  window_days: 7
  group_by: [host]
  when:
    utilization_pct: {lt: 30}
  min_spend_usd: 200
  severity: warning
  recommendation: "{host} ({gpu_model}) averaged {utilization_pct:.0f}% utilization; {idle_cost_usd:usd} of {cost_usd:usd} paid for idle time."
  guidance: [gpu-cloud-vs-apis, batch-flex-vs-rented-gpus]
  cooldown_days: 7
""",
        compute=_compute_gpu_utilization,
        max_group_by=1,
    )
)
