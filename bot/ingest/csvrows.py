"""Reading CSV exports row by row and parsing their values, shared by the CSV import formats.

`read_rows` streams a file: it accepts a UTF-8 byte-order mark at the start, CRLF or LF line
endings and spaces after the commas, and turns the literal `null` and empty cells into None.
Anything else that is wrong (another encoding, a byte-order mark in the middle of the file, a
wrong delimiter, a missing column, a short or long row) becomes a `RowError` naming the line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

from bot.ingest.base import ImportFailed, ParseContext, RowError
from bot.ingest.fields import RequiredFields, missing_column_errors

# Cells that mean "no value". FOCUS exports from several tools write the literal `null`.
NULL_STRINGS = frozenset({"", "null", "NULL", "Null"})

BOM = "\ufeff"
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, kept by surrogateescape
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$")
_OTHER_DELIMITERS = (";", "\t", "|")


class ValueProblem(ValueError):
    """Raised by the value parsers; the message states what is wrong and the expected form."""


@dataclass
class CsvRow:
    """One data row: its first line in the file, its cells by column (None when empty or `null`)."""

    line: int
    values: dict[str, str | None]
    raw: dict[str, str]

    def error(self, path: Path | str, column: str, message: str) -> RowError:
        return RowError(str(path), self.line, column, self.raw.get(column, ""), message, raw=self.raw)


def read_rows(
    context: ParseContext, *, required: Iterable[str], what: str, optional: Iterable[str] = ()
) -> Iterator[CsvRow | RowError]:
    """Yield the rows of the CSV file `context.path`, or RowErrors for rows that cannot be read.

    `required` lists the columns the header must contain and `optional` the other columns the
    format reads (never suggested as a misspelt required column); `what` names the format in messages.
    A problem with the header or the file as a whole raises ImportFailed, because no row of
    such a file can be trusted. A bad row is yielded as a RowError, and reading goes on.
    """
    path = context.path
    name = str(path)
    with open(path, "rb") as binary:
        start = binary.read(4)
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFailed([RowError(name, 1, "file", start[:2], "UTF-16 text; save the file as UTF-8")])

    # The context's stream lets the loader show progress. Undecodable bytes are kept as
    # surrogates so the error can name the column they are in.
    with context.open_text(newline="") as text:
        text.reconfigure(errors="surrogateescape")
        reader = csv.reader(text, skipinitialspace=True)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise ImportFailed([RowError(name, 1, "header", "", f"unreadable CSV header ({exc}); save the file as CSV")]) from None
        if header is None or not any(cell.strip() for cell in header):
            raise ImportFailed([RowError(name, 1, "file", "", f"empty file; expected a {what} header line")])

        fields = RequiredFields("column", tuple(required), frozenset(optional))
        header_errors = _check_header(name, header, fields, what)
        if header_errors:
            raise ImportFailed(header_errors)
        columns = [cell.strip() for cell in header]
        columns[0] = columns[0].removeprefix(BOM)

        line = reader.line_num
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportFailed(
                    [RowError(name, reader.line_num, "row", "", f"unreadable CSV ({exc}); fix or remove the line")]
                ) from None
            first_line, line = line + 1, reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # a blank line
            if len(cells) != len(columns):
                shown = ",".join(cells)
                yield RowError(
                    name, first_line, "row", shown[:200],
                    f"{len(cells)} values but the header has {len(columns)} columns; "
                    "check for a missing or extra comma or an unquoted value",
                    raw=shown,
                )
                continue
            raw = dict(zip(columns, cells))
            if not "".join(cells).isascii():
                problem = _undecodable_cell(name, first_line, raw)
                if problem is not None:
                    yield RowError(problem.path, problem.line, problem.field, problem.value, problem.message, raw=raw)
                    continue
            values: dict[str, str | None] = {}
            for column, cell in raw.items():
                cell = cell.strip()
                values[column] = None if cell in NULL_STRINGS else cell
            yield CsvRow(first_line, values, raw)


def _check_header(name: str, header: list[str], fields: RequiredFields, what: str) -> list[RowError]:
    joined = ",".join(header)
    if _UNDECODABLE.search(joined):
        return [RowError(name, 1, "header", joined[:200], "invalid UTF-8; save the file as UTF-8")]
    if len(header) == 1:
        for delimiter in _OTHER_DELIMITERS:
            if delimiter in header[0]:
                return [RowError(
                    name, 1, "header", header[0][:200],
                    f"columns are separated by {delimiter!r}, not commas; export the {what} as comma-separated CSV",
                )]
    columns = [cell.strip() for cell in header]
    columns[0] = columns[0].removeprefix(BOM)
    for column in columns:
        if BOM in column:
            return [RowError(name, 1, "header", column, "byte-order mark inside the header; remove it")]
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            return [RowError(name, 1, column, column, "duplicate column in the header; keep one")]
        seen.add(column)
    return missing_column_errors(name, columns, fields, what)


def _undecodable_cell(name: str, line: int, raw: dict[str, str]) -> RowError | None:
    for column, cell in raw.items():
        if cell.isascii():
            continue
        if _UNDECODABLE.search(cell):
            shown = cell.encode("utf-8", errors="surrogateescape")
            return RowError(name, line, column, shown, "invalid UTF-8; save the file as UTF-8")
        if BOM in cell:
            return RowError(
                name, line, column, cell,
                "byte-order mark inside the file (were two files joined?); remove it",
            )
    return None


def parse_decimal(text: str, *, allow_negative: bool = False) -> Decimal:
    """Parse a plain decimal number such as `12`, `0.75` or `-3.5E-4` exactly."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise ValueProblem("not a number; write digits with a dot for decimals, such as 12.50") from None
    if not number.is_finite():
        raise ValueProblem("not a finite number")
    if number < 0 and not allow_negative:
        raise ValueProblem("negative value; expected zero or more")
    return number


