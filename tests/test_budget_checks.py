"""Budget checks: spend so far, share, forecast, days until reset, drivers and SQL statement count."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from bot.budgets.blocks import drivers_text
from bot.budgets.checks import check_budgets, driver_dimension, forecast_spend
from bot.budgets.config import parse_budgets
from bot.models import LlmUsage, Outcome, ToolUsage

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


def _llm(session, when: datetime, amount: str, *, team="search", feature="semantic-search", model="gpt-5", key=None):
    session.add(LlmUsage(
        source="test", natural_key=key or f"{when.isoformat()}:{team}:{feature}:{model}:{amount}", start_time=when,
        bucket_seconds=3600, provider="openai", model=model, team=team, feature=feature,
        cost_usd=Decimal(amount), cost_origin="reported",
    ))


def _budgets(text: str):
    return parse_budgets("budgets:\n" + text, Path("budgets.yml"))


SEARCH = """\
  - name: search-monthly
    scope: {team: [search]}
    period: monthly
    amount_usd: "3000"
    owner: U0SEARCH1
"""


def test_forecast_method():
    # 700 spent; 1400 in the trailing 7 days is 200 a day; 10.5 days left add 2100.
    forecast = forecast_spend(Decimal(700), Decimal(1400), timedelta(days=7), timedelta(days=10, hours=12))

    assert forecast == Decimal("2800.00")
    assert forecast_spend(Decimal(700), Decimal(1400), timedelta(days=7), timedelta(0)) == Decimal("700.00")


def test_driver_dimension_by_scope():
    assert driver_dimension(("team",)) == "feature"
    assert driver_dimension(("feature", "team")) == "model"
    assert driver_dimension(()) == "team"
    assert driver_dimension(("tenant",)) == "team"


def test_status_of_team_budget(session):
    # Nov 1..19 (UTC): search spends 100 a day on semantic-search and 50 on web-answers;
    # support spends 1000 a day, which is outside the scope.
    for day in range(1, 20):
        when = datetime(2026, 11, day, 10, tzinfo=UTC)
        _llm(session, when, "100")
        _llm(session, when, "50", feature="web-answers")
        _llm(session, when, "1000", team="support", feature="ticket-classifier")
    session.add(Outcome(source="test", natural_key="o1", start_time=datetime(2026, 11, 3, tzinfo=UTC),
                        bucket_seconds=86400, team="search", feature="semantic-search", succeeded=10,
                        review_cost_usd=Decimal("30")))
    session.commit()
    now = datetime(2026, 11, 20, tzinfo=UTC)

    (status,) = check_budgets(session, _budgets(SEARCH), now=now, tz=BERLIN)

    # 19 days x 150 = 2850, plus 30 of review = 2880; share 2880 / 3000 = 96%.
    assert status.spent == Decimal("2880")
    assert status.share_pct == Decimal("96.00")
    # Trailing 7 days (Nov 13..19) = 7 x 150 = 1050, 150 a day; the period ends at
    # 2026-11-30 23:00 UTC, 10 days 23 hours after now: 150 x 10.9583 = 1643.75.
    assert status.forecast == Decimal("4523.75")
    assert status.forecast_pct == Decimal("150.79")
    assert status.days_until_reset == 11
    assert [(driver.label, driver.amount) for driver in status.drivers] == [
        ("feature semantic-search", Decimal("1930")),  # 19 x 100 + 30
        ("feature web-answers", Decimal("950")),
    ]


def test_kinds_narrow_and_multi_value_scope(session):
    when = datetime(2026, 11, 2, tzinfo=UTC)
    _llm(session, when, "10", team="search")
    _llm(session, when, "20", team="data", feature="doc-extraction")
    _llm(session, when, "40", team="support", feature="ticket-classifier")
    session.add(ToolUsage(source="test", natural_key="t1", start_time=when, bucket_seconds=86400, tool="web_search",
                          team="search", calls=10, cost_usd=Decimal("5"), cost_origin="reported"))
    session.commit()
    budgets = _budgets("""\
  - name: search-and-data
    scope: {team: [search, data]}
    period: monthly
    amount_usd: "100"
    owner: U0SEARCH1
  - name: search-tools
    scope: {team: [search]}
    period: monthly
    amount_usd: "100"
    owner: U0SEARCH1
    kinds: [tools]
  - name: all-spend
    period: monthly
    amount_usd: "1000"
    owner: U0FINOPS1
