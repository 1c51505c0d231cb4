"""Batched upserts of imported records, with the fast bulk path of each database.

Rows are written through the DBAPI connection of the loader's transaction, because
SQLAlchemy's per-row parameter processing costs more than the insert itself at a million
rows. Each batch first looks up which of its keys are stored, skipping the keys that start
after every stored row of their source (see `_keys_that_may_be_stored`). Rows with new keys take the
plain bulk path: an `executemany` of `INSERT` on SQLite, a `COPY` into the table on
PostgreSQL. Rows with stored keys are upserted: `executemany` of `INSERT … ON CONFLICT DO
UPDATE` on SQLite, and on PostgreSQL a `COPY` into a temporary table followed by one
`INSERT … SELECT … ON CONFLICT DO UPDATE`. Values are converted when a record is added,
exactly as the column types `Money` and `UTCDateTime` convert them (nano-dollars; UTC, as
naive ISO text on SQLite).

The replacement rule: a stored row is updated only by a row with at least its
`bucket_seconds`, so a partial bucket never replaces a full one. Tables without buckets
take the latest import's values.
"""

from __future__ import annotations

import functools
import io
import json
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.copy import FileWriter
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from bot.ingest.base import Record
from bot.types import Money, UTCDateTime, usd_to_nanos

# Keys per `IN (…)` lookup on SQLite, below its limit on bound parameters.
_LOOKUP_CHUNK = 500
# Rows an import writes to a PostgreSQL table before its first ANALYZE of it.
_FIRST_ANALYZE = 10_000
# Keys remembered at an import's latest start time. Past this count, rows at that time are looked up.
_FRONTIER_KEYS = 50_000
# Key of the PostgreSQL advisory lock that imports hold until they commit.
_IMPORT_LOCK = 0x636F_7374_626F_74  # "costbot" in ASCII


def _quote(name: str) -> str:
    return f'"{name}"'


@dataclass
class _Frontier:
    """The latest start time an import wrote for a source, and the keys written at that time
    (None once there are more than _FRONTIER_KEYS of them)."""

    time: Any
    keys: set[str] | None

    def may_have_written(self, key_time: Any, natural_key: str) -> bool:
        """Return True when the import may have written a row with this key, whose start is at
        or after `key_time`."""
        if key_time != self.time:
            return key_time < self.time
        return self.keys is None or natural_key in self.keys


@dataclass
class Batch:
    """Rows taken from a writer to be written together: converted rows by (source, natural_key),
    and how many rows of the batch repeated a key of an earlier row."""

    rows: dict[tuple[str, str], list[Any]]
    duplicates: int
    key_times: dict[tuple[str, str], Any]  # Record.key_time in stored form, where the parser set it
    copy_data: bytes | None = None  # on PostgreSQL, every row of the batch in COPY text format


