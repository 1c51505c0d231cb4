"""Import one file: detect its format, stream its records into the database, count them.

An import is one transaction. By default any bad row fails the whole file and nothing is
written (the errors are raised as `ImportFailed`). With `skip_bad_rows` the good rows are
imported and each bad row is written, with its reason, to `<input>.rejects.csv`.

Rows are upserted on (source, natural_key), so importing a file twice or two exports that
overlap in time count each usage once. For tables with time buckets, a stored row is
replaced only by a row covering at least as much of its bucket (`bucket_seconds` >= the
stored one). Usage exports start their first bucket at the query's start time and end their
last at the moment of the query. So an export taken later, or over a longer period, contains
the full bucket where an earlier one had a partial one. The full bucket wins whichever file
is imported first, and the partial one never adds to it. Parsers key such buckets by their
aligned start (see `bot.ingest.reading.aligned_bucket`) and the writer applies the rule
(`bot.ingest.writer`). Exports of one usage at another bucket width or grouping have other
keys; `bot.ingest.overlap` finds them after the rows are written.
"""

from __future__ import annotations

import codecs
import csv
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from bot.clock import Clock, SystemClock
from bot.ingest.base import ImportFailed, ParseContext, Record, RowError
from bot.ingest.detect import SNIFF_BYTES, choose_format
from bot.ingest.jsonstream import JsonSyntaxError
from bot.ingest.overlap import DEFAULT_POLICY, resolve_overlaps
from bot.ingest.writer import Batch, TableWriter
from bot.models.usage import ImportRun
from bot.queries.rollups import build_rollup_days, prepare_for_import, refresh_rollups_for_import

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 2000
DEFAULT_MAX_ERRORS = 20
REJECTS_SUFFIX = ".rejects.csv"
IMPORT_SWITCH_INTERVAL = 0.0002  # seconds; see _short_gil_turns
# Whole days an import waits for before it builds their rollups (see _RollupDays).
# Fewer builds cost less in all, and more days are left for the refresh at the end.
_BUILD_EVERY = timedelta(days=7)

ProgressCallback = Callable[[int, int], None]  # (bytes read, rows read)


@dataclass
class ImportSummary:
    """The outcome of one file's import, as stored in its ImportRun row.

    `rows_read` and `rows_rejected` count source rows. `rows_imported` and `rows_duplicate`
    count stored records, and one source row may give two: an Anthropic usage row with web
    searches gives an LLM row and a tool row.
    """

    path: str
    format: str
    import_id: int
    rows_read: int = 0
    rows_imported: int = 0
    rows_duplicate: int = 0
    rows_rejected: int = 0
    rejects_path: Path | None = None
    warnings: list[str] = field(default_factory=list)  # assumptions the parser made, from ParseContext
    notes: list[str] = field(default_factory=list)  # what the overlap policy did with stored rows

    def line(self) -> str:
        text = (
            f"{self.path}: {self.format}: read {self.rows_read} {'row' if self.rows_read == 1 else 'rows'}, "
            f"imported {self.rows_imported}, "
            f"duplicate {self.rows_duplicate}, rejected {self.rows_rejected}"
        )
        if self.rows_imported + self.rows_duplicate > self.rows_read - self.rows_rejected:
            text += " (some rows gave two records, such as an LLM row and a web search tool row)"
        if self.rejects_path is not None:
            text += f" (rejected rows in {self.rejects_path})"
        for note in self.notes:
            text += f"; {note}"
        return text


