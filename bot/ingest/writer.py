"""Batched upserts of imported records, with the fast bulk path of each database.

Rows are written through the DBAPI connection of the loader's transaction, because
SQLAlchemy's per-row parameter processing costs more than the insert itself at a million
rows. Each batch first looks up which of its keys are stored. Rows with new keys take the
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
import json
import operator
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from bot.ingest.base import Record
from bot.types import Money, UTCDateTime, usd_to_nanos

# Keys per `IN (…)` lookup on SQLite, below its limit on bound parameters.
_LOOKUP_CHUNK = 500
# Rows an import writes to a PostgreSQL table before its first ANALYZE of it.
_FIRST_ANALYZE = 10_000
# Key of the PostgreSQL advisory lock that imports hold until they commit.
_IMPORT_LOCK = 0x636F_7374_626F_74  # "costbot" in ASCII


def _quote(name: str) -> str:
    return f'"{name}"'


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
        self.locked = False
        self.written = 0  # rows this writer has sent to PostgreSQL
        self.analyze_at = _FIRST_ANALYZE

    def add(self, record: Record, batch_size: int) -> bool:
        """Buffer a record; return True when the batch is full and should be flushed."""
        values = record.values
        row = list(self.select_columns({**self.defaults, **values, "import_id": self.import_id}))
        for index, convert in self.converters:
            row[index] = convert(row[index])
        key = (values["source"], values["natural_key"])
        earlier = self.pending.get(key)
        if earlier is not None:
            self.duplicates_in_batch += 1
            if self.has_coverage and earlier[self.coverage_index] > row[self.coverage_index]:
                return False  # the buffered row covers more of the bucket
        self.pending[key] = row
        return len(self.pending) >= batch_size

    def flush(self) -> tuple[int, int]:
        """Write the buffered rows; return (imported, duplicate) counts.

        Imported rows are new keys or replace a stored partial bucket. Duplicates are keys
        repeated in the batch or already stored with as much coverage; with equal coverage
        the stored row takes the new values.
        """
        if not self.pending:
            return 0, 0
        cursor = self.connection.connection.cursor()
        try:
            if self.dialect == "sqlite":
                stored = self._stored_sqlite(cursor)
            else:
                self._lock_postgresql(cursor)
                stored = self._stored_postgresql(cursor)
            # Rows with a new key take the plain bulk insert, and rows whose key is stored go
            # through the upsert, which applies the replacement rule. A key missing at the
            # lookup is still missing at the insert: SQLite allows one writer at a time (this
            # transaction holds the lock since its ImportRun insert), and PostgreSQL imports
            # wait for each other in `_lock_postgresql`.
            new = [row for key, row in self.pending.items() if key not in stored]
            replacing = [row for key, row in self.pending.items() if key in stored] if stored else []
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
                self._analyze_postgresql(cursor)
        finally:
            cursor.close()
        imported = len(self.pending) - len(stored)
        duplicate = 0
        for key, seconds in stored.items():
            if self.has_coverage and self.pending[key][self.coverage_index] > seconds:
                imported += 1
            else:
                duplicate += 1
        duplicate += self.duplicates_in_batch
        self.pending.clear()
        self.duplicates_in_batch = 0
        return imported, duplicate

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

    def _stored_sqlite(self, cursor) -> dict[tuple[str, str], int]:
        coverage = "bucket_seconds" if self.has_coverage else "0"
        by_source: dict[str, list[str]] = {}
        for source, natural_key in self.pending:
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
        """ANALYZE the table each time this import has doubled the rows it wrote (from 10,000).

        Autovacuum cannot see rows of an open transaction, so without this the planner keeps
        the statistics of the table before the import. For a table that was empty it then
        expects a few rows, and the key lookup of each batch scans every row of the source
        instead of probing the unique index. ANALYZE inside the transaction counts its rows.
        """
        self.written += len(self.pending)
        if self.written >= self.analyze_at:
            cursor.execute(f"ANALYZE {_quote(self.table.name)}")
            self.analyze_at = 2 * self.written

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

    def _stored_postgresql(self, cursor) -> dict[tuple[str, str], int]:
        # Looked up by key (an index scan) rather than joined with a staging table.
        coverage = "bucket_seconds" if self.has_coverage else "0"
        by_source: dict[str, list[str]] = {}
        for source, natural_key in self.pending:
            by_source.setdefault(source, []).append(natural_key)
        stored: dict[tuple[str, str], int] = {}
        for source, keys in by_source.items():
            cursor.execute(
                f"SELECT natural_key, {coverage} FROM {_quote(self.table.name)} "
                "WHERE source = %s AND natural_key = ANY(%s)",
                (source, keys),
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
