"""Usage exported twice at another bucket width or grouping: count it once.

Two exports of one source with the same bucket width and group-by fields give each usage the
same natural key, so the writer stores it once (see `bot.ingest.loader`). A daily and an hourly
export of the same days, or one grouped by model and one by project and model, give the same
usage different keys. So each import records the series it wrote (`ImportSeries`): per table,
source and scope, the bucket width, the group-by fields with a value, and the time its buckets
cover. After writing its rows, an import looks for stored rows of another series of the same
table, source and scope inside that time, and applies the overlap policy:

- fail (the default): import nothing, and name the earlier import and both series;
- replace: this file's rows win over the time its buckets cover;
- keep: the stored rows win over the time their buckets cover, and this file adds the rest
  (its rows whose keys were stored before are stored rows, so they stay);
- add: keep both, for files that hold different usage, such as two organizations' exports.

A bucket of the losing side that lies partly outside the winner's time cannot be split. It
stays whole, and the winner's rows that start inside it are removed instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from bot.ingest.base import ImportFailed, RowError, SeriesSeen
from bot.models.usage import ImportRun, ImportSeries

POLICIES = ("fail", "replace", "keep", "add")
DEFAULT_POLICY = "fail"

# The column that distinguishes a table's series within one source. Reported costs have one scope.
SCOPE_COLUMNS = {"llm_usage": "operation", "tool_usage": "tool", "reported_cost": None}

# The widest bucket an export uses: a stored row that starts this long before a series may reach into it.
_WIDEST_BUCKET = timedelta(days=1)
# Start times per `IN (…)` of a delete, below SQLite's limit on bound parameters.
_IN_CHUNK = 500


@dataclass
class Resolved:
    """The outcome of the overlap policy: the rows of this import it removed, the summary notes
    on what it did with each earlier import's rows and with this file's, and the time ranges
    whose rollups changed."""

    removed_new: int = 0
    notes: list[str] = field(default_factory=list)
    refresh: list[tuple[datetime, datetime, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Earlier:
    """A stored series of another import that overlaps the new one in time."""

    import_id: int
    path: str
    width: int
    fields: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class _Span:
    """The time of the rows one import stored at one start time."""

    import_id: int
    start: datetime
    end: datetime


def resolve_overlaps(
    connection: Connection, import_id: int, path: str, seen: Sequence[SeriesSeen], policy: str = DEFAULT_POLICY,
    stored_max_ids: Mapping[str, int] | None = None,
) -> Resolved:
    """Record the series import `import_id` wrote and apply `policy` where they overlap stored
    series; raise ImportFailed naming each overlap when the policy is "fail".

    `stored_max_ids` maps a table name to its largest row id before the import wrote to it, so
    the import's rows above it are the rows it inserted. Its other rows were stored before, by
    an import of the same series, and the import only repeated their keys. `keep` never
    removes those, and `Resolved.removed_new` counts only inserted rows. Without an entry, all
    of the import's rows in that table count as inserted.
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown overlap policy {policy!r}; use one of: {', '.join(POLICIES)}")
    stored_max_ids = stored_max_ids or {}
    resolved = Resolved()
    problems: list[RowError] = []
    # Per (table, scope): the rows this file inserted before any was removed, and the rows
    # removed of each earlier import, summed over this file's ranges of time.
    inserted_before: dict[tuple[str, str], tuple[SeriesSeen, int]] = {}
    outcomes: dict[tuple[str, str], dict[int, tuple[_Earlier, int]]] = {}
    for series in seen:
        _record(connection, import_id, series, policy)
        earlier = _earlier_series(connection, import_id, series)
        if not earlier:
            continue
        table = SQLModel.metadata.tables[series.table]
        stored = [
            span for span in _spans(connection, table, series, [other.import_id for other in earlier],
                                    series.start - _WIDEST_BUCKET, series.end)
            if span.start < series.end and span.end > series.start
        ]  # fmt: skip
        holders = {span.import_id for span in stored}
        earlier = [other for other in earlier if other.import_id in holders]
        if policy == "add":
            # `earlier` lists an import once per range of time, so collect it per import to name it once.
            by_import = {other.import_id: other for other in earlier}
            resolved.notes.extend(
                f"counted apart from the {series.source} {series.scope} rows of import #{other.import_id} "
                f"({other.path}, {_describe(other.width, other.fields)}), because --overlap add declares them different usage"
                for _, other in sorted(by_import.items())
            )  # fmt: skip
            continue
        apart = _counted_apart(connection, import_id, series, earlier)
        paths = {other.import_id: other.path for other in earlier}
        resolved.notes.extend(
            f"counted apart from import #{other} ({paths[other]}, {series.source} {series.scope}), "
            f"as import #{declared} chose with --overlap add"
            for other, declared in sorted(apart.items())
        )  # fmt: skip
        earlier = [other for other in earlier if other.import_id not in apart]
        if not earlier:
            continue  # their rows in this time were replaced since, or count apart
        if policy == "fail":
            problems.extend(_conflict(path, series, other) for other in earlier)
            continue
        key = (series.table, series.scope)
        inserted = _inserted(table, stored_max_ids.get(series.table))
        if key not in inserted_before:
            inserted_before[key] = (series, _count(connection, table, series, import_id, inserted))
        if policy == "replace":
            removed = _settle(connection, table, series, [(series.start, series.end)], [import_id], stored)
            low = min(series.start, *(span.start for span in stored))
        else:  # keep
            # NOTE: an earlier series keeps its recorded time after a later import replaced part
            # of it, so this file's inserted rows in that part are left out as well.
            mine = _spans(connection, table, series, [import_id],
                          min(other.start for other in earlier) - _WIDEST_BUCKET, max(other.end for other in earlier),
                          inserted)
            removed = _settle(connection, table, series, [(other.start, other.end) for other in earlier],
                              sorted({other.import_id for other in earlier}), mine, inserted)
            low = min(series.start, *(other.start for other in earlier)) - _WIDEST_BUCKET
        high = max(series.end, *(other.end for other in earlier)) + _WIDEST_BUCKET
        resolved.refresh.append((low, high, series.table))
        removed.pop(import_id, None)  # counted below: the inserted rows only
        found = outcomes.setdefault(key, {})
        for other in earlier:
            counted = found.get(other.import_id, (other, 0))[1]
            # An earlier import of several ranges is listed once per range; count its rows once.
            found[other.import_id] = (other, counted + removed.pop(other.import_id, 0))
    if problems:
        raise ImportFailed(problems)
    for key, by_import in outcomes.items():
        series, before = inserted_before[key]
        table = SQLModel.metadata.tables[series.table]
        inserted = _inserted(table, stored_max_ids.get(series.table))
        left_out = before - _count(connection, table, series, import_id, inserted)
        resolved.removed_new += left_out
        usage = f"{series.source} {series.scope}"  # one file may give two, such as LLM and web search rows
        resolved.notes.extend(_note(policy, usage, other, removed) for other, removed in by_import.values())
        if left_out:
            resolved.notes.append(_left_out_note(policy, usage, left_out))
    return resolved