class TableWriter:
    """Buffers one table's records and upserts them a batch at a time."""

    def __init__(self, connection: Connection, model: type[SQLModel], import_id: int) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):  # pragma: no cover - settings allow only these
            raise RuntimeError(f"unsupported database dialect {self.dialect!r}")
        self.table: sa.Table = model.__table__
        self.import_id = import_id
        self.columns = [column.name for column in self.table.columns if column.name != "id"]
        self.defaults = _defaults(model, self.columns)
        self.converters = [(index, self._converter(self.table.c[name].type)) for index, name in enumerate(self.columns)]
        self.converters = [(index, convert) for index, convert in self.converters if convert is not None]
        self.has_coverage = "bucket_seconds" in self.table.c
        self.coverage_index = self.columns.index("bucket_seconds") if self.has_coverage else -1
        self.select_columns = operator.itemgetter(*self.columns)
        self.pending: dict[tuple[str, str], list[Any]] = {}  # (source, natural_key) -> converted row
        self.duplicates_in_batch = 0
        self.staging: str | None = None
        self.format_cursor = None  # a psycopg cursor that only formats COPY rows
        self.time_index = self.columns.index("start_time") if "start_time" in self.table.c else -1
        self.time_converter = self._converter(self.table.c["start_time"].type) if self.time_index >= 0 else None
        self.key_times: dict[tuple[str, str], Any] = {}
        self.stored_until: dict[str, Any] = {}  # source -> latest start_time stored before this import
        self.frontier: dict[str, _Frontier] = {}  # source -> latest start_time this import wrote
        self.locked = False
        # The table's largest id before this import wrote to it. Rows above it are rows the
        # import inserted, and rows below it are stored rows whose keys it repeated, because
        # an upsert keeps the stored row's id.
        self.stored_max_id: int | None = None
        self.last_span: tuple[datetime, datetime] | None = None  # first and last start time of the last batch written
        self.written = 0  # rows this writer has sent to PostgreSQL
        self.analyze_at = _FIRST_ANALYZE

    def add(self, record: Record, batch_size: int) -> bool:
        """Buffer a record; return True when the batch is full and should be flushed."""
        values = record.values
        row = list(self.select_columns({**self.defaults, **values, "import_id": self.import_id}))
        for index, convert in self.converters:
            row[index] = convert(row[index])
        key = (values["source"], values["natural_key"])
        if record.key_time is not None and self.time_index >= 0:
            self.key_times[key] = self.time_converter(record.key_time)
        earlier = self.pending.get(key)
        if earlier is not None:
            self.duplicates_in_batch += 1
            if self.has_coverage and earlier[self.coverage_index] > row[self.coverage_index]:
                return False  # the buffered row covers more of the bucket
        self.pending[key] = row
        return len(self.pending) >= batch_size

    def take(self) -> Batch | None:
        """Hand over the buffered rows as a batch and start an empty one; None when nothing is buffered."""
        if not self.pending:
            return None
        batch = Batch(self.pending, self.duplicates_in_batch, self.key_times)
        if self.dialect == "postgresql":
            batch.copy_data = self._copy_text(batch.rows.values())
        self.pending = {}
        self.key_times = {}
        self.duplicates_in_batch = 0
        return batch

    def flush(self) -> tuple[int, int]:
        """Write the buffered rows now; return (imported, duplicate) counts."""
        batch = self.take()
        return (0, 0) if batch is None else self.write(batch)

    def write(self, batch: Batch) -> tuple[int, int]:
        """Write a batch taken from this writer; return (imported, duplicate) counts.

        Imported rows are new keys or replace a stored partial bucket. Duplicates are keys
        repeated in the batch or already stored with as much coverage; with equal coverage
        the stored row takes the new values. Batches of one writer must be written one at a
        time and in the order taken, because each lookup must see the rows written before it.
        """
        rows = batch.rows
        cursor = self.connection.connection.cursor()
        try:
            if self.dialect == "postgresql":
                self._lock_postgresql(cursor)
            if self.stored_max_id is None:
                # After the lock, so no other import inserts rows in between.
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {_quote(self.table.name)}")
                self.stored_max_id = int(cursor.fetchone()[0])
            candidates = self._keys_that_may_be_stored(cursor, batch)
            stored = self._stored(cursor, candidates) if candidates else {}
            # Rows with a new key take the plain bulk insert, and rows whose key is stored go
            # through the upsert, which applies the replacement rule. A key missing at the
            # lookup is still missing at the insert: SQLite allows one writer at a time (this
            # transaction holds the lock since its ImportRun insert), and PostgreSQL imports
            # wait for each other in `_lock_postgresql`.
            if self.dialect == "postgresql" and not stored:
                self._copy_formatted(cursor, batch.copy_data)  # the common case: every key is new
            else:
                new = [row for key, row in rows.items() if key not in stored]
                replacing = [row for key, row in rows.items() if key in stored]
                if self.dialect == "sqlite":
                    if new:
                        cursor.executemany(self._sqlite_insert(), new)
                    if replacing:
                        cursor.executemany(self._sqlite_upsert(), replacing)
                else:
                    if new:
                        self._copy(cursor, self.table.name, new)
                    if replacing:
                        self._upsert_postgresql(cursor, replacing)
            self.written += len(rows)
            self._advance_frontier(rows)
        finally:
            cursor.close()
        imported = len(rows) - len(stored)
        duplicate = 0
        for key, seconds in stored.items():
            if self.has_coverage and rows[key][self.coverage_index] > seconds:
                imported += 1
            else:
                duplicate += 1
        return imported, duplicate + batch.duplicates

    # --- values -----------------------------------------------------------------------
    def _converter(self, column_type):
        if isinstance(column_type, Money):
            return lambda value: None if value is None else usd_to_nanos(value)
        if isinstance(column_type, UTCDateTime):
            return self._utc_sqlite if self.dialect == "sqlite" else self._utc_postgresql
        if isinstance(column_type, sa.JSON):
            if self.dialect == "sqlite":
                return lambda value: None if value is None else json.dumps(value)
            from psycopg.types.json import Json

            return lambda value: None if value is None else Json(value)
        return None

    @staticmethod
    @functools.lru_cache(maxsize=8192)  # rows of one bucket share their start time
    def _utc_sqlite(value: datetime | None) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; attach a time zone (UTC)")
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")

    @staticmethod
    def _utc_postgresql(value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; attach a time zone (UTC)")
        return value

    # --- SQL --------------------------------------------------------------------------
    def _update_clause(self) -> str:
        assignments = ", ".join(
            f"{_quote(name)} = excluded.{_quote(name)}" for name in self.columns if name not in ("source", "natural_key")
        )
        clause = f"ON CONFLICT (source, natural_key) DO UPDATE SET {assignments}"
        if self.has_coverage:
            clause += f" WHERE {_quote(self.table.name)}.bucket_seconds <= excluded.bucket_seconds"
        return clause

    def _sqlite_insert(self) -> str:
        names = ", ".join(_quote(name) for name in self.columns)
        marks = ", ".join("?" for _ in self.columns)
        return f"INSERT INTO {_quote(self.table.name)} ({names}) VALUES ({marks})"

    def _sqlite_upsert(self) -> str:
        return f"{self._sqlite_insert()} {self._update_clause()}"

    # --- which keys are stored -------------------------------------------------------
    def _keys_that_may_be_stored(self, cursor, batch: Batch) -> list[tuple[str, str]]:
        """Return the keys of the batch that the table may already hold; the others are new for certain.

        A stored row with the same key starts at or after the row's `Record.key_time`. A row
        is therefore new for certain when its key time is after every row of its source stored
        before this import and after every row this import wrote (the frontier). A key time
        equal to the frontier's also qualifies when the key was not written at that time.
        Exports list buckets in time order, so importing into an empty store, or appending a
        newer export, looks up no keys.
        """
        if self.time_index < 0:
            return list(batch.rows)
        candidates = []
        for key in batch.rows:
            source, natural_key = key
            when = batch.key_times.get(key)
            if source not in self.stored_until:
                self.stored_until[source] = self._latest_stored(cursor, source)
            latest = self.stored_until[source]
            frontier = self.frontier.get(source)
            stored_before = when is None or (latest is not None and when <= latest)
            if stored_before or (frontier is not None and frontier.may_have_written(when, natural_key)):
                candidates.append(key)
        return candidates

    def _latest_stored(self, cursor, source: str) -> Any:
        """Return the latest start time of the source's stored rows, in the form rows carry it.

        The first query probes the unique (source, natural_key) index. The second walks the
        start_time index from the newest row, so it stops at the source's latest row instead
        of reading every row of the source. The query names that index for SQLite (INDEXED BY),
        because its planner would otherwise pick the source index and read them all.
        """
        mark = "?" if self.dialect == "sqlite" else "%s"
        table = _quote(self.table.name)
        cursor.execute(f"SELECT 1 FROM {table} WHERE source = {mark} LIMIT 1", (source,))
        if cursor.fetchone() is None:
            return None
        index = f"ix_{self.table.name}_start_time"
        hint = f" INDEXED BY {_quote(index)}" if self.dialect == "sqlite" and index in {i.name for i in self.table.indexes} else ""
        cursor.execute(
            f"SELECT start_time FROM {table}{hint} WHERE source = {mark} ORDER BY start_time DESC LIMIT 1", (source,)
        )
        return cursor.fetchone()[0]

    def _advance_frontier(self, rows: dict[tuple[str, str], list[Any]]) -> None:
        """Record the latest start time written per source and the keys written at it, and
        the first and last start time of the batch in `last_span`."""
        self.last_span = None
        if self.time_index < 0:
            return
        first = last = None
        for (source, natural_key), row in rows.items():
            when = row[self.time_index]
            if when is None:
                continue
            if first is None or when < first:
                first = when
            if last is None or when > last:
                last = when
            frontier = self.frontier.get(source)
            if frontier is None or when > frontier.time:
                self.frontier[source] = _Frontier(when, {natural_key})
            elif when == frontier.time and frontier.keys is not None:
                frontier.keys.add(natural_key)
                if len(frontier.keys) > _FRONTIER_KEYS:
                    frontier.keys = None  # memory stays flat, and rows at this time are looked up
        if first is not None:
            self.last_span = (self._from_stored(first), self._from_stored(last))

    def _from_stored(self, value: Any) -> datetime:
        """Turn a start time in its stored form (naive ISO text on SQLite) back into a UTC datetime."""
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
        return value

    def _stored(self, cursor, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Look up which of `keys` are stored; return their stored bucket_seconds (0 without buckets)."""
        if self.dialect == "sqlite":
            return self._stored_sqlite(cursor, keys)
        self._analyze_postgresql(cursor)
        return self._stored_postgresql(cursor, keys)

    def _stored_sqlite(self, cursor, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        coverage = "bucket_seconds" if self.has_coverage else "0"
        by_source: dict[str, list[str]] = {}
        for source, natural_key in keys:
            by_source.setdefault(source, []).append(natural_key)
        stored: dict[tuple[str, str], int] = {}
        for source, keys in by_source.items():
            for start in range(0, len(keys), _LOOKUP_CHUNK):
                chunk = keys[start : start + _LOOKUP_CHUNK]
                marks = ", ".join("?" for _ in chunk)
                cursor.execute(
                    f"SELECT natural_key, {coverage} FROM {_quote(self.table.name)} "
                    f"WHERE source = ? AND natural_key IN ({marks})",
                    [source, *chunk],
                )
                for natural_key, seconds in cursor.fetchall():
                    stored[(source, natural_key)] = seconds
        return stored

    def _lock_postgresql(self, cursor) -> None:
        """Wait for any other import to commit, once per writer.

        Keys found missing by `_stored_postgresql` are then still missing when `_copy`
        writes them, so the plain COPY cannot hit another import's row. The lock is one
        key for all imports, so imports writing several tables cannot deadlock.
        NOTE: a writer other than the importer that inserts usage rows during an import can
        still make COPY fail with a unique violation, and the import then rolls back.
        """
        if not self.locked:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_IMPORT_LOCK,))
            self.locked = True

    def _analyze_postgresql(self, cursor) -> None:
        """ANALYZE the table before a key lookup once this import has doubled the rows it wrote (from 10,000).

        Autovacuum cannot see rows of an open transaction, so without this the planner keeps
        the statistics of the table before the import. For a table that was empty it then
        expects a few rows, and the key lookup of each batch scans every row of the source
        instead of probing the unique index. ANALYZE inside the transaction counts its rows.
        """
        if self.written >= self.analyze_at:
            cursor.execute(f"ANALYZE {_quote(self.table.name)}")
            self.analyze_at = 2 * self.written

    def _copy_text(self, rows: Iterable[list[Any]]) -> bytes:
        """Format rows as COPY text with psycopg's own adapters, without sending them.

        `take` runs this on the parser's thread, so the thread that writes batches sends
        each batch in one call instead of taking the GIL from the parser for every row.
        """
        if self.format_cursor is None:
            self.format_cursor = self.connection.connection.driver_connection.cursor()
        buffer = io.BytesIO()
        with psycopg.Copy(self.format_cursor, writer=FileWriter(buffer)) as copy:
            for row in rows:
                copy.write_row(row)
        return buffer.getvalue()

    def _copy_formatted(self, cursor, data: bytes) -> None:
        names = ", ".join(_quote(name) for name in self.columns)
        with cursor.copy(f"COPY {_quote(self.table.name)} ({names}) FROM STDIN") as copy:
            copy.write(data)

    def _copy(self, cursor, table: str, rows: list[list[Any]]) -> None:
        names = ", ".join(_quote(name) for name in self.columns)
        with cursor.copy(f"COPY {_quote(table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _upsert_postgresql(self, cursor, rows: list[list[Any]]) -> None:
        """Upsert `rows` through a temporary table: COPY into it, then one INSERT … SELECT."""
        if self.staging is None:
            self.staging = f"import_staging_{self.table.name}"
            names = ", ".join(_quote(name) for name in self.columns)
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {_quote(self.staging)} ON COMMIT DROP AS "
                f"SELECT {names} FROM {_quote(self.table.name)} WITH NO DATA"
            )
        self._copy(cursor, self.staging, rows)
        cursor.execute(self._postgresql_upsert())
        cursor.execute(f"TRUNCATE {_quote(self.staging)}")

    def _stored_postgresql(self, cursor, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        # Looked up by key (an index scan) rather than joined with a staging table. The keys
        # go as one JSON text, which json.dumps writes in C: psycopg's dumper of a Python
        # list of strings took about a tenth of an import's time.
        coverage = "bucket_seconds" if self.has_coverage else "0"
        by_source: dict[str, list[str]] = {}
        for source, natural_key in keys:
            by_source.setdefault(source, []).append(natural_key)
        stored: dict[tuple[str, str], int] = {}
        for source, keys in by_source.items():
            cursor.execute(
                f"SELECT natural_key, {coverage} FROM {_quote(self.table.name)} "
                "WHERE source = %s AND natural_key = ANY(ARRAY(SELECT json_array_elements_text(%s::json)))",
                (source, json.dumps(keys)),
            )
            for natural_key, seconds in cursor.fetchall():
                stored[(source, natural_key)] = seconds
        return stored

    def _postgresql_upsert(self) -> str:
        names = ", ".join(_quote(name) for name in self.columns)
        return (
            f"INSERT INTO {_quote(self.table.name)} ({names}) SELECT {names} FROM {_quote(self.staging)} "
            f"{self._update_clause()}"
        )


def _defaults(model: type[SQLModel], columns: list[str]) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for name in columns:
        field = model.model_fields.get(name)
        default = None if field is None else field.get_default(call_default_factory=True)
        defaults[name] = None if default is ... else default
    return defaults
