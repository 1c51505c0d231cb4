"""The weekly digest: budgets that need attention, movers, cost per success and open findings."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from bot.budgets.config import parse_budgets
from bot.budgets.digest import send_digests
from bot.clock import FixedClock
from bot.models import Finding, LlmUsage, OutboxMessage, Outcome
from bot.settings import load_settings

UTC = timezone.utc
# Monday 2026-11-23 09:00 in Berlin. "This week" is Nov 16 08:00 to Nov 23 08:00 UTC.
NOW = datetime(2026, 11, 23, 8, tzinfo=UTC)

BUDGETS = parse_budgets("""\
budgets:
  - name: search-monthly
    scope: {team: [search]}
    period: monthly
    amount_usd: "12000"
    owner: U0SEARCH1
    channel: C0SEARCHCOST
  - name: data-monthly
    scope: {team: [data]}
    period: monthly
    amount_usd: "10000"
    owner: U0DATA001
    channel: C0DATACOST
""", Path("budgets.yml"))


def _llm(session, day: int, amount: str, team: str, feature: str) -> None:
    session.add(LlmUsage(
        source="test", natural_key=f"{day}:{team}:{amount}", start_time=datetime(2026, 11, day, 10, tzinfo=UTC),
        bucket_seconds=3600, provider="openai", model="gpt-5", team=team, feature=feature,
        cost_usd=Decimal(amount), cost_origin="reported",
    ))


@pytest.fixture
def loaded(session):
    _llm(session, 2, "9000", "search", "semantic-search")
    _llm(session, 11, "400", "search", "semantic-search")  # the week before
    _llm(session, 18, "1000", "search", "semantic-search")  # this week
    _llm(session, 11, "500", "data", "doc-extraction")
    _llm(session, 18, "500", "data", "doc-extraction")
    for day, succeeded in ((11, 80), (18, 100)):
        session.add(Outcome(source="test", natural_key=f"o{day}", start_time=datetime(2026, 11, day, tzinfo=UTC),
                            bucket_seconds=86400, team="search", feature="semantic-search", succeeded=succeeded))
    session.add(Finding(rule_id="retry-spike", scope_key="feature=doc-extraction", severity="warning",
                        window_start=datetime(2026, 11, 16, tzinfo=UTC), window_end=NOW, facts={},
                        recommendation="Retries rose to 25% of requests.", created_at=NOW))
    session.commit()
    return session


def _messages(session) -> dict[str, OutboxMessage]:
    session.expire_all()
    return {row.channel: row for row in session.exec(select(OutboxMessage))}


def test_digest_per_channel(loaded):
    settings = load_settings(timezone="Europe/Berlin", default_channel="C0COSTS")

    queued = send_digests(loaded, settings=settings, clock=FixedClock(NOW), budgets=BUDGETS)

    assert queued == 2  # data-monthly needs no attention, so C0DATACOST gets nothing
    messages = _messages(loaded)
    assert sorted(messages) == ["C0COSTS", "C0SEARCHCOST"]
    # search: 9000 + 400 + 1000 = 10400 of 12000 = 87%. Forecast: 1000 in the last 7 days is
    # 142.86 a day, times the 7.625 days to 2026-11-30 23:00 UTC: 10400 + 1089.29 = 96%.
    budget_line = ("• *search-monthly* (team search, monthly): $10,400.00 of $12,000.00 (87%), forecast 96%, "
                   "resets 2026-12-01")
    assert messages["C0SEARCHCOST"].text == (
        f"Weekly cost digest, week of 2026-11-23\n\n*Budgets that need attention*\n{budget_line}"
    )
    assert messages["C0SEARCHCOST"].idempotency_key == "digest:C0SEARCHCOST:2026-11-23"
    sections = messages["C0COSTS"].text.split("\n\n")
    assert sections[1:] == [
        f"*Budgets that need attention*\n{budget_line}",
        # search 400 -> 1000 is +150%; data stays at 500 and is left out.
        "*Biggest movers, week over week*\n• team search: $400.00 → $1,000.00 (+150%)",
        # 1000 / 100 successes = 10.00; the week before 400 / 80 = 5.00.
        "*Cost per success of the main workflows, last 7 days*\n"
        "• semantic-search: $10.00 per success, 100 successes (+100% vs the week before)",
        "*Open findings*\n• retry-spike (feature=doc-extraction): Retries rose to 25% of requests.",
    ]


def test_digest_queued_once_per_week(loaded):
    settings = load_settings(timezone="Europe/Berlin", default_channel="C0COSTS")
    clock = FixedClock(NOW)

    first = send_digests(loaded, settings=settings, clock=clock, budgets=BUDGETS)
    second = send_digests(loaded, settings=settings, clock=clock, budgets=BUDGETS)

    assert (first, second) == (2, 0)
    assert len(_messages(loaded)) == 2


def test_quiet_week_short_message(session):
    settings = load_settings(timezone="Europe/Berlin", default_channel="C0COSTS")

    queued = send_digests(session, settings=settings, clock=FixedClock(NOW), budgets=BUDGETS)

    assert queued == 1
    assert _messages(session)["C0COSTS"].text == (
        "Weekly cost digest, week of 2026-11-23\n\n"
        "Nothing needs attention this week: every budget is under 50% and forecast within its amount."
    )
