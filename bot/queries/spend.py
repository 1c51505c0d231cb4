"""Spend over a period, split by cost kind and grouped by any dimension or by day, week or month.

`spend_by` and `daily_spend` are the interface the budgets, the rules and the Slack app
call. Each cost source is one grouped SQL query (see `bot.queries.sources` for what
counts where); the grouped rows of the sources are merged here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal

import sqlalchemy as sa
from sqlmodel import Session

from bot.models import GpuUsage, UsageRollup
from bot.queries import rollups
from bot.queries.sources import COST_KINDS, Source, applies, check_names, filtered_select, kind_has, sources
from bot.types import Money

logger = logging.getLogger(__name__)

TIME_GRAINS = ("day", "week", "month")
_NANO = Decimal(1).scaleb(-9)
ZERO = Decimal(0)

__all__ = ["COST_KINDS", "TIME_GRAINS", "SpendRow", "daily_spend", "gpu_sample_cost", "spend_by"]


@dataclass
class SpendRow:
    """Spend of one group: its amount per cost kind, the total, and rows with no known price."""

    group: dict[str, str | None]
    by_kind: dict[str, Decimal] = field(default_factory=dict)
    total: Decimal = ZERO
    unpriced_rows: int = 0
    # Grouped dimensions that this row's cost kinds cannot have (GPU time has no model). Their
    # group value is None, as for unallocated spend, so this field distinguishes the two.
    not_applicable: tuple[str, ...] = ()


def gpu_sample_cost(hourly_rate: Decimal, seconds: int) -> Decimal:
    """Return the cost of `seconds` of GPU time at `hourly_rate`, rounded to a nano-dollar."""
    return (hourly_rate * seconds / 3600).quantize(_NANO, rounding=ROUND_HALF_EVEN)


def check_period(start: datetime, end: datetime) -> None:
    """Raise ValueError unless start and end are timezone-aware and start < end."""
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name}={value.isoformat()} is naive; pass an aware UTC datetime")
    if start >= end:
        raise ValueError(f"empty period: start {start.isoformat()} is not before end {end.isoformat()}")


def grain_start(day: date, grain: str) -> date:
    """Return the first day of the day, week (from Monday) or month that contains `day`."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def hour_to_local_day(hour: str, tz: tzinfo) -> date:
    """Convert a UTC hour "YYYY-MM-DD HH" to the calendar day it falls on in `tz`.

    NOTE: a zone whose offset is not a whole number of hours (Asia/Kolkata, for example)
    puts the part of an hour that straddles local midnight on the day the hour starts.
    """
    moment = datetime.strptime(hour[:13], "%Y-%m-%d %H").replace(tzinfo=timezone.utc)
    return moment.astimezone(tz).date()


def _no_money() -> sa.ColumnElement:
    # A typed NULL: PostgreSQL cannot match an untyped NULL with BIGINT across UNION ALL branches.
    return sa.type_coerce(sa.cast(sa.null(), sa.BigInteger), Money)


def _source_select(source: Source, **options) -> sa.Select:
    """Build one raw source's grouped SELECT with the columns every source shares, so the
    sources can be combined with UNION ALL: group values, the UTC hour when grouping by
    time, then rate, source name, cost, seconds and unpriced rows. GPU samples give seconds
    per hourly rate and no cost; every other source gives its cost and no rate."""
    name = sa.literal(source.name, sa.String).label("source")
    options = dict(options, group_by=options.pop("dimensions"))
    if source.rate_based:
        measures = [name, _no_money().label("cost"), sa.func.sum(GpuUsage.interval_seconds).label("seconds"),
                    sa.func.sum(sa.case((GpuUsage.hourly_rate_usd.is_(None), 1), else_=0)).label("unpriced")]
        return filtered_select(source, measures, extra_group=[GpuUsage.hourly_rate_usd], **options)
    cost = source.cost()
    measures = [_no_money().label("rate"), name, sa.func.sum(sa.type_coerce(cost, Money)).label("cost"),
                sa.literal(0).label("seconds"), sa.func.sum(sa.case((cost.is_(None), 1), else_=0)).label("unpriced")]
    return filtered_select(source, measures, **options)


def _rollup_select(chosen: Sequence[Source], **options) -> sa.Select:
    """Build the one grouped SELECT over the rollups with the same columns as `_source_select`."""
    measures = [sa.func.sum(UsageRollup.cost_usd).label("cost"),
                sa.func.sum(UsageRollup.seconds).label("seconds"), sa.func.sum(UsageRollup.unpriced_rows).label("unpriced")]
    return rollups.rollup_select(chosen, measures, extra_group=[UsageRollup.hourly_rate_usd, UsageRollup.source],
                                 **options)


