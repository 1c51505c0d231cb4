"""spend_by and daily_spend on the hand-computed fixture, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

import cost_fixture as fx
from bot.queries.spend import COST_KINDS, daily_spend, spend_by
from bot.queries.sources import JSON_LIST_VALUES, UnknownDimension

D = Decimal


@pytest.fixture
def loaded(session):
    fx.load(session)
    return session


def test_spend_total_by_kind(loaded):
    rows = spend_by(loaded, start=fx.WEEK_START, end=fx.WEEK_END)
    assert len(rows) == 1
    row = rows[0]
    # llm: 12.50 + 3.25 + 7.00 + 4.40 (reported line replaces the 4.00 priced row) = 27.15
    assert row.by_kind["llm"] == D("27.15")
    assert row.by_kind["tools"] == D("2.00")  # 1.20 + 0.80
    # gpu: a100-01 3600 s at 3.43/h = 3.43, plus FOCUS h100-idle-01 165.12; its sample is not counted
    assert row.by_kind["gpu"] == D("168.55")
    assert row.by_kind["review"] == D("20.00")  # 15 + 5
    assert row.by_kind["other"] == D("2.00")
    assert row.total == D("219.70")  # 27.15 + 2.00 + 168.55 + 20.00 + 2.00
    assert row.unpriced_rows == 2  # mystery-model LLM row and the rate-less gpu-x sample
    assert row.group == {}


def test_spend_by_team(loaded):
    rows = {row.group["team"]: row for row in spend_by(loaded, start=fx.WEEK_START, end=fx.WEEK_END, group_by=("team",))}
    # search: llm 12.50 + 7.00, tools 1.20, review 15.00, other 2.00 = 37.70
    assert rows["search"].total == D("37.70")
    assert rows["search"].by_kind["llm"] == D("19.50")
    # support: llm 3.25 + 4.40, tools 0.80, review 5.00 = 13.45
    assert rows["support"].total == D("13.45")
    assert rows["ml-platform"].total == D("168.55")
    assert rows["data"].total == D(0)
    assert rows["data"].unpriced_rows == 1
    assert rows[None].unpriced_rows == 1  # gpu-x has no team
    ordered = [row.group["team"] for row in spend_by(loaded, start=fx.WEEK_START, end=fx.WEEK_END, group_by=("team",))]
    assert ordered[:3] == ["ml-platform", "search", "support"]


def test_spend_filters_model_and_kinds(loaded):
    rows = spend_by(loaded, start=fx.WEEK_START, end=fx.WEEK_END, filters={"model": ["gpt-5"]})
    # only LLM rows carry gpt-5 here: 12.50 (l1); l4's 4.00 is replaced by a reported line without a model
    assert [row.total for row in rows] == [D("12.50")]
    rows = spend_by(loaded, start=fx.WEEK_START, end=fx.WEEK_END, kinds=("tools", "review"))
    assert rows[0].total == D("22.00")  # 2.00 + 20.00
    assert set(rows[0].by_kind) == {"tools", "review"}


def test_spend_filters_team_and_null(loaded):
    rows = spend_by(loaded, start=fx.WEEK_START, end=fx.WEEK_END, filters={"team": ["support"]}, group_by=("feature",))
    assert [(row.group["feature"], row.total) for row in rows] == [("ticket-classifier", D("13.45"))]
    rows = spend_by(loaded, start=fx.WEEK_START, end=fx.WEEK_END, filters={"team": [None]})
    assert rows[0].total == D(0)
    assert rows[0].unpriced_rows == 1


@pytest.mark.parametrize("rolled", [False, True], ids=["raw", "rollups"])
def test_spend_filters_long_value_list(loaded, rolled):
    # Past JSON_LIST_VALUES the values go as one JSON parameter, so 40,000 values fit in a
    # statement (SQLite binds at most 32,766 parameters) and the rows are the same.
    from bot.queries import rollups

    if rolled:
        rollups.rebuild_rollups(loaded)
        loaded.commit()
    absent = [f"absent-team-{number}" for number in range(40_000)]
    assert len(absent) > JSON_LIST_VALUES
    rows = spend_by(loaded, start=fx.WEEK_START, end=fx.WEEK_END, filters={"team": [*absent, "support"]},
                    group_by=("feature",))
    assert [(row.group["feature"], row.total) for row in rows] == [("ticket-classifier", D("13.45"))]
    rows = spend_by(loaded, start=fx.WEEK_START, end=fx.WEEK_END, filters={"team": [*absent, None]})
    assert rows[0].total == D(0)
    assert rows[0].unpriced_rows == 1


def test_spend_by_provider_and_tier(loaded):
    rows = spend_by(loaded, start=fx.WEEK_START, end=fx.WEEK_END, group_by=("provider", "service_tier"), kinds=("llm",))
    found = {(row.group["provider"], row.group["service_tier"]): row.total for row in rows}
    assert found[("openai", "standard")] == D("12.50")
    assert found[("openai", "batch")] == D("3.25")
    assert found[("anthropic", "priority")] == D("7.00")
    assert found[("openai", None)] == D("4.40")  # the reported line has no tier


def test_spend_by_week_grain_in_timezone(loaded):
    rows = spend_by(loaded, start=fx.day(8), end=fx.day(17), group_by=("week",), kinds=("llm",))
    # week of 11-02 contains the 11-08 row (50.00); week of 11-09 contains 27.15; week of 11-16 contains 100.00
    assert [(row.group["week"], row.total) for row in rows] == [
        ("2026-11-02", D("50.00")), ("2026-11-09", D("27.15")), ("2026-11-16", D("100.00"))]


def test_daily_spend_days_in_timezone(loaded):
    days = daily_spend(loaded, start=fx.day(9), end=fx.day(12), tz=ZoneInfo("UTC"))
    # 11-10: 12.50 + 1.20 + 3.43 + 165.12 + 15.00 = 197.25; 11-11: 3.25 + 0.80 + 5.00 = 9.05
    assert days == [(date(2026, 11, 9), D(0)), (date(2026, 11, 10), D("197.25")), (date(2026, 11, 11), D("9.05"))]

    # In New York (UTC-5) the UTC-midnight buckets fall on the evening before.
    new_york = ZoneInfo("America/New_York")
    start = datetime(2026, 11, 10, tzinfo=new_york)
    end = datetime(2026, 11, 11, tzinfo=new_york)
    # 11-10 05:00 UTC .. 11-11 05:00 UTC contains web_search 1.20 (11-10 09:00) and the 11-11 00:00 rows,
    # llm 3.25 and review 5.00: 1.20 + 3.25 + 5.00 = 9.45
    assert daily_spend(loaded, start=start, end=end, tz=new_york) == [(date(2026, 11, 10), D("9.45"))]


def test_spend_rejects_bad_arguments(loaded):
    with pytest.raises(UnknownDimension, match="unknown dimension 'colour'; use one of: team, feature"):
        spend_by(loaded, start=fx.WEEK_START, end=fx.WEEK_END, group_by=("colour",))
    with pytest.raises(ValueError, match="unknown cost kind 'food'"):
        spend_by(loaded, start=fx.WEEK_START, end=fx.WEEK_END, kinds=("food",))
    with pytest.raises(ValueError, match="is naive; pass an aware UTC datetime"):
        spend_by(loaded, start=datetime(2026, 11, 9), end=fx.WEEK_END)
    with pytest.raises(ValueError, match="empty period"):
        spend_by(loaded, start=fx.WEEK_END, end=fx.WEEK_START)
    assert COST_KINDS == ("llm", "tools", "gpu", "review", "other")