def import_file(
    path: Path,
    *,
    engine: Engine,
    format_name: str | None = None,
    skip_bad_rows: bool = False,
    mapping: Any = None,
    pricer: Any = None,
    clock: Clock | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_errors: int = DEFAULT_MAX_ERRORS,
    on_progress: ProgressCallback | None = None,
    options: dict[str, Any] | None = None,
    overlap: str = DEFAULT_POLICY,
) -> ImportSummary:
    """Import `path` in one transaction and return its counts; raise `ImportFailed` on bad input.

    `overlap` chooses what happens to stored usage of the same source at another bucket width
    or grouping in the file's time: fail, replace, keep or add (see `bot.ingest.overlap`).
    """
    clock = clock or SystemClock()
    head = _read_head(path)
    fmt = choose_format(path, head, format_name)
    context = ParseContext(path=path, mapping=mapping, prices=pricer, options=dict(options or {}))
    logger.info("import started path=%s format=%s", path, fmt.name)

    with _short_gil_turns(), engine.connect() as connection, connection.begin() as transaction:
        import_id = _start_run(connection, path, fmt.name, clock)
        summary = ImportSummary(path=str(path), format=fmt.name, import_id=import_id, warnings=context.warnings)
        writers: dict[type[SQLModel], TableWriter] = {}
        days = _RollupDays(connection) if prepare_for_import(connection) else None
        background = _BackgroundWrites(summary, days)
        errors: list[RowError] = []
        rejects = _RejectsFile(path) if skip_bad_rows else None
        fatal = False
        last_raw: Any = None
        try:
            for item in _parse(fmt.parse, context):
                if isinstance(item, RowError):
                    summary.rows_read += 1
                    if rejects is not None:
                        rejects.write(item)
                        summary.rows_rejected += 1
                        continue
                    errors.extend(item.each()[: max_errors - len(errors)])
                    if len(errors) >= max_errors:
                        break
                    continue
                if item.raw is None or item.raw is not last_raw:
                    summary.rows_read += 1  # one source row may give several records
                last_raw = item.raw
                if errors:
                    continue  # the file has failed; keep reading only to list more errors
                writer = writers.get(item.table)
                if writer is None:
                    writer = writers[item.table] = TableWriter(connection, item.table, import_id)
                if writer.add(item, batch_size):
                    background.write(writer)
                    if on_progress is not None:
                        on_progress(context.bytes_read(), summary.rows_read)
        except ImportFailed as exc:
            errors.extend(exc.errors)
            fatal = True
        finally:
            background.close()
        if errors:
            transaction.rollback()
            if rejects is not None:
                rejects.discard()
            if len(errors) >= max_errors and not fatal:
                errors.append(RowError(str(path), None, "errors", len(errors), f"stopped after {max_errors} errors"))
            logger.info("import failed path=%s format=%s errors=%d", path, fmt.name, len(errors))
            raise ImportFailed(errors, skippable=not fatal)
        for writer in writers.values():
            _flush(writer, summary)
            if days is not None:
                days.written(writer)
        try:
            stored_max_ids = {
                writer.table.name: writer.stored_max_id for writer in writers.values() if writer.stored_max_id is not None
            }
            resolved = resolve_overlaps(connection, import_id, str(path), context.series.seen(), overlap, stored_max_ids)
        except ImportFailed as exc:
            if rejects is not None:
                rejects.discard()  # the transaction rolls back, so no row was rejected either
            logger.info("import failed path=%s format=%s overlaps=%d", path, fmt.name, len(exc.errors))
            raise
        summary.rows_imported -= resolved.removed_new
        summary.rows_duplicate += resolved.removed_new  # the usage is stored under another series
        summary.notes.extend(resolved.notes)
        if rejects is not None:
            summary.rejects_path = rejects.finish()
        _finish_run(connection, summary, clock)
        # Same transaction, so the rollups match the rows, those the overlap policy removed included.
        refresh_rollups_for_import(connection, import_id, built=days.built() if days is not None else None,
                                   changed=resolved.refresh)
    if on_progress is not None:
        on_progress(path.stat().st_size, summary.rows_read)  # the parser has closed the file
    logger.info(
        "import done id=%d path=%s format=%s read=%d imported=%d duplicate=%d rejected=%d",
        import_id, path, fmt.name, summary.rows_read, summary.rows_imported,
        summary.rows_duplicate, summary.rows_rejected,
    )  # fmt: skip
    return summary


def _flush(writer: TableWriter, summary: ImportSummary) -> None:
    imported, duplicate = writer.flush()
    summary.rows_imported += imported
    summary.rows_duplicate += duplicate


@contextmanager
def _short_gil_turns() -> Iterator[None]:
    """Let the writing thread take the GIL sooner while an import runs.

    The parser's thread holds the GIL for Python's switch interval (5 ms) before another
    thread may run. The writing thread needs the GIL each time the server has taken a chunk of
    a COPY, so with the default it left PostgreSQL idle for much of each batch. A 0.2 ms
    interval cut 200,000-row PostgreSQL imports on 2 cores from 6.6 to 5.2 s and from 5.9 to
    4.9 s (docs/benchmarks.md). The interval is process-wide, so it is restored when the
    import ends.
    """
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, IMPORT_SWITCH_INTERVAL))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


