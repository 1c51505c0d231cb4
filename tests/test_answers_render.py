"""The answer renderer: Slack's Block Kit limits, mrkdwn escaping, money format, plain text, charts."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import cost_fixture as fx
from bot.answers import Presentation, render
from bot.answers.chart import bar_chart
from bot.answers.format import escape, money, percent, plain
from bot.clock import FixedClock
from bot.models import LlmUsage
from bot.questions import answer_question
from bot.settings import load_settings


def _section_texts(blocks):
    return [block["text"]["text"] for block in blocks if block["type"] == "section"]


def test_money_format_has_currency():
    assert money(Decimal("1234.567")) == "$1,234.57"
    assert money(Decimal("0")) == "$0.00"
    assert money(Decimal("-3.5")) == "-$3.50"
    assert money(Decimal("0.0042")) == "$0.0042"  # under a cent is not shown as $0.00
    assert money(None) == "n/a"
    assert percent(Decimal("0.1234")) == "12.3%"


def test_escape_user_values():
    assert escape("<!channel> & <@U123>") == "&lt;!channel&gt; &amp; &lt;@U123&gt;"
    assert escape("*prod*") == "\u200b*prod\u200b*"
    assert escape(None) == "(unallocated)"
    assert plain(escape("*prod* <x>") + " *bold*") == "*prod* <x> bold"


def test_blocks_stay_within_limits():
    rows = [["feature", "spend"]] + [[f"feature-{index:04d}-" + "x" * 60, money(Decimal(index))] for index in range(3000)]
    presentation = Presentation("Headline", rows, lines=[f"note {index}" for index in range(80)],
                                scope=[f"scope {index}" for index in range(15)], follow_ups=["a", "b"])
    text, blocks = render(presentation)
    assert len(blocks) <= 50
    for section in _section_texts(blocks):
        assert len(section) <= 3000
    contexts = [block for block in blocks if block["type"] == "context"]
    assert len(contexts[0]["elements"]) <= 10
    assert "more rows not shown" in "".join(_section_texts(blocks))
    assert "more parts not shown: Slack shows at most 50 blocks" in "".join(_section_texts(blocks))
    assert text.startswith("Headline")


def test_long_table_splits_at_rows():
    rows = [["team", "spend"]] + [[f"team-{index:03d}-" + "y" * 80, "$1.00"] for index in range(40)]
    _, blocks = render(Presentation("Headline", rows))
    tables = [text for text in _section_texts(blocks) if text.startswith("```")]
    assert len(tables) == 2  # 40 rows of ~95 characters do not fit one 3,000-character section
    for table in tables:
        assert table.endswith("```")
        assert len(table) <= 3000


def test_answer_escapes_stored_values(session):
    fx.load(session)
    session.add(LlmUsage(source="test", natural_key="evil", start_time=fx.day(12), provider="openai", model="gpt-5",
                         cost_usd=Decimal("1.00"), cost_origin="priced", team="<!channel>*ops*", requests=1))
    session.commit()
    settings = load_settings(database_url="sqlite://", mapping_file="/nonexistent/m.yml")
    answer = answer_question(session, "spend by team last week", settings=settings, clock=FixedClock(fx.NOW))
    blob = repr(answer.blocks)
    assert "<!channel>" not in blob
    assert "&lt;!channel&gt;*ops*" in blob  # inside the code block only &, < and > are escaped
    assert "<!channel>*ops*" in answer.text  # the plain-text fallback shows the value as stored


def test_unparseable_question_gets_help(session):
    fx.load(session)
    settings = load_settings(database_url="sqlite://", mapping_file="/nonexistent/m.yml")
    answer = answer_question(session, "what's the weather like", settings=settings, clock=FixedClock(fx.NOW))
    assert answer.data["query"] == {"intent": "help"}
    assert answer.text.startswith("I could not read that as a cost question (it names no period, cost, team or other word I know).")
    # examples are filled with stored values: the first team and feature in sorted order
    assert "how much did team data spend in November" in answer.text
    assert "retry overhead for doc-extraction last 14 days" in answer.text
    assert answer.follow_ups == ["how much did we spend last week", "spend by team this month"]


def test_help_on_empty_database(session):
    settings = load_settings(database_url="sqlite://", mapping_file="/nonexistent/m.yml")
    answer = answer_question(session, "help", settings=settings, clock=FixedClock(fx.NOW))
    assert "No usage has been imported yet" in answer.text


def test_did_you_mean_gives_no_numbers(session):
    fx.load(session)
    settings = load_settings(database_url="sqlite://", mapping_file="/nonexistent/m.yml")
    answer = answer_question(session, "how much did tem serch spend last week", settings=settings,
                             clock=FixedClock(fx.NOW))
    assert answer.text.startswith("I could not match “tem” and “serch” to a question word or a stored value. "
                                  "Did you mean: how much did team search spend last week?")
    assert answer.blocks[0]["text"]["text"].startswith("I could not match “tem” and “serch” to a question word or a "
                                                       "stored value. Did you mean: *how much did team search spend "
                                                       "last week*?")
    assert "$" not in answer.text
    assert "result" not in answer.data
    assert answer.follow_ups == ["how much did team search spend last week", "help"]


def test_misspelled_question_gets_did_you_mean(session):
    fx.load(session)
    settings = load_settings(database_url="sqlite://", mapping_file="/nonexistent/m.yml")
    answer = answer_question(session, "spnd by tem", settings=settings, clock=FixedClock(fx.NOW))
    assert answer.text.startswith("I could not match “spnd” and “tem” to a question word or a stored value. "
                                  "Did you mean: spend by team?")
    assert "$" not in answer.text
    assert "result" not in answer.data
    assert answer.data["query"]["corrected"] == "spend by team"
    assert answer.follow_ups == ["spend by team", "help"]


def test_nonsense_question_gets_help(session):
    fx.load(session)
    settings = load_settings(database_url="sqlite://", mapping_file="/nonexistent/m.yml")
    answer = answer_question(session, "purple monkey dishwasher", settings=settings, clock=FixedClock(fx.NOW))
    assert answer.text.startswith("I could not read that as a cost question (it names no period, cost, team or "
                                  "other word I know).")
    assert "Did you mean" not in answer.text
    # The examples name a stored team and feature, and the follow-ups are the first two examples.
    assert "• how much did team data spend in November" in answer.text
    assert "• retry overhead for doc-extraction last 14 days" in answer.text
    assert answer.follow_ups == ["how much did we spend last week", "spend by team this month"]


def test_answer_states_period_zone_freshness(session):
    fx.load(session)
    settings = load_settings(database_url="sqlite://", timezone="America/New_York", mapping_file="/nonexistent/m.yml")
    answer = answer_question(session, "spend for team support last week", settings=settings, clock=FixedClock(fx.NOW))
    context = [element["text"] for block in answer.blocks if block["type"] == "context" for element in block["elements"]]
    # last week in New York is Nov 9 05:00 UTC to Nov 16 05:00 UTC; the newest row is the daily bucket
    # of 11-16 UTC, which ends 11-17 00:00 UTC = 11-16 19:00 in New York (UTC-5)
    assert context[0] == ("last week (Nov 9 – Nov 15, 2026) · team support · times in America/New_York · "
                          "data up to 2026-11-16 19:00")
    assert answer.data["period"]["start"] == "2026-11-09T05:00:00+00:00"
    # support: 11-11 00:00 UTC rows 3.25 + 0.80 (09:00) + 5.00, 11-13 reported 4.40 = 13.45
    assert answer.data["result"]["total"] == "13.45"
    assert len(answer.follow_ups) == 2


def test_freshness_as_of_past_moment(session):
    # Asked as of Nov 13 12:00 UTC, the newest rows it could see are the daily buckets of Nov 13,
    # which end Nov 14 00:00, so the data reaches the moment asked and no further.
    fx.load(session)
    settings = load_settings(database_url="sqlite://", mapping_file="/nonexistent/m.yml")
    at = datetime(2026, 11, 13, 12, tzinfo=timezone.utc)
    answer = answer_question(session, "spend last 7 days", settings=settings, clock=FixedClock(at))
    assert datetime.fromisoformat(answer.data["data_up_to"]) == at
    assert "data up to 2026-11-13 12:00" in answer.text
    # As of Nov 18 12:00 the newest row is the daily bucket of Nov 16, which ends Nov 17 00:00.
    later = answer_question(session, "spend last 7 days", settings=settings, clock=FixedClock(fx.NOW))
    assert datetime.fromisoformat(later.data["data_up_to"]) == datetime(2026, 11, 17, tzinfo=timezone.utc)


def test_time_series_answer_has_chart(session):
    fx.load(session)
    settings = load_settings(database_url="sqlite://", mapping_file="/nonexistent/m.yml")
    answer = answer_question(session, "spend by day last week", settings=settings, clock=FixedClock(fx.NOW))
    assert answer.chart_png is not None
    assert answer.chart_png.startswith(b"\x89PNG\r\n\x1a\n")
    no_chart = answer_question(session, "spend by team last week", settings=settings, clock=FixedClock(fx.NOW))
    assert no_chart.chart_png is None


def test_bar_chart_is_png():
    png = bar_chart([("2026-11-10", Decimal("197.25")), ("2026-11-11", Decimal("9.05"))], title="Spend by day")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 1000


def test_follow_ups_skip_the_question_asked(session):
    fx.load(session)
    settings = load_settings(database_url="sqlite://", mapping_file="/nonexistent/m.yml")
    answer = answer_question(session, "Spend by team last week?", settings=settings, clock=FixedClock(fx.NOW))
    assert answer.follow_ups == ["why did spend go up last week", "top 5 features by spend last week"]


def test_forecast_without_spend_has_no_chart(session):
    # Team data has only an unpriced usage row, so its last 7 days spent nothing.
    fx.load(session)
    settings = load_settings(database_url="sqlite://", mapping_file="/nonexistent/m.yml")

    answer = answer_question(session, "month-end forecast for team data", settings=settings, clock=FixedClock(fx.NOW))

    assert answer.chart_png is None
    assert "No spend in the last 7 days, so there is no daily chart to show." in answer.text
    assert answer.text.startswith("Team data: $0.00 forecast for November 2026")


def test_forecast_with_spend_has_chart(session):
    fx.load(session)
    settings = load_settings(database_url="sqlite://", mapping_file="/nonexistent/m.yml")

    answer = answer_question(session, "month-end forecast for team search", settings=settings, clock=FixedClock(fx.NOW))

    assert answer.chart_png is not None
    assert answer.chart_png.startswith(b"\x89PNG\r\n\x1a\n")
    assert "no daily chart" not in answer.text
