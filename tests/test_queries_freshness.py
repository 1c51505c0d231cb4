"""How far the stored usage reaches: the end of the newest bucket, and whether a period has any usage."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from bot.models import CloudCost, GpuUsage, LlmUsage, Outcome
from bot.queries.vocabulary import has_usage_between, latest_usage_end

UTC = timezone.utc


def _daily_llm(key: str, day: int) -> LlmUsage:
    return LlmUsage(source="test", natural_key=key, start_time=datetime(2026, 11, day, tzinfo=UTC), bucket_seconds=86400,
                    provider="openai", model="gpt-5", requests=1, cost_usd=Decimal("1.00"), cost_origin="priced")


def test_daily_data_reaches_end_of_day(session):
    # Daily buckets of Nov 1 and Nov 2: the Nov 2 bucket covers up to Nov 3 00:00.
    session.add_all([_daily_llm("d1", 1), _daily_llm("d2", 2)])
    session.commit()

    assert latest_usage_end(session) == datetime(2026, 11, 3, tzinfo=UTC)


def test_earlier_wide_bucket_ends_latest(session):
    # An hourly outcome at Nov 2 10:00 ends 11:00 and a GPU sample at 10:30 covering 600 s ends
    # 10:40, but the daily bucket that started earlier (Nov 2 00:00) ends later, at Nov 3 00:00.
    session.add_all([
        _daily_llm("d2", 2),
        Outcome(source="test", natural_key="o1", start_time=datetime(2026, 11, 2, 10, tzinfo=UTC), bucket_seconds=3600,
                succeeded=1),
        GpuUsage(source="test", natural_key="g1", sampled_at=datetime(2026, 11, 2, 10, 30, tzinfo=UTC),
                 interval_seconds=600, host="a100-01", gpu_model="A100"),
    ])
    session.commit()

    assert latest_usage_end(session) == datetime(2026, 11, 3, tzinfo=UTC)


def test_end_capped_at_moment_asked(session):
    session.add_all([_daily_llm("d1", 1), _daily_llm("d2", 2)])
    session.commit()

    # As of Nov 2 12:00 the Nov 2 bucket has started but covers only up to that moment.
    assert latest_usage_end(session, until=datetime(2026, 11, 2, 12, tzinfo=UTC)) == datetime(2026, 11, 2, 12, tzinfo=UTC)
    # As of Nov 1 23:00 the Nov 2 bucket has not started, so the data reaches Nov 1 23:00 (capped).
    assert latest_usage_end(session, until=datetime(2026, 11, 1, 23, tzinfo=UTC)) == datetime(2026, 11, 1, 23, tzinfo=UTC)
    # As of Nov 10 both buckets are over, so the data ends with the Nov 2 bucket.
    assert latest_usage_end(session, until=datetime(2026, 11, 10, tzinfo=UTC)) == datetime(2026, 11, 3, tzinfo=UTC)
    # Before the first bucket there is nothing to see.
    assert latest_usage_end(session, until=datetime(2026, 10, 31, tzinfo=UTC)) is None


def test_focus_rows_end_at_charge_period_end(session):
    session.add_all([
        _daily_llm("d1", 1),
        CloudCost(source="test", natural_key="c1", charge_period_start=datetime(2026, 11, 4, tzinfo=UTC),
                  charge_period_end=datetime(2026, 11, 5, tzinfo=UTC), billed_cost_usd=Decimal("2.00"),
                  cost_kind="gpu", provider_name="AWS"),
    ])
    session.commit()

    assert latest_usage_end(session) == datetime(2026, 11, 5, tzinfo=UTC)


def test_no_usage_has_no_end(session):
    assert latest_usage_end(session) is None
    assert not has_usage_between(session, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC))


def test_has_usage_between_reads_starts(session):
    session.add(_daily_llm("d2", 2))
    session.commit()

    assert has_usage_between(session, datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
    # [start, end): a bucket that starts at the end of the range is outside it.
    assert not has_usage_between(session, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
    assert not has_usage_between(session, datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 10, tzinfo=UTC))