def _spend_groups(
    session: Session,
    chosen: Sequence[Source],
    *,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]] | None,
    dimensions: Sequence[str],
    hourly: bool,
    tz: tzinfo,
) -> Iterable[tuple[str, tuple, str | None, Decimal, int]]:
    """Yield (kind, group values, UTC hour or None, cost, unpriced rows) in one statement: a
    single scan of the rollups when they are current, else UNION ALL over the raw sources."""
    dialect = session.get_bind().dialect.name
    chosen = [source for source in chosen if applies(source, filters)]
    if not chosen:
        return
    options = dict(start=start, end=end, filters=filters, dimensions=dimensions, hourly=hourly, dialect=dialect)
    if rollups.usable(session, start, end, [*(filters or {}), *dimensions]):
        statement = _rollup_select(chosen, tz=tz, **options)
    else:
        selects = [_source_select(source, **options) for source in chosen]
        statement = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    kinds = {source.name: source.kind for source in chosen}
    width = len(dimensions)
    for row in session.execute(statement):
        values = tuple(row[:width])
        hour = row[width] if hourly else None
        rate, source_name, cost, seconds, unpriced = tuple(row[-5:])
        if rate is not None:
            cost = gpu_sample_cost(rate, int(seconds))
        yield kinds[source_name], values, hour, cost or ZERO, int(unpriced or 0)


def spend_by(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]] | None = None,
    group_by: Sequence[str] = (),
    kinds: Sequence[str] = COST_KINDS,
    tz: tzinfo | None = None,
    split_not_applicable: bool = False,
) -> list[SpendRow]:
    """Return spend in [start, end) per group, split by cost kind.

    `group_by` names dimensions or columns (team, feature, tenant, user, project, environment,
    provider, model, service_tier, tool, host, gpu_model) and at most one of day, week or
    month. Those three are calendar periods in `tz` (UTC by default), and their group value
    is the ISO date the period starts on. Rows are ordered by total, largest first, or by period
    when grouped by one. Groups with no spend and no unpriced rows are left out.

    With `split_not_applicable`, spend of kinds that cannot have a grouped dimension (see
    COLUMN_KINDS in `bot.queries.sources`) gets its own rows, marked in `not_applicable`,
    instead of joining the unallocated (None) group.
    """
    check_period(start, end)
    unknown_kinds = [kind for kind in kinds if kind not in COST_KINDS]
    if unknown_kinds:
        raise ValueError(f"unknown cost kind {unknown_kinds[0]!r}; use one of: {', '.join(COST_KINDS)}")
    grains = [name for name in group_by if name in TIME_GRAINS]
    if len(grains) > 1:
        raise ValueError(f"group by at most one of day, week or month, not {' and '.join(grains)}")
    dimensions = [name for name in group_by if name not in TIME_GRAINS]
    check_names(filters, dimensions)
    grain = grains[0] if grains else None
    zone = tz or timezone.utc

    merged: dict[tuple, SpendRow] = {}
    provider_index = dimensions.index("provider") if "provider" in dimensions else None
    chosen = [source for source in sources(session.get_bind().dialect.name) if source.kind in kinds]
    groups = _spend_groups(session, chosen, start=start, end=end, filters=filters, dimensions=dimensions,
                           hourly=grain is not None, tz=zone)
    for kind, values, hour, cost, unpriced in groups:
        lacking = ()
        if split_not_applicable:
            lacking = tuple(name for name in dimensions if not kind_has(kind, name))
            values = tuple(None if name in lacking else value for name, value in zip(dimensions, values))
        if provider_index is not None and values[provider_index] is not None:
            # Sources spell a provider differently (FOCUS "AWS", a tools CSV "aws"): one group each.
            values = (*values[:provider_index], values[provider_index].lower(), *values[provider_index + 1:])
        period = None if grain is None else grain_start(hour_to_local_day(hour, zone), grain).isoformat()
        key = (values, lacking, period)
        row = merged.get(key)
        if row is None:
            group = dict(zip(dimensions, values))
            if grain is not None:
                group[grain] = period
            row = merged[key] = SpendRow(group=group, by_kind={name: ZERO for name in kinds}, not_applicable=lacking)
        row.by_kind[kind] += cost
        row.total += cost
        row.unpriced_rows += unpriced

    rows = [row for row in merged.values() if row.total or row.unpriced_rows]
    def names(row: SpendRow) -> tuple[str, ...]:
        return tuple("" if value is None else value for value in row.group.values())

    if grain is not None:
        rows.sort(key=lambda row: (row.group[grain], -row.total, names(row), row.not_applicable))
    else:
        rows.sort(key=lambda row: (-row.total, names(row), row.not_applicable))
    logger.debug("spend_by %s..%s group_by=%s filters=%s: %d groups", start, end, list(group_by), filters, len(rows))
    return rows


def daily_spend(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]] | None = None,
    kinds: Sequence[str] = COST_KINDS,
    tz: tzinfo,
) -> list[tuple[date, Decimal]]:
    """Return the total spend of each calendar day in `tz` from start to end, days with no
    spend included as zero, oldest first."""
    rows = spend_by(session, start=start, end=end, filters=filters, group_by=("day",), kinds=kinds, tz=tz)
    by_day = {date.fromisoformat(row.group["day"]): row.total for row in rows}
    first = start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    result = []
    day = first
    while day <= last:
        result.append((day, by_day.get(day, ZERO)))
        day += timedelta(days=1)
    return result