class _BackgroundWrites:
    """Writes full batches on a second thread while the parser fills the next batch.

    The database works on one batch while Python parses the next, which matters most on
    PostgreSQL, where the server runs in its own process. One batch at most is in flight, so
    memory keeps at most two batches and each batch's key lookup sees every row written before it.
    The connection is used by one thread at a time: the parser's thread only touches it
    after `close`, which waits for the batch in flight.
    """

    def __init__(self, summary: ImportSummary, days: _RollupDays | None = None) -> None:
        self.summary = summary
        self.days = days
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="costbot-import-write")
        self.in_flight: Future | None = None

    def write(self, writer: TableWriter) -> None:
        """Take the writer's full batch and write it once the batch in flight is written."""
        batch = writer.take()
        self.wait()
        if batch is not None:
            self.in_flight = self.executor.submit(self._write, writer, batch)

    def _write(self, writer: TableWriter, batch: Batch) -> tuple[int, int]:
        counts = writer.write(batch)
        if self.days is not None:
            self.days.written(writer)
        return counts

    def wait(self) -> None:
        """Wait for the batch in flight and add its counts; re-raise the error it failed with."""
        if self.in_flight is None:
            return
        future, self.in_flight = self.in_flight, None
        imported, duplicate = future.result()
        self.summary.rows_imported += imported
        self.summary.rows_duplicate += duplicate

    def close(self) -> None:
        """Wait for the batch in flight, then stop the thread."""
        try:
            self.wait()
        finally:
            self.executor.shutdown(wait=True)


@dataclass
class _TableDays:
    """The start times one import wrote to one table so far, and the whole UTC days
    [built_from, built_until) whose rollups are built."""

    first: datetime
    last: datetime
    built_from: datetime | None = None
    built_until: datetime | None = None
    in_order: bool = True


class _RollupDays:
    """The rollup builds of the UTC days an import has finished writing, run on the writing thread.

    Usage exports usually list their rows in time order, so once a batch starts on a later
    UTC day, the days before it are complete. Their rollups are built while the parser reads
    on, and the refresh at the end builds only the rest. A batch that reaches back into a
    built day marks its table out of order, and the refresh at the end rebuilds all its days.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.tables: dict[str, _TableDays] = {}

    def written(self, writer: TableWriter) -> None:
        """Note the batch `writer` has just written, and build the days before it if they are new."""
        if writer.last_span is None:
            return
        first, last = writer.last_span
        name = writer.table.name
        days = self.tables.get(name)
        if days is None:
            days = self.tables[name] = _TableDays(first, last)
        days.first, days.last = min(days.first, first), max(days.last, last)
        if days.built_until is not None and first < days.built_until:
            days.in_order = False
        if not days.in_order:
            return
        start = days.built_until or _midnight(days.first)
        ready = _midnight(first)
        if ready - start >= _BUILD_EVERY:
            build_rollup_days(self.connection, start, ready, [name])
            days.built_from = days.built_from or start
            days.built_until = ready

    def built(self) -> dict[str, tuple[datetime, datetime]]:
        """Return the built days per table, for `refresh_rollups_for_import`."""
        return {
            name: (days.built_from, days.built_until)
            for name, days in self.tables.items()
            if days.in_order and days.built_from is not None and days.built_until is not None
        }


def _midnight(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def _read_head(path: Path) -> bytes:
    """Read the first bytes of `path` and reject missing, empty and non-UTF-8 files."""
    where = str(path)
    if not path.is_file():
        raise ImportFailed([RowError(where, None, "file", where, "not found or not a regular file; check the path")])
    with open(path, "rb") as stream:
        head = stream.read(SNIFF_BYTES)
    if not head.lstrip(codecs.BOM_UTF8).strip():
        raise ImportFailed([RowError(where, 1, "file", "", "the file is empty; export it again with data")])
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFailed(
            [RowError(where, 1, "encoding", head[:2], "the file is UTF-16; save it as UTF-8 and import it again")]
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=len(head) < SNIFF_BYTES)
    except UnicodeDecodeError as exc:
        raise ImportFailed([_encoding_error(where, head, exc.start)]) from None
    return head


def _encoding_error(where: str, data: bytes, offset: int) -> RowError:
    line = data.count(b"\n", 0, offset) + 1
    return RowError(
        where, line, "encoding", data[offset : offset + 1],
        "not valid UTF-8 (the file may be Latin-1 or Windows-1252); save it as UTF-8 and import it again",
    )  # fmt: skip


def _locate_bad_utf8(path: Path) -> RowError:
    """Find the first invalid UTF-8 byte of `path` (read in chunks) and name its line."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before = 0
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                error = _encoding_error(str(path), chunk, max(exc.start, 0))
                return RowError(error.path, error.line + lines_before, error.field, error.value, error.message)
            lines_before += chunk.count(b"\n")
    return RowError(str(path), None, "encoding", "", "not valid UTF-8; save the file as UTF-8 and import it again")