""")

    statuses = check_budgets(session, budgets, now=datetime(2026, 11, 3, tzinfo=UTC), tz=UTC)

    assert [status.spent for status in statuses] == [
        Decimal("35"),  # 10 + 20 + 5 of tools
        Decimal("5"),
        Decimal("75"),  # 10 + 20 + 40 + 5
    ]
    assert [(driver.label, driver.amount) for driver in statuses[2].drivers] == [
        ("team support", Decimal("40")), ("team data", Decimal("20")), ("team search", Decimal("15")),
    ]


def test_statement_count_independent_of_budget_count(engine, session):
    _llm(session, datetime(2026, 11, 2, tzinfo=UTC), "10")
    session.commit()
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def budgets_file(count_: int):
        entries = "".join(
            f"  - name: team-{index}\n    scope: {{team: [team-{index}]}}\n    period: monthly\n"
            f"    amount_usd: \"100\"\n    owner: U0OWNER01\n"
            f"  - name: feature-{index}\n    scope: {{feature: [f-{index}]}}\n    period: weekly\n"
            f"    amount_usd: \"100\"\n    owner: U0OWNER01\n"
            for index in range(count_)
        )
        return parse_budgets("budgets:\n" + entries, Path("budgets.yml"))

    event.listen(engine, "before_cursor_execute", count)
    try:
        check_budgets(session, budgets_file(2), now=datetime(2026, 11, 3, tzinfo=UTC), tz=UTC)
        few = len(statements)
        statements.clear()
        check_budgets(session, budgets_file(300), now=datetime(2026, 11, 3, tzinfo=UTC), tz=UTC)
        many = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert few > 0
    assert many == few


def test_feature_drivers_split_spend_without_model(session):
    # A feature budget is split by model. LLM spend without a model (a provider cost report) is
    # "(unallocated)", and tool and review spend, which cannot have a model, is one driver named
    # by its kinds, as `costbot ask` names both: $12 + $300 = $312.
    when = datetime(2026, 11, 3, 10, tzinfo=UTC)
    _llm(session, when, "40", team="support", feature="ticket-classifier", model="gpt-5.2")
    _llm(session, when, "25", team="support", feature="ticket-classifier", model=None)
    session.add(Outcome(source="test", natural_key="review", start_time=when, bucket_seconds=86400, team="support",
                        feature="ticket-classifier", succeeded=10, review_cost_usd=Decimal("300")))
    session.add(ToolUsage(source="test", natural_key="search", start_time=when, bucket_seconds=3600, tool="web_search",
                          provider="openai", calls=1200, cost_usd=Decimal("12"), cost_origin="reported",
                          team="support", feature="ticket-classifier"))
    session.commit()
    budgets = _budgets("""\
  - name: support-classifier-monthly
    scope: {feature: [ticket-classifier]}
    period: monthly
    amount_usd: "1000"
    owner: U0SUPP001
""")

    (status,) = check_budgets(session, budgets, now=datetime(2026, 11, 20, tzinfo=UTC), tz=UTC)

    assert [(driver.label, driver.amount) for driver in status.drivers] == [
        ("no model: tools, review", Decimal("312")),
        ("model gpt-5.2", Decimal("40")),
        ("model (unallocated)", Decimal("25")),
    ]
    # The alert lists them without a colon after the label, which may contain one itself.
    assert drivers_text(status) == "no model: tools, review $312.00\nmodel gpt-5.2 $40.00\nmodel (unallocated) $25.00"
