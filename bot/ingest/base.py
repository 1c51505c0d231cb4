"""What every importer shares: the parsed record, the error text and the format registry.

A format module parses one file into `Record`s (one usage row each) and `RowError`s, as a
stream, and registers itself with `@register`. The loader in `bot.ingest.loader` decides
what to do with them: write the records in batches, and either reject the whole file on
the first error or set the bad rows aside with `--skip-bad-rows`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlmodel import SQLModel

if TYPE_CHECKING:
    from bot.ingest.fields import RequiredFields


@dataclass(frozen=True)
class RowError:
    """One bad value in an input file, located by line (1-based) and field."""

    path: str
    line: int | None
    field: str
    value: Any
    message: str
    raw: Any = field(default=None, compare=False)  # the source row, written to the rejects file
    # The other bad fields of the same row, so that one run reports all of them.
    also: tuple[RowError, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.field}: {self.value!r}: {self.message}"

    def each(self) -> tuple[RowError, ...]:
        """Return this error and the other bad fields of its row, one error per field."""
        return (self, *self.also)

    @classmethod
    def of_row(cls, errors: list[RowError]) -> RowError:
        """Combine the errors of one row into one RowError that keeps the rest in `also`."""
        first, *rest = errors
        return cls(first.path, first.line, first.field, first.value, first.message, raw=first.raw, also=tuple(rest))


class ImportFailed(Exception):
    """Raised when a file cannot be imported; `errors` holds what was wrong."""

    def __init__(self, errors: list[RowError], *, skippable: bool = False) -> None:
        self.errors = errors
        self.skippable = skippable  # True when only rows were bad, so --skip-bad-rows would help
        super().__init__("\n".join(str(error) for error in errors))


@dataclass
class Record:
    """A usage row ready to store: the table, its column values, and where it came from."""

    table: type[SQLModel]
    values: dict[str, Any]
    line: int | None = None
    raw: Any = None  # the source row, written to the rejects file if a later check fails
    # The earliest start_time a row with this natural key can have, for parsers whose keys
    # name the row's start or aligned bucket. The writer skips looking up keys that start
    # after every stored row of the source; None means always look the key up.
    key_time: datetime | None = None


@dataclass(frozen=True)
class SeriesSeen:
    """One series an export holds: the rows of one table, source and scope (the operation of
    LLM rows, the tool of tool rows) at one bucket width, grouped by the same fields. It spans
    one range of time that its buckets cover without a gap. `bot.ingest.overlap` compares it
    with the series stored before."""

    table: str
    source: str
    scope: str
    width: int
    fields: tuple[str, ...]
    start: datetime
    end: datetime


class SeriesTracker:
    """Collector of what a parser of bucketed exports reads: the file's bucket width, the time
    its buckets cover, and the group-by fields that have a value in the rows of each series.

    The time is kept as runs of adjacent buckets, so a file that joins two exports with a gap
    between them, or whose rejected bucket leaves a gap, does not cover the gap.
    """

    def __init__(self) -> None:
        self.width: int | None = None
        self._runs: list[list[datetime]] = []  # [start, end] of adjacent buckets, in the order read
        self._fields: dict[tuple[str, str, str], set[str]] = {}

    def bucket(self, start: datetime, end: datetime, width: int) -> None:
        """Note one bucket of the file, empty or not: the export covers its time."""
        self.width = width
        last = self._runs[-1] if self._runs else None
        if last is not None and start <= last[1] and end >= last[0]:
            last[0] = min(last[0], start)
            last[1] = max(last[1], end)
        else:
            self._runs.append([start, end])

    def fields(self, table: str, source: str, scope: str) -> set[str]:
        """Return the set to which the parser adds the group-by fields a row of this series has."""
        key = (table, source, scope)
        found = self._fields.get(key)
        if found is None:
            found = self._fields[key] = set()
        return found

    def covered(self) -> list[tuple[datetime, datetime]]:
        """Return the time the buckets cover as sorted, disjoint [start, end) ranges."""
        merged: list[tuple[datetime, datetime]] = []
        for start, end in sorted(self._runs):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    def seen(self) -> list[SeriesSeen]:
        """Return one SeriesSeen per series and range of covered time."""
        if self.width is None:
            return []
        ranges = self.covered()
        return [
            SeriesSeen(table, source, scope, self.width, tuple(sorted(fields)), start, end)
            for (table, source, scope), fields in sorted(self._fields.items())
            for start, end in ranges
        ]


@dataclass
class ParseContext:
    """What a parser may need besides the file: the mapping of source ids to owners, prices."""

    path: Path
    mapping: Any = None
    prices: Any = None
    options: dict[str, Any] = field(default_factory=dict)
    _binary: IO[bytes] | None = field(default=None, init=False, repr=False)

    def open_text(self, newline: str | None = None) -> IO[str]:
        """Open the input as UTF-8 text (a leading byte-order mark is dropped).

        The loader reads the byte position of this stream to draw its progress bar, and turns a
        `UnicodeDecodeError` raised while reading into a `FILE:LINE` error.
        Pass `newline=""` for the csv module.
        """
        self._binary = open(self.path, "rb")  # noqa: SIM115 (closed by the returned wrapper)
        return io.TextIOWrapper(self._binary, encoding="utf-8-sig", errors="strict", newline=newline)

    def bytes_read(self) -> int:
        """Return how far `open_text`'s stream has read into the file, in bytes (0 if not opened)."""
        if self._binary is None or self._binary.closed:
            return 0
        return self._binary.tell()
    # Assumptions a parser made about the whole file (a default time zone, a host taken from
    # the file name), shown in the import summary.
    warnings: list[str] = field(default_factory=list)
    # Filled by parsers of bucketed provider exports (OpenAI, Anthropic); see bot.ingest.overlap.
    series: SeriesTracker = field(default_factory=SeriesTracker)


Parser = Callable[[ParseContext], Iterator[Record | RowError]]
Sniffer = Callable[[bytes, Path], bool]


@dataclass(frozen=True)
class Format:
    """An import format: its `--format` name, a one-line description, a content sniffer and a parser.

    `label` names the format in messages ("outcomes CSV"). `fields` lists the columns or keys
    it needs. When no sniffer accepts a file, detection uses them to name the closest format.
    """

    name: str
    description: str
    sniff: Sniffer
    parse: Parser
    label: str
    fields: RequiredFields | None = None


FORMATS: dict[str, Format] = {}


def register(
    name: str, description: str, sniff: Sniffer, *, label: str | None = None, fields: RequiredFields | None = None
) -> Callable[[Parser], Parser]:
    """Register the decorated parser as format `name`."""

    def decorator(parse: Parser) -> Parser:
        if name in FORMATS:
            raise ValueError(f"import format {name!r} is registered twice")
        FORMATS[name] = Format(
            name=name, description=description, sniff=sniff, parse=parse, label=label or name, fields=fields
        )
        return parse

    return decorator