def _parse(parse: Callable[[ParseContext], Iterable[Record | RowError]], context: ParseContext):
    """Run a parser, turning the reading errors it does not handle into `ImportFailed`."""
    try:
        yield from parse(context)
    except UnicodeDecodeError:
        raise ImportFailed([_locate_bad_utf8(context.path)]) from None
    except JsonSyntaxError as exc:
        raise ImportFailed([RowError(str(context.path), exc.line, "json", exc.value, str(exc))]) from None
    except csv.Error as exc:
        raise ImportFailed([RowError(str(context.path), None, "csv", "", f"invalid CSV: {exc}")]) from None


def _start_run(connection: Connection, path: Path, format_name: str, clock: Clock) -> int:
    table = ImportRun.__table__
    result = connection.execute(
        sa.insert(table).values(started_at=clock.now(), path=str(path)[:1000], format=format_name, status="running")
    )
    return int(result.inserted_primary_key[0])


def _finish_run(connection: Connection, summary: ImportSummary, clock: Clock) -> None:
    table = ImportRun.__table__
    connection.execute(
        sa.update(table)
        .where(table.c.id == summary.import_id)
        .values(
            finished_at=clock.now(),
            rows_read=summary.rows_read,
            rows_imported=summary.rows_imported,
            rows_duplicate=summary.rows_duplicate,
            rows_rejected=summary.rows_rejected,
            status="done",
        )
    )


class _RejectsFile:
    """`<input>.rejects.csv`: one line per rejected row with its line, field, value and reason.

    A row with several bad fields still gets one line: its field, value and error cells list
    each bad field's part in the same order, joined by " | ".
    Written to a temporary name and renamed when the import commits, so a failed import
    leaves no rejects file behind.
    """

    SEPARATOR = " | "

    HEADER = ("line", "field", "value", "error", "row")

    def __init__(self, input_path: Path) -> None:
        self.path = input_path.with_name(input_path.name + REJECTS_SUFFIX)
        self.temporary = self.path.with_name(self.path.name + ".part")
        self.stream = None
        self.writer = None
        self.count = 0

    def write(self, error: RowError) -> None:
        if self.writer is None:
            try:
                self.stream = open(self.temporary, "w", encoding="utf-8", newline="")  # noqa: SIM115
            except OSError as exc:
                raise ImportFailed(
                    [RowError(str(self.path), None, "rejects", str(self.path), f"cannot write the rejects file: {exc.strerror}; copy the input to a writable folder")]
                ) from None
            self.writer = csv.writer(self.stream)
            self.writer.writerow(self.HEADER)
        raw = error.raw if isinstance(error.raw, str) or error.raw is None else json.dumps(error.raw, default=str)
        errors = error.each()
        fields = self.SEPARATOR.join(each.field for each in errors)
        values = self.SEPARATOR.join(_cell_text(each.value) for each in errors)
        messages = self.SEPARATOR.join(each.message for each in errors)
        self.writer.writerow((error.line if error.line is not None else "", fields, values, messages, raw or ""))
        self.count += 1

    def finish(self) -> Path | None:
        if self.stream is None:
            return None
        self.stream.close()
        os.replace(self.temporary, self.path)
        return self.path

    def discard(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.temporary.unlink(missing_ok=True)


def _cell_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)
