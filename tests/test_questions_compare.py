"""Change questions: drivers split the whole change once per dimension, on the hand-computed fixture.

Last week (11-09 to 11-15) spent 219.70 and the week before 50.00 (row l6: openai gpt-5, team
search, feature semantic-search), so the change is +169.70. Last week by kind: LLM 27.15
(gpt-5 12.50, gpt-5-mini 3.25, claude-sonnet-4 7.00, the reported openai line 4.40 with no
model), tools 2.00, GPU 168.55, review 20.00, other 2.00.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

import cost_fixture as fx
from bot.clock import FixedClock
from bot.questions import answer_question
from bot.queries.trends import change_between
from bot.settings import load_settings

D = Decimal
LAST_WEEK = (fx.WEEK_START, fx.WEEK_END)
WEEK_BEFORE = (fx.day(2), fx.WEEK_START)


@pytest.fixture
def loaded(session):
    fx.load(session)
    return session


def _changes(entry: dict) -> dict:
    return {row["value"]: row["change"] for row in entry["rows"]}


def test_drivers_split_whole_change(loaded):
    result = change_between(loaded, current=LAST_WEEK, previous=WEEK_BEFORE)
    drivers = {entry["dimension"]: entry for entry in result["drivers"]}

    assert result["change"] == D("169.70")
    # Team: ml-platform 3.43 + 165.12, support 13.45, search 37.70 - 50.00. Data spent only unpriced usage.
    assert _changes(drivers["team"]) == {"ml-platform": D("168.55"), "support": D("13.45"), "search": D("-12.30")}
    # Feature: the FOCUS GPU row has no feature.
    assert _changes(drivers["feature"]) == {None: D("165.12"), "ticket-classifier": D("13.45"),
                                            "semantic-search": D("-12.30"), "fine-tuning": D("3.43")}
    # Model splits LLM spend (27.15 - 50.00 = -22.85), and the kinds without a model are outside it.
    assert _changes(drivers["model"]) == {"gpt-5": D("-37.50"), "claude-sonnet-4": D("7.00"), None: D("4.40"),
                                          "gpt-5-mini": D("3.25")}
    assert drivers["model"]["outside"]["change"] == D("192.55")  # 2.00 + 168.55 + 20.00 + 2.00
    assert drivers["model"]["outside"]["kinds"] == ["tools", "gpu", "review", "other"]
    # Provider splits all but review: openai LLM -29.85 and tools 2.00, AWS FOCUS GPU 165.12 and
    # other 2.00. The a100-01 GPU samples name no provider, so they are unallocated.
    assert _changes(drivers["provider"]) == {"openai": D("-27.85"), "anthropic": D("7.00"), "aws": D("167.12"),
                                             None: D("3.43")}
    assert drivers["provider"]["outside"]["change"] == D("20.00")
    assert drivers["provider"]["outside"]["kinds"] == ["review"]


def test_each_split_sums_to_change(loaded):
    result = change_between(loaded, current=LAST_WEEK, previous=WEEK_BEFORE, limit=2)

    for entry in result["drivers"]:
        parts = sum(row["change"] for row in entry["rows"]) + entry["others"]["change"] + entry["outside"]["change"]
        assert parts == result["change"], entry["dimension"]
    feature = next(entry for entry in result["drivers"] if entry["dimension"] == "feature")
    assert feature["others"] == {"groups": 2, "before": D("50.00"), "after": D("41.13"), "change": D("-8.87")}


def test_largest_named_change_leads(loaded):
    result = change_between(loaded, current=LAST_WEEK, previous=WEEK_BEFORE)

    # ml-platform's +168.55 is the largest change of a named group, and the others keep their order.
    assert [entry["dimension"] for entry in result["drivers"]] == ["team", "feature", "model", "provider"]


def test_unallocated_value_does_not_lead(loaded):
    # The unallocated feature's +165.12 is the largest change, but it names no group, so
    # model gpt-5's -37.50 beats ticket-classifier's +13.45.
    result = change_between(loaded, current=LAST_WEEK, previous=WEEK_BEFORE, dimensions=("feature", "model"))

    assert [entry["dimension"] for entry in result["drivers"]] == ["model", "feature"]


def test_filtered_dimension_names_no_driver(loaded):
    result = change_between(loaded, current=LAST_WEEK, previous=WEEK_BEFORE, filters={"team": ["search"]})

    assert result["change"] == D("-12.30")
    # Team search has one feature, so that dimension is left out. Model gpt-5's -37.50 beats openai's -36.30.
    assert [entry["dimension"] for entry in result["drivers"]] == ["model", "provider"]
    model, provider = result["drivers"]
    # Team search's LLM: gpt-5 12.50 - 50.00 and claude-sonnet-4 7.00. Tools, review and other are outside.
    assert _changes(model) == {"gpt-5": D("-37.50"), "claude-sonnet-4": D("7.00")}
    assert model["outside"]["change"] == D("18.20")  # 1.20 + 15.00 + 2.00
    # Provider adds team search's tools (openai 1.20) and other spend (AWS 2.00); review is outside.
    assert _changes(provider) == {"openai": D("-36.30"), "anthropic": D("7.00"), "aws": D("2.00")}
    assert provider["outside"]["change"] == D("15.00")


def _ask(session, question: str, tmp_path):
    settings = load_settings(database_url="sqlite://", timezone="UTC", mapping_file=tmp_path / "none.yml",
                             budgets_file=tmp_path / "none.yml")
    return answer_question(session, question, settings=settings, clock=FixedClock(fx.NOW), chart=False)


def test_change_answer_text(loaded, tmp_path):
    answer = _ask(loaded, "why did spend go up last week", tmp_path)

    table = answer.text.split("\n\n")[1].splitlines()
    assert table == [
        "team         before    after    change",
        "--------------------------------------",
        "ml-platform   $0.00  $168.55  +$168.55",
        "support       $0.00   $13.45   +$13.45",
        "search       $50.00   $37.70   -$12.30",
        "total        $50.00  $219.70  +$169.70",
    ]
    assert ("The table splits the change by team, because ml-platform changed more than any other named group. "
            "Each split, there and below, adds up to the whole change of +$169.70. The splits overlap, because "
            "every dollar counts once in each of them, so add changes within one split only.") in answer.text
    assert "By feature: (unallocated) +$165.12, ticket-classifier +$13.45, 2 other features -$8.87." in answer.text
    assert ("By model: gpt-5 -$37.50, claude-sonnet-4 +$7.00, 2 other models +$7.65, "
            "no model: tools, GPU, review, other +$192.55.") in answer.text
    assert ("By provider: aws +$167.12, openai -$27.85, 2 other providers +$10.43, "
            "no provider: review +$20.00.") in answer.text
    assert "By kind: LLM -$22.85, tools +$2.00, GPU +$168.55, review +$20.00, other +$2.00." in answer.text


def test_partial_week_answer_text(loaded, tmp_path):
    # Now is Wednesday 12:00, so this week (100.00 on 11-16) meets Monday 00:00 to Wednesday 12:00 of
    # last week: 197.25 on 11-10 and 9.05 on 11-11, all of it before 12:00.
    answer = _ask(loaded, "compare this week vs last week", tmp_path)

    assert answer.text.startswith("Everyone spent $100.00 this week, down $106.30 (-51.5%) from $206.30 in the same "
                                  "part of last week (Nov 9 – Nov 11, 2026, up to 12:00).")
    assert "this week (Nov 16 – Nov 18, 2026, up to 12:00) · all spend" in answer.text
    assert "This week is not over yet, so both periods cover only their first 2 days and 12 hours, like for like." \
        in answer.text
    assert answer.data["compare_to"]["end"] == "2026-11-11T12:00:00+00:00"
    assert answer.data["period"]["until"] == "12:00"
    assert answer.follow_ups == ["top 5 features by spend this week", "spend by day this week"]


@pytest.mark.parametrize("question", ["compare Q3 2026 vs Q4 2026", "compare Q4 2026 vs Q3 2026"])
def test_later_named_period_is_reported(loaded, tmp_path, question):
    # Q4 so far (Oct 1 to Nov 18 12:00) spent 369.70, and Q3 cut to the same 48 days and 12 hours nothing.
    answer = _ask(loaded, question, tmp_path)

    assert answer.text.startswith("Everyone spent $369.70 in Q4 2026; there was no spend in the same part of "
                                  "Q3 2026 (Jul 1 – Aug 18, 2026, up to 12:00) to compare with.")
    assert answer.data["result"]["change"] == "369.70"
    assert "Q4 2026 (Oct 1 – Nov 18, 2026, up to 12:00) · all spend" in answer.text
    assert answer.follow_ups == ["top 5 features by spend in Q4 2026", "spend by day in Q4 2026"]


def test_earlier_period_named_first(loaded, tmp_path):
    # The same figures as "compare this week vs last week": last week is the baseline.
    answer = _ask(loaded, "compare last week vs this week", tmp_path)

    assert answer.text.startswith("Everyone spent $100.00 this week, down $106.30 (-51.5%) from $206.30 in the same "
                                  "part of last week (Nov 9 – Nov 11, 2026, up to 12:00).")


def test_unchanged_values_join_others():
    from bot.queries.trends import _split

    before = {"semantic-search": D("240.91"), "embedding-serving": D("658.56")}
    after = {"semantic-search": D("608.33"), "embedding-serving": D("658.56")}
    entry = _split("feature", before, after, D("899.47"), D("1266.89"), limit=5)

    assert [row["value"] for row in entry["rows"]] == ["semantic-search"]
    # The unchanged feature keeps the before and after columns adding up to the totals.
    assert entry["others"] == {"groups": 1, "before": D("658.56"), "after": D("658.56"), "change": D("0")}


def test_unchanged_outside_spend_is_a_row():
    from bot.questions.answering import _driver_table

    zero = D("0")
    entry = {"dimension": "model",
             "rows": [{"value": "gpt-5", "before": D("10.00"), "after": D("12.00"), "change": D("2.00")}],
             "others": {"groups": 0, "before": zero, "after": zero, "change": zero},
             "outside": {"before": D("5.00"), "after": D("5.00"), "change": zero, "kinds": ["tools", "review"]}}
    result = {"previous": D("15.00"), "current": D("17.00"), "change": D("2.00")}

    table = _driver_table(entry, result)

    assert table[2] == ["no model: tools, review", "$5.00", "$5.00", "$0.00"]
    assert table[3] == ["total", "$15.00", "$17.00", "+$2.00"]
