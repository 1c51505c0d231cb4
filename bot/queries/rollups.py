"""Hourly rollups of every cost source: built with INSERT … SELECT … GROUP BY, read when current.

A rollup row sums one source's rows of one UTC hour that share all dimension values,
with the same attribution rules as the raw queries (`bot.queries.sources`):
- priced LLM rows covered by a provider's reported cost are kept but flagged `replaced`,
  so spend leaves them out while token and request counts keep them;
- GPU samples are summed per host and hourly rate, and hosts with FOCUS GPU rows are
  left out when the rollup is read, so a FOCUS import never needs other hours rebuilt.

Queries read the rollups only when `rollup_state` matches every usage table's largest
id. Rows inserted without a refresh therefore make queries fall back to the raw tables
instead of giving stale totals. Rows updated in place (a re-import of the same natural
keys) keep their ids, so the importer must call `refresh_rollups` for the range it wrote.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import Session

from bot.models import CloudCost, GpuUsage, LlmUsage, Outcome, ReportedCost, ToolUsage
from bot.models.rollups import RollupState, UsageRollup
from bot.models.usage import COST_PRICED
from bot.queries.sources import GROUPABLE, Source, applies, matches, sources

logger = logging.getLogger(__name__)

USAGE_TABLES = (LlmUsage, ReportedCost, ToolUsage, GpuUsage, Outcome, CloudCost)
_TRAFFIC = ("requests", "input_tokens", "cached_input_tokens", "output_tokens", "retries", "failed_requests")
_ZERO_TRAFFIC = {name: sa.literal(0) for name in _TRAFFIC}


def hour_start(column, dialect: str):
    """Return the UTC hour a UTCDateTime column falls in, as a value of the same column type."""
    if dialect == "sqlite":
        # The stored text is "YYYY-MM-DD HH:MM:SS.ffffff"; keep that shape so comparisons with
        # bound datetimes (written the same way) stay correct.
        return sa.func.strftime("%Y-%m-%d %H:00:00.000000", column)
    return sa.func.timezone("UTC", sa.func.date_trunc("hour", sa.func.timezone("UTC", column)))


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def _day_bounds(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Widen [start, end) to whole UTC days, because the reported-cost rule works per UTC day."""
    first = start.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    last = end.astimezone(timezone.utc)
    after = last.replace(hour=0, minute=0, second=0, microsecond=0)
    if after < last:
        after += timedelta(days=1)
    return first, after


def _insert_source(session: Session, source: Source, start: datetime, end: datetime, dialect: str) -> int:
    """Insert the rollup rows of one source for [start, end); return how many were inserted."""
    table = source.table
    hour = hour_start(source.time_column, dialect)
    dimensions = {name: source.columns.get(name, sa.null()) for name in GROUPABLE}
    values: dict[str, sa.ColumnElement] = {"hour": hour, "source": sa.literal(source.name)}
    values.update(dimensions)
    group = [hour, *[column for column in dimensions.values() if not isinstance(column, sa.sql.elements.Null)]]

    where = [source.time_column >= start, source.time_column < end]
    replaced = sa.literal(0)
    traffic = dict(_ZERO_TRAFFIC)
    rate = sa.null()
    seconds = sa.literal(0)
    unpriced = sa.literal(0)
    if source.name == "llm_usage":
        replaced = sa.case((sa.not_(source.where()), 1), else_=0)
        group.append(replaced)
        traffic = {name: sa.func.sum(getattr(LlmUsage, name)) for name in _TRAFFIC}
        cost = sa.func.coalesce(sa.func.sum(LlmUsage.cost_usd), 0)
        unpriced = sa.func.sum(sa.case((LlmUsage.cost_usd.is_(None), 1), else_=0))
    elif source.rate_based:
        rate = GpuUsage.hourly_rate_usd
        group.append(rate)
        seconds = sa.func.sum(GpuUsage.interval_seconds)
        cost = sa.literal(0)
        unpriced = sa.func.sum(sa.case((GpuUsage.hourly_rate_usd.is_(None), 1), else_=0))
    else:
        if source.where is not None:
            where.append(source.where())
        cost_column = source.cost()
        cost = sa.func.coalesce(sa.func.sum(cost_column), 0)
        unpriced = sa.func.sum(sa.case((cost_column.is_(None), 1), else_=0))
    values.update(replaced=replaced, hourly_rate_usd=rate, cost_usd=sa.type_coerce(cost, sa.BigInteger),
                  rows=sa.func.count(), unpriced_rows=unpriced, seconds=seconds, **traffic)
    del table

    names = list(values)
    select = sa.select(*[values[name].label(name) for name in names]).where(*where).group_by(*group)
    session.execute(sa.insert(UsageRollup).from_select(names, select))
    return session.execute(
        sa.select(sa.func.count()).where(UsageRollup.source == source.name, UsageRollup.hour >= _floor_hour(start),
                                         UsageRollup.hour < end)
    ).scalar_one()


