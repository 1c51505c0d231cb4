"""Budget periods in the workspace time zone: where one starts, where it ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Period:
    """One budget period: UTC bounds (start inclusive, end exclusive) and the local first day."""

    start: datetime
    end: datetime
    first_day: date
    reset_day: date


def period_at(period: str, at: datetime, tz: ZoneInfo) -> Period:
    """Return the `period` (daily, weekly, monthly, quarterly) that contains the instant `at`.

    Boundaries are local midnights in `tz`, so a period around a DST change is 23 or 25
    hours longer or shorter in UTC than its calendar length suggests. Weeks start on Monday.
    """
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()} given; attach a time zone")
    local_day = at.astimezone(tz).date()
    if period == "daily":
        first = local_day
        reset = first + timedelta(days=1)
    elif period == "weekly":
        first = local_day - timedelta(days=local_day.weekday())
        reset = first + timedelta(days=7)
    elif period == "monthly":
        first = local_day.replace(day=1)
        reset = _add_months(first, 1)
    elif period == "quarterly":
        first = date(local_day.year, 3 * ((local_day.month - 1) // 3) + 1, 1)
        reset = _add_months(first, 3)
    else:
        raise ValueError(f"unknown period {period!r}; use daily, weekly, monthly or quarterly")
    return Period(start=_local_midnight(first, tz), end=_local_midnight(reset, tz), first_day=first, reset_day=reset)


def days_until_reset(period: Period, now: datetime, tz: ZoneInfo) -> int:
    """Return whole calendar days from today (local) to the reset day; 0 never occurs inside a period."""
    return (period.reset_day - now.astimezone(tz).date()).days


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    return date(day.year + month_index // 12, month_index % 12 + 1, 1)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)
