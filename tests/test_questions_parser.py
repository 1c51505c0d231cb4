"""The question parser on its own: period forms and bounds, time zones, filters, near misses."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.questions.parser import parse
from bot.questions.periods import PeriodError, find_period, like_for_like

TODAY = date(2026, 11, 18)  # a Wednesday
VOCABULARY = {
    "team": ["search", "support"],
    "feature": ["semantic-search", "ticket-classifier"],
    "model": ["gpt-5"],
    "provider": ["openai"],
    "tool": ["web_search", "search"],
    "host": ["h100-idle-01"],
    "service_tier": ["standard", "batch"],
}

PERIODS = [
    ("today", "2026-11-18", "2026-11-18"),
    ("yesterday", "2026-11-17", "2026-11-17"),
    ("this week", "2026-11-16", "2026-11-18"),
    ("last week", "2026-11-09", "2026-11-15"),
    ("this month", "2026-11-01", "2026-11-18"),
    ("last month", "2026-10-01", "2026-10-31"),
    ("this quarter", "2026-10-01", "2026-11-18"),
    ("last quarter", "2026-07-01", "2026-09-30"),
    ("this year", "2026-01-01", "2026-11-18"),
    ("last year", "2025-01-01", "2025-12-31"),
    # "last N days" (weeks, months) is the whole days before today, the same days as a rule's window.
    ("last 7 days", "2026-11-11", "2026-11-17"),
    ("past three weeks", "2026-10-28", "2026-11-17"),
    ("last 2 months", "2026-09-18", "2026-11-17"),
    ("october", "2026-10-01", "2026-10-31"),
    ("december", "2025-12-01", "2025-12-31"),  # the latest December not after today
    ("sept 2025", "2025-09-01", "2025-09-30"),
    ("q3 2026", "2026-07-01", "2026-09-30"),
    ("q1", "2026-01-01", "2026-03-31"),
    ("q4", "2026-10-01", "2026-11-18"),
    ("since nov 3", "2026-11-03", "2026-11-18"),
    ("since 3rd november 2025", "2025-11-03", "2026-11-18"),
    ("between oct 1 and oct 15", "2026-10-01", "2026-10-15"),
    ("from 2026-10-01 to 2026-10-31", "2026-10-01", "2026-10-31"),
    ("on 2026-11-10", "2026-11-10", "2026-11-10"),
    ("mtd", "2026-11-01", "2026-11-18"),
    ("ytd", "2026-01-01", "2026-11-18"),
]


@pytest.mark.parametrize(("phrase", "first", "last"), PERIODS, ids=[p[0] for p in PERIODS])
def test_period_forms(phrase, first, last):
    period, rest = find_period(f"spend {phrase} please", TODAY, "UTC")
    assert period is not None
    assert (period.first.isoformat(), period.last.isoformat()) == (first, last)
    assert rest == "spend please"


def test_period_bounds_in_workspace_zone():
    period, _ = find_period("last week", TODAY, "Europe/Berlin")
    start, end = period.bounds(ZoneInfo("Europe/Berlin"))
    assert start == datetime(2026, 11, 8, 23, 0, tzinfo=timezone.utc)  # Monday 00:00 CET is 23:00 UTC
    assert end == datetime(2026, 11, 15, 23, 0, tzinfo=timezone.utc)
    assert period.describe() == "last week (Nov 9 – Nov 15, 2026)"


def test_period_across_dst_change():
    period, _ = find_period("october", TODAY, "Europe/Berlin")
    start, end = period.bounds(ZoneInfo("Europe/Berlin"))
    assert start == datetime(2026, 9, 30, 22, 0, tzinfo=timezone.utc)  # CEST, UTC+2
    assert end == datetime(2026, 10, 31, 23, 0, tzinfo=timezone.utc)  # CET, UTC+1 after Oct 25


def test_previous_period():
    month, _ = find_period("last month", TODAY, "UTC")
    assert (month.previous().first, month.previous().last) == (date(2026, 9, 1), date(2026, 9, 30))
    week, _ = find_period("last 7 days", TODAY, "UTC")
    assert (week.previous().first, week.previous().last) == (date(2026, 11, 4), date(2026, 11, 10))


def test_invalid_dates_raise():
    with pytest.raises(PeriodError, match="invalid date 'feb 30': day is out of range for month"):
        find_period("spend on feb 30", TODAY, "UTC")
    with pytest.raises(PeriodError, match="ends before it starts; put the earlier date first"):
        find_period("between nov 10 and nov 1", TODAY, "UTC")


def test_long_last_n_days_period():
    # A count of four digits is read whole, not dropped in favour of the default 30 days.
    period, rest = find_period("spend last 1000 days", TODAY, "UTC")
    assert (period.first, period.last) == (date(2024, 2, 22), date(2026, 11, 17))
    assert period.label == "last 1000 days"
    assert rest == "spend"
    with pytest.raises(PeriodError, match="'last 99999999 days' reaches back before the year 1; use a smaller count"):
        find_period("spend last 99999999 days", TODAY, "UTC")


def test_future_start_names_today():
    with pytest.raises(PeriodError) as caught:
        find_period("spend since 2027-01-01", TODAY, "UTC")
    assert str(caught.value) == ("the period 'since 2027-01-01' starts on 2027-01-01, after today (2026-11-18); "
                                 "name a start on or before today")


def test_reversed_period_shows_dates():
    # Without a year, oct 1 is the latest October 1 not after today, so it falls after Oct 15 2025.
    with pytest.raises(PeriodError) as caught:
        find_period("spend between oct 1 and oct 15 2025", TODAY, "UTC")
    assert str(caught.value) == ("the period 'between oct 1 and oct 15 2025' runs from 2026-10-01 to 2025-10-15, so "
                                 "it ends before it starts; put the earlier date first, or give both dates a year")


def test_previous_n_days_is_before_period():
    # "previous 14 days" alone reads as the last 14 days; after "vs" it means the 14 days before.
    query = parse("spend last 14 days vs previous 14 days", vocabulary=VOCABULARY, today=TODAY, tz_name="UTC")
    assert query.intent == "compare"
    assert query.as_dict()["period"] == ["last 14 days", "2026-11-04", "2026-11-17"]
    assert query.as_dict()["compare_to"] == ["2026-10-21", "2026-11-03"]


def test_second_period_unused_is_stated():
    query = parse("cost per success for ticket-classifier last 14 days vs previous 14 days", vocabulary=VOCABULARY,
                  today=TODAY, tz_name="UTC")
    assert query.intent == "cost_per_success"
    assert query.compare_to is None
    assert query.notes == ["This answer covers one period, so the second period named, the period before "
                           "(Oct 21 – Nov 3, 2026), was not used."]


@pytest.mark.parametrize(("question", "top"), [("top 3 teams last week", 3), ("top 100 features last week", 100),
                                               ("top teams last week", 5)])
def test_top_count(question, top):
    query = parse(question, vocabulary=VOCABULARY, today=TODAY, tz_name="UTC")
    assert query.intent == "top"
    assert query.top == top


def test_top_zero_gets_help():
    query = parse("top 0 teams last week", vocabulary=VOCABULARY, today=TODAY, tz_name="UTC")
    assert query.intent == "help"
    assert query.problem == "'top 0' names no rows; use a count of 1 or more"


def test_invalid_date_question_gets_help():
    query = parse("how much did we spend on feb 30", vocabulary=VOCABULARY, today=TODAY, tz_name="UTC")
    assert query.intent == "help"
    assert query.problem == "invalid date 'feb 30': day is out of range for month"


def test_value_in_two_dimensions_is_stated():
    query = parse("spend on search last week", vocabulary=VOCABULARY, today=TODAY, tz_name="UTC")
    assert query.filters == {"team": ["search"]}
    assert query.notes == ["“search” is a stored team and also a tool; read it as the team."]


def test_default_period_is_stated():
    query = parse("spend by team", vocabulary=VOCABULARY, today=TODAY, tz_name="UTC")
    assert (query.period.first, query.period.last) == (date(2026, 10, 19), date(2026, 11, 17))
    assert query.notes == ["No period named, so this covers the last 30 days."]


def test_near_misses_suggest_values():
    # The query is the corrected question's. The answer offers it and runs nothing.
    query = parse("spend for featur semantc-search last week", vocabulary=VOCABULARY, today=TODAY, tz_name="UTC")
    assert query.corrected == "spend for feature semantic-search last week"
    assert query.misread == ["featur", "semantc-search"]
    query = parse("how much on gpt5 yesterday", vocabulary=VOCABULARY, today=TODAY, tz_name="UTC")
    assert query.corrected == "how much on gpt-5 yesterday"
    assert query.filters == {"model": ["gpt-5"]}
    query = parse("how much on openia yesterday", vocabulary=VOCABULARY, today=TODAY, tz_name="UTC")
    assert query.corrected == "how much on openai yesterday"


MISSPELLED = [
    ("spnd by tem", "spend by team", ["spnd", "tem"]),
    ("spend by tem last week", "spend by team last week", ["tem"]),
    ("spend by team and modl last week", "spend by team and model last week", ["modl"]),
    ("cost per sucess by workflow", "cost per success by workflow", ["sucess"]),
    ("tokns by model yesterday", "tokens by model yesterday", ["tokns"]),
    ("top 5 featurs last week", "top 5 features last week", ["featurs"]),
    ("why did spnd go up last week", "why did spend go up last week", ["spnd"]),
    ("spend in novmber", "spend in november", ["novmber"]),
    ("spnd for tem serch last week", "spend for team search last week", ["spnd", "tem", "serch"]),
]


@pytest.mark.parametrize(("question", "corrected", "misread"), MISSPELLED, ids=[case[0] for case in MISSPELLED])
def test_misspelled_words_corrected(question, corrected, misread):
    query = parse(question, vocabulary=VOCABULARY, today=TODAY, tz_name="UTC")
    assert query.corrected == corrected
    assert query.misread == misread
    assert query.as_dict() == {**parse(corrected, vocabulary=VOCABULARY, today=TODAY, tz_name="UTC").as_dict(),
                               "corrected": corrected}


@pytest.mark.parametrize("question", ["purple monkey dishwasher", "what's the weather like", "spend on flux last week"])
def test_far_words_not_corrected(question):
    query = parse(question, vocabulary=VOCABULARY, today=TODAY, tz_name="UTC")
    assert query.corrected is None
    assert query.misread == []


def test_unknown_words_are_stated():
    query = parse("spend on flux capacitors last week", vocabulary=VOCABULARY, today=TODAY, tz_name="UTC")
    assert query.intent == "spend"
    assert "Ignored the word “flux”, which matches no stored team, feature, model or other value." in query.notes


def test_slack_mention_and_punctuation_removed():
    query = parse("<@U0BOT123> How much did team Search spend, last week?", vocabulary=VOCABULARY, today=TODAY,
                  tz_name="UTC")
    assert query.as_dict() == {"intent": "spend", "period": ["last week", "2026-11-09", "2026-11-15"],
                               "filters": {"team": ["search"]}}


def test_value_named_like_intent_word():
    # "idle" inside a host name must not turn a spend question into a GPU question.
    query = parse("spend on h100-idle-01 this month", vocabulary=VOCABULARY, today=TODAY, tz_name="UTC")
    assert query.intent == "spend"
    assert query.filters == {"host": ["h100-idle-01"]}


def _compare(question: str, now: datetime | None, today: date = TODAY, tz_name: str = "UTC"):
    query = parse(question, vocabulary=VOCABULARY, today=today, tz_name=tz_name, now=now)
    assert query.intent == "compare"
    return query


def test_partial_week_like_for_like():
    query = _compare("compare this week vs last week", datetime(2026, 11, 18, 12, 40, tzinfo=timezone.utc))
    assert query.as_dict()["period"] == ["this week", "2026-11-16", "2026-11-18T12:00"]
    assert query.as_dict()["compare_to"] == ["2026-11-09", "2026-11-11T12:00"]
    assert query.compare_to.describe() == "the same part of last week (Nov 9 – Nov 11, 2026, up to 12:00)"
    assert query.notes == ["This week is not over yet, so both periods cover only their first 2 days and 12 hours, "
                           "like for like."]


def test_partial_week_default_previous():
    # With no second period, this week is compared with the calendar week before, not the 3 days before.
    query = _compare("why did spend go up this week", datetime(2026, 11, 18, 12, tzinfo=timezone.utc))
    assert query.as_dict()["compare_to"] == ["2026-11-09", "2026-11-11T12:00"]
    assert query.compare_to.label == "the same part of the week before"


def test_partial_period_in_workspace_zone():
    # 11:30 UTC is 12:30 in Berlin, so both periods end at 12:00 Berlin time, 11:00 UTC.
    query = _compare("compare this week vs last week", datetime(2026, 11, 18, 11, 30, tzinfo=timezone.utc),
                     tz_name="Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    assert query.period.bounds(berlin) == (datetime(2026, 11, 15, 23, tzinfo=timezone.utc),
                                           datetime(2026, 11, 18, 11, tzinfo=timezone.utc))
    assert query.compare_to.bounds(berlin) == (datetime(2026, 11, 8, 23, tzinfo=timezone.utc),
                                               datetime(2026, 11, 11, 11, tzinfo=timezone.utc))


def test_partial_period_without_clock():
    # Without the time of day, today counts whole on both sides: Monday to Wednesday.
    query = _compare("compare this week vs last week", None)
    assert query.as_dict()["compare_to"] == ["2026-11-09", "2026-11-11"]
    assert query.notes == ["This week is not over yet, so both periods cover only their first 3 days, like for like."]


def test_partial_period_first_hour():
    # At 00:30 on the Monday a week starts, no whole hour has passed: both Mondays are compared whole.
    monday = date(2026, 11, 16)
    query = _compare("compare this week vs last week", datetime(2026, 11, 16, 0, 30, tzinfo=timezone.utc), today=monday)
    assert query.as_dict()["period"] == ["this week", "2026-11-16", "2026-11-16"]
    assert query.as_dict()["compare_to"] == ["2026-11-09", "2026-11-09"]
    assert query.notes == ["This week is not over yet, so both periods cover only their first day, like for like."]


def test_shorter_period_compared_whole():
    query = _compare("compare this month vs last month", datetime(2026, 3, 31, 15, 20, tzinfo=timezone.utc),
                     today=date(2026, 3, 31))
    assert query.as_dict()["period"] == ["this month", "2026-03-01", "2026-03-31T15:00"]
    assert query.as_dict()["compare_to"] == ["2026-02-01", "2026-02-28"]
    assert query.notes == ["This month is not over yet and covers its first 30 days and 15 hours. Last month has "
                           "only 28 days, so it is compared whole."]


def test_finished_periods_not_cut():
    query = _compare("why did spend go up last week", datetime(2026, 11, 18, 12, tzinfo=timezone.utc))
    assert query.as_dict()["compare_to"] == ["2026-11-02", "2026-11-08"]
    assert query.notes == []
    last_week, _ = find_period("last week", TODAY, "UTC")
    assert like_for_like(last_week, last_week.previous(), TODAY, None) is None