def _inserted(table: sa.Table, stored_max_id: int | None) -> sa.ColumnElement:
    """Return the condition "the row was inserted by this import" (see `resolve_overlaps`)."""
    return sa.true() if stored_max_id is None else table.c.id > stored_max_id


def _count(connection: Connection, table: sa.Table, series: SeriesSeen, import_id: int,
           condition: sa.ColumnElement) -> int:
    query = (sa.select(sa.func.count()).select_from(table)
             .where(*_scoped(table, series), table.c.import_id == import_id, condition))
    return int(connection.execute(query).scalar_one())


def _record(connection: Connection, import_id: int, series: SeriesSeen, policy: str) -> None:
    connection.execute(sa.insert(ImportSeries.__table__).values(
        import_id=import_id, table_name=series.table, source=series.source, scope=series.scope,
        bucket_width=series.width, group_fields=",".join(series.fields), overlap=policy,
        start_time=series.start, end_time=series.end,
    ))  # fmt: skip


def _earlier_series(connection: Connection, import_id: int, series: SeriesSeen) -> list[_Earlier]:
    """Return the series of other imports of this table, source and scope, at another width
    or grouping, whose time overlaps this series."""
    stored_series, runs = ImportSeries.__table__, ImportRun.__table__
    query = (
        sa.select(stored_series.c.import_id, runs.c.path, stored_series.c.bucket_width, stored_series.c.group_fields, stored_series.c.start_time, stored_series.c.end_time)
        .join(runs, runs.c.id == stored_series.c.import_id)
        .where(
            stored_series.c.table_name == series.table, stored_series.c.source == series.source, stored_series.c.scope == series.scope,
            stored_series.c.import_id != import_id, stored_series.c.start_time < series.end, stored_series.c.end_time > series.start,
            sa.or_(stored_series.c.bucket_width != series.width, stored_series.c.group_fields != ",".join(series.fields)),
        )
        .order_by(stored_series.c.import_id)
    )  # fmt: skip
    return [_Earlier(*row) for row in connection.execute(query)]


