"""Column types that keep money exact and times in UTC on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

NANOS_PER_USD = 10**9
_NANO = Decimal(1).scaleb(-9)


def usd_to_nanos(amount: Decimal | int | str) -> int:
    """Convert a USD amount to whole nano-dollars, rounding half to even below 1e-9 USD."""
    if isinstance(amount, float):
        raise TypeError(f"money must be Decimal, int or str, not float: {amount!r}")
    value = amount if isinstance(amount, Decimal) else Decimal(amount)
    return int(value.quantize(_NANO, rounding=ROUND_HALF_EVEN).scaleb(9))


def nanos_to_usd(nanos: int | Decimal) -> Decimal:
    """Convert nano-dollars back to a USD `Decimal`."""
    return Decimal(nanos).scaleb(-9)


class Money(TypeDecorator):
    """A USD amount stored as a BIGINT of nano-dollars and read back as `Decimal`.

    SQLite has no exact decimal type (NUMERIC columns become REAL), so money is an
    integer in both databases; `SUM()` over it stays exact, and its result converts
    back to `Decimal` because SQLAlchemy gives the sum the column's type. The range
    is about ±9.2 billion USD per value.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError(f"money must be Decimal, not float: {value!r}")
        return usd_to_nanos(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return nanos_to_usd(value)

    def coerce_compared_value(self, op, value):
        return self


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on both databases.

    PostgreSQL stores `timestamptz`; SQLite stores the UTC wall time as text, which sorts
    and compares correctly because every value is converted to UTC first. Naive values
    are rejected rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; attach a time zone (UTC)")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