def _record_state(session: Session, now: datetime) -> None:
    for table in USAGE_TABLES:
        max_id, rows = session.execute(sa.select(sa.func.max(table.id), sa.func.count())).one()
        state = session.get(RollupState, table.__tablename__)
        if state is None:
            state = RollupState(table_name=table.__tablename__, refreshed_at=now)
            session.add(state)
        state.max_id = int(max_id or 0)
        state.row_count = int(rows)
        state.refreshed_at = now
    session.flush()


def _unrolled_range(session: Session) -> tuple[datetime, datetime] | None:
    """Return the time range of usage rows added since the last refresh, or None when there are none."""
    first = last = None
    for table in USAGE_TABLES:
        state = session.get(RollupState, table.__tablename__)
        column = _time_column(table)
        low, high = session.execute(
            sa.select(sa.func.min(column), sa.func.max(column)).where(table.id > (state.max_id if state else 0))
        ).one()
        if low is None:
            continue
        first = low if first is None else min(first, low)
        last = high if last is None else max(last, high)
    return None if first is None else (first, last + timedelta(hours=1))


def refresh_rollups(session: Session, *, start: datetime, end: datetime) -> int:
    """Rebuild the rollups of [start, end), widened to whole UTC days, and of any rows added
    since the last refresh; flush, and return the number of rollup rows written.

    The importer calls this after each import with the time range of the rows it wrote
    (for FOCUS rows, their charge period starts). When the rollups were never built, it
    builds all of them. The caller commits.
    """
    if session.get(RollupState, LlmUsage.__tablename__) is None:
        # Never built: rows outside the range are not rolled up either, so build everything.
        return rebuild_rollups(session)
    dialect = session.get_bind().dialect.name
    ranges = [_day_bounds(start, end)]
    added = _unrolled_range(session)
    if added is not None:
        ranges.append(_day_bounds(*added))
    written = 0
    for low, high in ranges:
        session.execute(sa.delete(UsageRollup).where(UsageRollup.hour >= low, UsageRollup.hour < high))
        for source in sources(dialect):
            written += _insert_source(session, source, low, high, dialect)
    _record_state(session, datetime.now(timezone.utc))
    logger.info("rollups refreshed ranges=%s rows=%d", [(low.isoformat(), high.isoformat()) for low, high in ranges], written)
    return written


def _time_column(table):
    return {GpuUsage: GpuUsage.sampled_at, CloudCost: CloudCost.charge_period_start}.get(table, getattr(table, "start_time", None))


def refresh_rollups_for_import(bind, import_id: int) -> int:
    """Refresh the rollups over the time range of the rows stored by import `import_id`.

    `bind` is a Session, or a Connection inside the import's transaction, so the rollups
    commit or roll back together with the imported rows. Returns the rollup rows written.
    """
    if not isinstance(bind, Session):
        with Session(bind=bind) as session:
            return refresh_rollups_for_import(session, import_id)
    session = bind
    first = last = None
    for table in USAGE_TABLES:
        column = _time_column(table)
        low, high = session.execute(sa.select(sa.func.min(column), sa.func.max(column)).where(table.import_id == import_id)).one()
        if low is not None:
            first = low if first is None else min(first, low)
            last = high if last is None else max(last, high)
    if first is None:
        return 0
    written = refresh_rollups(session, start=first, end=last + timedelta(hours=1))
    session.flush()
    return written


def rebuild_rollups(session: Session) -> int:
    """Delete every rollup row and build them again from all usage; flush and return the row count."""
    dialect = session.get_bind().dialect.name
    session.execute(sa.delete(UsageRollup))
    written = 0
    far_past = datetime(1970, 1, 1, tzinfo=timezone.utc)
    far_future = datetime(9999, 1, 1, tzinfo=timezone.utc)
    for source in sources(dialect):
        written += _insert_source(session, source, far_past, far_future, dialect)
    _record_state(session, datetime.now(timezone.utc))
    logger.info("rollups rebuilt rows=%d", written)
    return written