def _counted_apart(connection: Connection, import_id: int, series: SeriesSeen, earlier: Sequence[_Earlier]) -> dict[int, int]:
    """Return the earlier imports whose series an `add` import declared to be other usage than
    this file's series, each with the id of that `add` import.

    An `add` import declares its series and each stored series it overlapped to hold different
    usage, such as two organizations' exports. Later imports of either series count apart from
    the other one without `--overlap add` again, because following the error's first advice,
    `replace`, would remove the other organization's rows.
    """
    stored_series = ImportSeries.__table__
    rows = connection.execute(
        sa.select(stored_series.c.import_id, stored_series.c.bucket_width, stored_series.c.group_fields,
                  stored_series.c.start_time, stored_series.c.end_time, stored_series.c.overlap)
        .where(stored_series.c.table_name == series.table, stored_series.c.source == series.source,
               stored_series.c.scope == series.scope, stored_series.c.import_id != import_id)
    ).all()  # fmt: skip
    mine = (series.width, ",".join(series.fields))
    apart: dict[int, int] = {}
    for other in earlier:
        theirs = (other.width, other.fields)
        for added in rows:
            signature = (added.bucket_width, added.group_fields)
            if added.overlap != "add" or signature not in (mine, theirs):
                continue
            partner = theirs if signature == mine else mine
            if any((row.bucket_width, row.group_fields) == partner and row.import_id < added.import_id
                   and row.start_time < added.end_time and row.end_time > added.start_time for row in rows):
                apart[other.import_id] = added.import_id
                break
    return apart


def _scoped(table: sa.Table, series: SeriesSeen) -> list[sa.ColumnElement]:
    where = [table.c.source == series.source]
    column = SCOPE_COLUMNS.get(series.table)
    if column is not None:
        where.append(table.c[column] == series.scope)
    return where


def _spans(connection: Connection, table: sa.Table, series: SeriesSeen, import_ids: Iterable[int],
           low: datetime, high: datetime, condition: sa.ColumnElement | None = None) -> list[_Span]:
    """Return the distinct start times and bucket lengths of the rows of `import_ids` in this
    series' table, source and scope that start in [low, high) and meet `condition`."""
    query = (
        sa.select(table.c.import_id, table.c.start_time, table.c.bucket_seconds)
        .where(*_scoped(table, series), table.c.import_id.in_(list(import_ids)),
               table.c.start_time >= low, table.c.start_time < high)
        .distinct()
    )
    if condition is not None:
        query = query.where(condition)
    return [_Span(owner, start, start + timedelta(seconds=seconds)) for owner, start, seconds in connection.execute(query)]