def parse_money(text: str, *, allow_negative: bool = False) -> Decimal:
    """Parse an amount exactly, accepting the spreadsheet form `$10,000.00 ` as well."""
    cleaned = text.strip()
    negative = cleaned.startswith("-")
    cleaned = cleaned.removeprefix("-").strip().removeprefix("$").strip()
    if "," in cleaned:
        if not re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", cleaned):
            raise ValueProblem("not an amount; write digits with a dot for decimals, such as 1234.50")
        cleaned = cleaned.replace(",", "")
    amount = parse_decimal(cleaned)
    if negative:
        if not allow_negative:
            raise ValueProblem("negative amount; expected zero or more")
        amount = -amount
    return amount


def parse_count(text: str) -> int:
    """Parse a whole number of zero or more (`12`, or `12.0` as spreadsheets write it)."""
    try:
        number = parse_decimal(text)
    except ValueProblem as problem:
        if str(problem).startswith("not a number"):
            raise ValueProblem(WHOLE_NUMBER_FIX) from None
        raise
    if number != number.to_integral_value():
        raise ValueProblem(WHOLE_NUMBER_FIX)
    return int(number)


WHOLE_NUMBER_FIX = "not a whole number; write digits only, such as 12"


def parse_utc_time(text: str, *, naive_is_utc: bool, date_only_ok: bool = True) -> tuple[datetime, bool]:
    """Parse an RFC 3339 / ISO 8601 time into aware UTC; return it and whether only a date was given.

    Dates may also be written `YYYY-MM-DD` or, as some FOCUS exports do, `M/D/YY` (US order);
    a date means midnight UTC. A time without a zone is UTC only when `naive_is_utc` is set.
    """
    value = text.strip()
    match = _US_DATE.match(value)
    if match:
        month, day, year = (int(part) for part in match.groups())
        if year < 100:
            year += 2000
        try:
            day_value = date(year, month, day)
        except ValueError as exc:
            raise ValueProblem(f"invalid date ({exc}); expected M/D/YY or YYYY-MM-DD") from None
        if not date_only_ok:
            raise ValueProblem("a date without a time; expected an RFC 3339 time such as 2026-11-19T14:00:00Z")
        return datetime.combine(day_value, time(), timezone.utc), True
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            day_value = date.fromisoformat(value)
        except ValueError as exc:
            raise ValueProblem(f"invalid date ({exc}); expected YYYY-MM-DD") from None
        if not date_only_ok:
            raise ValueProblem("a date without a time; expected an RFC 3339 time such as 2026-11-19T14:00:00Z")
        return datetime.combine(day_value, time(), timezone.utc), True
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        expected = "RFC 3339 such as 2026-11-19T14:00:00Z" + (" or a date YYYY-MM-DD" if date_only_ok else "")
        raise ValueProblem(f"unknown time format; expected {expected}") from None
    if moment.tzinfo is None:
        if not naive_is_utc:
            raise ValueProblem("time without a zone; add Z or an offset such as +01:00")
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc), False


def natural_key(*parts: object) -> str:
    """Join key parts with `|`, writing None as an empty part and times in ISO 8601 UTC."""
    rendered = []
    for part in parts:
        if part is None:
            rendered.append("")
        elif isinstance(part, datetime):
            rendered.append(part.astimezone(timezone.utc).replace(tzinfo=None).isoformat() + "Z")
        else:
            rendered.append(str(part).replace("|", "/"))
    return "|".join(rendered)


def sniff_header(head: bytes) -> list[str]:
    """Return the column names of the first line of `head`, stripped, without a byte-order mark."""
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    if first.startswith(b"\xef\xbb\xbf"):
        first = first[3:]
    try:
        line = first.decode("utf-8")
    except UnicodeDecodeError:
        return []
    try:
        return [cell.strip() for cell in next(csv.reader([line], skipinitialspace=True))]
    except (csv.Error, StopIteration):
        return []
