"""Parsers for the date and time options that several commands share (--at, --from, --to).

Each raises typer.BadParameter naming the option, so every command words a bad value the
same way.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import typer


def parse_timestamp(value: str, option: str) -> datetime:
    """Parse an ISO 8601 timestamp with a time zone (Z or an offset) and return it in UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 timestamp; use e.g. 2026-11-20T00:00Z", param_hint=option
        ) from None
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{value!r} has no time zone; add Z or an offset such as +01:00", param_hint=option)
    return moment.astimezone(timezone.utc)


def parse_day(value: str, option: str) -> date:
    """Parse a calendar day written as YYYY-MM-DD."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD", param_hint=option) from None