# Key in `Session.info` under which a caller may pin the answer of `is_current` for a
# sequence of read-only queries (one cost question), saving the per-query checks.
PINNED_KEY = "costbot.rollups_current"


def is_current(session: Session) -> bool:
    """Return True when the rollups cover every usage row: each table's largest id is the one
    recorded at the last refresh. Each check is one index lookup."""
    if PINNED_KEY in session.info:
        return session.info[PINNED_KEY]
    states = {state.table_name: state.max_id for state in session.execute(sa.select(RollupState)).scalars()}
    if len(states) < len(USAGE_TABLES):
        return False
    for table in USAGE_TABLES:
        max_id = session.execute(sa.select(sa.func.max(table.id))).scalar() or 0
        if states.get(table.__tablename__) != max_id:
            return False
    return True


def _focus_gpu_hosts() -> sa.Select:
    names = sa.select(CloudCost.resource_name).where(CloudCost.cost_kind == "gpu", CloudCost.resource_name.is_not(None))
    ids = sa.select(CloudCost.resource_id).where(CloudCost.cost_kind == "gpu", CloudCost.resource_id.is_not(None))
    return sa.union(names, ids)


def _hour_bounds_ok(start: datetime, end: datetime) -> bool:
    return _floor_hour(start) == start.astimezone(timezone.utc) and _floor_hour(end) == end.astimezone(timezone.utc)


def rollup_select(
    source: Source,
    measures: Sequence[sa.ColumnElement],
    *,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]] | None,
    dimensions: Sequence[str],
    hourly: bool,
    dialect: str,
    extra_group: Sequence[sa.ColumnElement] = (),
    spend: bool = True,
) -> sa.Select:
    """Build the grouped SELECT over the rollups that matches `filtered_select` over the raw source."""
    from bot.queries.sources import utc_hour

    labelled, group = [], []
    for index, name in enumerate(dimensions):
        column = getattr(UsageRollup, name)
        labelled.append(column.label(f"g{index}"))
        group.append(column)
    if hourly:
        hour = utc_hour(UsageRollup.hour, dialect)
        labelled.append(hour.label("hour"))
        group.append(hour)
    group.extend(extra_group)
    query = sa.select(*labelled, *extra_group, *measures).where(
        UsageRollup.source == source.name, UsageRollup.hour >= start, UsageRollup.hour < end)
    if spend and source.name == "llm_usage":
        query = query.where(UsageRollup.replaced == 0)
    if spend and source.rate_based:
        query = query.where(sa.or_(UsageRollup.host.is_(None), UsageRollup.host.not_in(_focus_gpu_hosts())))
    for name, values in (filters or {}).items():
        query = query.where(matches(getattr(UsageRollup, name), values))
    if group:
        query = query.group_by(*group)
    return query


def usable(session: Session, start: datetime, end: datetime) -> bool:
    """Return True when the rollups give the raw tables' result for [start, end): they are
    current and both bounds fall on whole UTC hours."""
    return _hour_bounds_ok(start, end) and is_current(session)


def traffic_select(
    source: Source,
    measures: Sequence[sa.ColumnElement],
    *,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]] | None,
    group_by: Sequence[str],
    session: Session,
) -> sa.Select | None:
    """Return the rollup SELECT of LLM traffic (every row, replaced or not) with `measures`
    named like the raw columns, or None when the rollups cannot be used."""
    if not usable(session, start, end):
        return None
    dialect = session.get_bind().dialect.name
    return rollup_select(source, measures, start=start, end=end, filters=filters, dimensions=group_by,
                         hourly=False, dialect=dialect, spend=False)


def stored_values(session: Session) -> dict[str, list[str]] | None:
    """Return the distinct dimension values from the rollups, or None when they are not current."""
    if not is_current(session):
        return None
    result = {}
    for name in GROUPABLE:
        column = getattr(UsageRollup, name)
        query = sa.select(column).where(column.is_not(None))
        if name in ("provider", "model"):
            # Only LLM sources fill these with provider and model names users ask about.
            query = query.where(UsageRollup.source == "llm_usage")
        result[name] = sorted(value for (value,) in session.execute(query.distinct()) if value)
    return result
