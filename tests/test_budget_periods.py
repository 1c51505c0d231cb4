"""Budget periods in the workspace time zone, including the end of daylight saving time."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.budgets.periods import days_until_reset, period_at

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


def test_monthly_period_in_berlin():
    period = period_at("monthly", datetime(2026, 11, 20, tzinfo=UTC), BERLIN)

    assert period.start == datetime(2026, 10, 31, 23, tzinfo=UTC)  # 1 Nov 00:00 CET (+01:00)
    assert period.end == datetime(2026, 11, 30, 23, tzinfo=UTC)
    assert period.reset_day == date(2026, 12, 1)


def test_weekly_period_starts_monday():
    period = period_at("weekly", datetime(2026, 11, 19, 12, tzinfo=UTC), UTC)  # a Thursday

    assert period.start == datetime(2026, 11, 16, tzinfo=UTC)
    assert period.end == datetime(2026, 11, 23, tzinfo=UTC)


def test_quarterly_period_and_year_end():
    period = period_at("quarterly", datetime(2026, 11, 20, tzinfo=UTC), UTC)

    assert period.start == datetime(2026, 10, 1, tzinfo=UTC)
    assert period.end == datetime(2027, 1, 1, tzinfo=UTC)


def test_dst_end_day_has_25_hours():
    # Berlin leaves summer time on Sunday 2026-10-25 at 03:00 CEST (01:00 UTC).
    period = period_at("daily", datetime(2026, 10, 25, 12, tzinfo=UTC), BERLIN)

    assert period.start == datetime(2026, 10, 24, 22, tzinfo=UTC)  # 00:00 CEST (+02:00)
    assert period.end == datetime(2026, 10, 25, 23, tzinfo=UTC)  # 00:00 CET (+01:00)
    assert period.end - period.start == timedelta(hours=25)


def test_october_month_ends_at_cet_midnight():
    period = period_at("monthly", datetime(2026, 10, 31, 22, 30, tzinfo=UTC), BERLIN)
    after = period_at("monthly", datetime(2026, 10, 31, 23, 30, tzinfo=UTC), BERLIN)

    assert period.start == datetime(2026, 9, 30, 22, tzinfo=UTC)  # 1 Oct 00:00 CEST
    assert period.end == datetime(2026, 10, 31, 23, tzinfo=UTC)  # 1 Nov 00:00 CET
    assert after.start == period.end


def test_days_until_reset_counts_local_days():
    now = datetime(2026, 11, 20, tzinfo=UTC)  # 01:00 on 20 Nov in Berlin
    period = period_at("monthly", now, BERLIN)

    assert days_until_reset(period, now, BERLIN) == 11  # 20 Nov -> 1 Dec


def test_unknown_period_and_naive_time_rejected():
    with pytest.raises(ValueError, match="unknown period 'yearly'; use daily, weekly, monthly or quarterly"):
        period_at("yearly", datetime(2026, 11, 20, tzinfo=UTC), UTC)
    with pytest.raises(ValueError, match="naive datetime 2026-11-20T00:00:00 given; attach a time zone"):
        period_at("daily", datetime(2026, 11, 20), UTC)