def _settle(connection: Connection, table: sa.Table, series: SeriesSeen, cover: list[tuple[datetime, datetime]],
            winners: list[int], losers: list[_Span], losing: sa.ColumnElement | None = None) -> dict[int, int]:
    """Remove each losing row that lies inside the winner's time `cover` (only rows that meet
    `losing`, when given). A losing bucket that reaches outside it stays, and the winners'
    rows that start inside it are removed. Return the rows removed per import."""
    removed: dict[int, int] = {}
    inside: dict[int, list[datetime]] = {}
    for span in losers:
        if any(low <= span.start and span.end <= high for low, high in cover):
            inside.setdefault(span.import_id, []).append(span.start)
        elif any(span.start < high and span.end > low for low, high in cover):
            for winner in winners:
                removed[winner] = removed.get(winner, 0) + _delete(
                    connection, table, series, winner,
                    [table.c.start_time >= span.start, table.c.start_time < span.end],
                )  # fmt: skip
    for loser, starts in inside.items():
        starts = sorted(set(starts))
        for offset in range(0, len(starts), _IN_CHUNK):
            chunk = starts[offset : offset + _IN_CHUNK]
            when = [table.c.start_time.in_(chunk)] if losing is None else [table.c.start_time.in_(chunk), losing]
            removed[loser] = removed.get(loser, 0) + _delete(connection, table, series, loser, when)
    return removed


def _delete(connection: Connection, table: sa.Table, series: SeriesSeen, import_id: int,
            when: list[sa.ColumnElement]) -> int:
    result = connection.execute(sa.delete(table).where(*_scoped(table, series), table.c.import_id == import_id, *when))
    return int(result.rowcount or 0)


def _describe(width: int, fields: str | Sequence[str]) -> str:
    names = fields.split(",") if isinstance(fields, str) else list(fields)
    names = [name for name in names if name]
    buckets = {60: "1-minute", 3600: "hourly", 86400: "daily"}.get(width, f"{width}-second")
    return f"{buckets} buckets " + (f"grouped by {', '.join(names)}" if names else "with no grouping")


def _when(start: datetime, end: datetime) -> str:
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"


def _conflict(path: str, series: SeriesSeen, earlier: _Earlier) -> RowError:
    return RowError(
        path, None, "overlap", _when(max(series.start, earlier.start), min(series.end, earlier.end)),
        f"import #{earlier.import_id} ({earlier.path}) stored this {series.source} {series.scope} usage as "
        f"{_describe(earlier.width, earlier.fields)}, and this file has {_describe(series.width, series.fields)}, "
        "so the usage would count twice. If it is the same usage, import the file again with --overlap "
        "replace to let its rows win over its time, or --overlap keep to keep the stored rows and add only "
        "the rest. If the two files hold different usage (two organizations' exports), use --overlap add, "
        "which later imports of either file remember",
    )  # fmt: skip


def _rows(count: int, adjective: str = "") -> str:
    """Return "1 row", "2 rows" or, with an adjective, "1 stored row"."""
    noun = "row" if count == 1 else "rows"
    return f"{count} {adjective} {noun}" if adjective else f"{count} {noun}"


def _note(policy: str, usage: str, earlier: _Earlier, removed: int) -> str:
    """Describe what the policy did with the stored `usage` rows (such as "openai completions")
    of one earlier import."""
    series = _describe(earlier.width, earlier.fields)
    if policy == "replace":
        return f"replaced {_rows(removed, f'stored {usage}')} of import #{earlier.import_id} ({earlier.path}, {series})"
    note = f"kept the {usage} rows of import #{earlier.import_id} ({earlier.path}, {series}) over its time"
    if removed:
        # A bucket of this file reaches outside the stored time, so it stays whole and wins there.
        note += f", but removed {removed} of them that lie inside a longer bucket of this file reaching outside that time"
    return note


def _left_out_note(policy: str, usage: str, removed: int) -> str:
    """Describe the `usage` rows of this file the policy removed; the summary counts them as duplicate."""
    if policy == "replace":
        reason = "they start inside a longer stored bucket that reaches outside this file's time"
    else:
        reason = "the stored rows cover their time"
    return f"left out {_rows(removed, usage)} of this file, counted as duplicate, because {reason}"
