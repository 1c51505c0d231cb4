"""Helpers the format parsers share: strict value parsing and natural keys.

Each `parse_*` function raises `BadValue` with a message that states what is wrong and how
to fix it. A parser turns it into a `RowError` that carries the file, line and field.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

# Text that exports write for "no value". Required fields reject them; optional ones read None.
NULL_TEXTS = frozenset({"", "null", "NULL", "None", "none", "N/A", "[N/A]"})

# The bucket widths of the OpenAI and Anthropic usage APIs ("1m", "1h", "1d"), in seconds.
BUCKET_WIDTHS = (60, 3600, 86400)


class BadValue(ValueError):
    """Raised by a `parse_*` helper; the message states what is wrong with the value."""


# TODO: the LiteLLM, OpenAI, Anthropic and FOCUS parsers still report only the first bad field of a
# row. Collect every bad field of a row, as generic._Cells does for the outcomes and tools CSVs.
class FieldError(Exception):
    """A bad value in a named field of a JSON row, raised while building its record."""

    def __init__(self, field: str, value: Any, message: str) -> None:
        super().__init__(message)
        self.field, self.value, self.message = field, value, message


def get_field(row: dict, name: str, parse, **options):
    """Return `parse(row[name], **options)`; raise FieldError naming the field on a bad value."""
    try:
        return parse(row.get(name), **options)
    except BadValue as exc:
        raise FieldError(name, row.get(name), str(exc)) from None


def is_null(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in NULL_TEXTS)


def parse_count(value: Any, *, required: bool = True) -> int | None:
    """Parse a non-negative whole number (tokens, requests, calls) from JSON or CSV text."""
    if is_null(value):
        if required:
            raise BadValue("missing; expected a whole number >= 0")
        return None
    if isinstance(value, bool):
        raise BadValue("expected a whole number >= 0, not true/false")
    if isinstance(value, int):
        number = value
    elif isinstance(value, Decimal | float):
        if value != int(value):
            raise BadValue("expected a whole number >= 0, not a fraction")
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?\d+(\.0*)?", text):
            raise BadValue("not a number; expected a whole number >= 0")
        number = int(Decimal(text))
    else:
        raise BadValue(f"expected a whole number >= 0, not {type(value).__name__}")
    if number < 0:
        raise BadValue("negative; expected a whole number >= 0")
    return number


def parse_decimal(value: Any, *, required: bool = True, allow_negative: bool = False) -> Decimal | None:
    """Parse an exact decimal amount. JSON numbers must have been read with `parse_float=Decimal`."""
    if is_null(value):
        if required:
            raise BadValue("missing; expected a decimal number")
        return None
    if isinstance(value, float):  # a float here means a caller lost precision: fail loudly
        raise TypeError("amounts must be read as Decimal, never float")
    if isinstance(value, bool):
        raise BadValue("expected a decimal number, not true/false")
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise BadValue("not a number; expected a decimal number such as 0.0125") from None
    if not number.is_finite():
        raise BadValue("not a finite number")
    if number < 0 and not allow_negative:
        raise BadValue("negative; expected an amount >= 0")
    return number


_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S")


def parse_timestamp(value: Any, *, naive_is_utc: bool = False) -> datetime:
    """Parse a time as an aware UTC datetime.

    Accepts Unix seconds (a JSON number or digits) and RFC 3339 / ISO 8601 text with a zone
    ("Z" or "+02:00"). Text without a zone is accepted only with `naive_is_utc`, for sources
    that document their timestamps as UTC.
    """
    if is_null(value):
        raise BadValue("missing; expected a timestamp such as 2026-11-01T00:00:00Z")
    if isinstance(value, bool):
        raise BadValue("expected a timestamp, not true/false")
    if isinstance(value, int | Decimal) or (isinstance(value, str) and re.fullmatch(r"\d{9,11}", value.strip())):
        seconds = int(value)
        if not 0 < seconds < 4102444800:  # 2100-01-01
            raise BadValue("Unix time out of range; expected seconds since 1970")
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    if not isinstance(value, str):
        raise BadValue(f"expected a timestamp, not {type(value).__name__}")
    text = value.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        for pattern in _NAIVE_FORMATS:
            try:
                parsed = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if parsed is None or not re.match(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text):
        raise BadValue("unknown timestamp format; use RFC 3339, e.g. 2026-11-01T00:00:00Z")
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise BadValue("timestamp has no time zone; add Z or an offset such as +00:00")
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def parse_text(value: Any, *, required: bool = False, max_length: int = 200) -> str | None:
    """Parse an optional identifier or label; null texts read as None."""
    if is_null(value):
        if required:
            raise BadValue("missing; a value is required")
        return None
    if not isinstance(value, str | int):
        raise BadValue(f"expected text, not {type(value).__name__}")
    text = str(value).strip()
    if len(text) > max_length:
        raise BadValue(f"longer than {max_length} characters")
    return text


def aligned_bucket(start: datetime, width: int) -> datetime:
    """Return the start of the `width`-second bucket (aligned to the Unix epoch) that holds `start`."""
    seconds = int(start.timestamp())
    return datetime.fromtimestamp(seconds - seconds % width, tz=timezone.utc)


def infer_bucket_width(spans: list[int]) -> int:
    """Infer the width a usage query used from the spans (end - start, seconds) of its buckets.

    A full bucket spans exactly 60, 3600 or 86400 seconds. The first bucket of an export starts at
    the query's start time and the last ends at the moment of the query, so those can be shorter.
    With no full bucket in view, the smallest width that holds the longest span is a guess.
    """
    full = [span for span in spans if span in BUCKET_WIDTHS]
    if full:
        return max(full)
    longest = max(spans, default=86400)
    # NOTE: an export of less than one bucket (say a 30-minute window of a daily query) is
    # keyed by the smaller width, so it does not replace a later full daily bucket.
    return next((width for width in BUCKET_WIDTHS if width >= longest), 86400)


# Longest natural key stored as text; a longer one is stored as its SHA-256.
NATURAL_KEY_LENGTH = 480


def natural_key(*parts: Any) -> str:
    """Join key parts into a natural key; very long keys are replaced by their SHA-256."""
    key = "|".join([part if type(part) is str else ("" if part is None else str(part)) for part in parts])
    if len(key) > NATURAL_KEY_LENGTH:
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def day_of(moment: datetime) -> date:
    return moment.astimezone(timezone.utc).date()
