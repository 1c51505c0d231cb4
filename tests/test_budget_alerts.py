"""Budget alerts: once per budget, period, threshold and kind, with snoozes, forecasts and races."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.budgets.actions import acknowledge, snooze
from bot.budgets.alerts import run_check
from bot.budgets.config import parse_budgets
from bot.clock import FixedClock
from bot.models import BudgetAlert, BudgetSnooze, LlmUsage, OutboxMessage

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
GUIDANCE = "https://guidance.example"


def _llm(session, when: datetime, amount: str, *, team="search", feature="semantic-search"):
    session.add(LlmUsage(
        source="test", natural_key=f"{when.isoformat()}:{team}:{feature}:{amount}", start_time=when,
        bucket_seconds=3600, provider="openai", model="gpt-5", team=team, feature=feature,
        cost_usd=Decimal(amount), cost_origin="reported",
    ))


def _budget(*, period="monthly", amount="3000", forecast="false", thresholds="[50, 80, 100]", channel=""):
    text = f"""\
budgets:
  - name: search
    scope: {{team: [search]}}
    period: {period}
    amount_usd: "{amount}"
    thresholds: {thresholds}
    forecast_alerts: {forecast}
    owner: U0SEARCH1
{channel}"""
    return parse_budgets(text, Path("budgets.yml"))


def _check(session, budgets, now, tz=UTC, **options):
    return run_check(session, budgets, now=now, tz=tz, guidance_base_url=GUIDANCE, **options)


def _alerts(session) -> list[tuple]:
    session.expire_all()
    rows = session.exec(select(BudgetAlert).order_by(BudgetAlert.period_start, BudgetAlert.threshold_pct, BudgetAlert.kind))
    return [(row.period_start.date().isoformat(), row.threshold_pct, row.kind, row.covered_by_pct) for row in rows]


def _outbox(session) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_month_of_crossings_and_rollover(session):
    # 100 a day from Nov 1 to Nov 30 against 3000: 50% on day 15, 80% on day 24, 100% on day 30.
    for day in range(1, 31):
        _llm(session, datetime(2026, 11, day, tzinfo=UTC), "100")
    session.commit()
    budgets = _budget()

    sent_on = {}
    for day in range(1, 31):
        report = _check(session, budgets, datetime(2026, 11, day, 12, tzinfo=UTC))
        for plan in report.sent:
            sent_on[plan.threshold] = day
    assert sent_on == {50: 15, 80: 24, 100: 30}
    assert _alerts(session) == [("2026-11-01", 50, "actual", None), ("2026-11-01", 80, "actual", None),
                                ("2026-11-01", 100, "actual", None)]
    assert [row.idempotency_key for row in _outbox(session)] == [
        "budget:search:2026-11-01T00:00:00+00:00:50:actual:U0SEARCH1",
        "budget:search:2026-11-01T00:00:00+00:00:80:actual:U0SEARCH1",
        "budget:search:2026-11-01T00:00:00+00:00:100:actual:U0SEARCH1",
    ]

    # December starts clean: nothing on Dec 1, then 1600 (53%) on Dec 2 sends 50% again.
    assert _check(session, budgets, datetime(2026, 12, 1, 12, tzinfo=UTC)).due == []
    _llm(session, datetime(2026, 12, 2, tzinfo=UTC), "1600")
    session.commit()
    report = _check(session, budgets, datetime(2026, 12, 2, 12, tzinfo=UTC))
    assert [(plan.threshold, plan.kind) for plan in report.sent] == [(50, "actual")]
    assert _alerts(session)[-1] == ("2026-12-01", 50, "actual", None)


def test_several_thresholds_one_alert(session):
    _llm(session, datetime(2026, 11, 2, tzinfo=UTC), "2500")  # 83% of 3000
    session.commit()

    report = _check(session, _budget(channel="    channel: C0SEARCHCOST\n"), datetime(2026, 11, 2, 12, tzinfo=UTC))

    assert [(plan.threshold, plan.covered) for plan in report.sent] == [(80, [(50, "actual")])]
    assert _alerts(session) == [("2026-11-01", 50, "actual", 80), ("2026-11-01", 80, "actual", None)]
    messages = _outbox(session)
    assert [message.channel for message in messages] == ["U0SEARCH1", "C0SEARCHCOST"]
    # Forecast: 2500 in the trailing week is 357.14 a day, times the 28.5 days left, plus 2500.
    assert messages[0].text == (
        "Budget search crossed 80%: $2,500.00 of $3,000.00 (83%) used; forecast $12,678.57 (423%) by its reset on 2026-12-01."
    )


def test_alert_blocks_content(session):
    _llm(session, datetime(2026, 11, 2, tzinfo=UTC), "1600")
    session.commit()

    _check(session, _budget(), datetime(2026, 11, 2, 12, tzinfo=UTC))

    (message,) = _outbox(session)
    blocks = message.blocks
    assert blocks[0]["text"]["text"] == "Budget search: 50% crossed"
    fields = [field["text"] for field in blocks[1]["fields"]]
    assert fields == [
        "*Spent*\n$1,600.00 of $3,000.00",
        "*Share used*\n53%",
        # 1600 in the trailing week is 228.57 a day; 28.5 days remain: 1600 + 6514.29.
        "*Forecast at reset*\n$8,114.29 (270%)",
        "*Resets*\n2026-12-01 (in 29 days)",
    ]
    assert blocks[2]["text"]["text"] == "*Top drivers*\nfeature semantic-search $1,600.00"
    assert blocks[3]["elements"][0]["text"].endswith(
        "<https://guidance.example/models-and-apis/llm-cost-allocation-showback-and-budget-ownership-for-ai-products/"
        "|LLM cost allocation and showback>"
    )
    buttons = blocks[4]["elements"]
    assert [button["action_id"] for button in buttons] == ["budget_ack", "budget_snooze_1d", "budget_snooze_7d", "open_guidance"]
    assert json.loads(buttons[0]["value"]) == {"budget": "search", "period_start": "2026-11-01T00:00:00+00:00", "threshold": 50}


def test_forecast_alert_then_actual(session):
    # 200 a day for Nov 1..7: on Nov 8 00:00, 1400 spent (47%), forecast 1400 + 200 x 23 = 6000.
    for day in range(1, 8):
        _llm(session, datetime(2026, 11, day, tzinfo=UTC), "200")
    session.commit()
    budgets = _budget(forecast="true")

    first = _check(session, budgets, datetime(2026, 11, 8, tzinfo=UTC))
    assert [(plan.threshold, plan.kind) for plan in first.sent] == [(100, "forecast")]
    assert first.statuses[0].forecast == Decimal("6000.00")
    assert _outbox(session)[0].text == (
        "Budget search is forecast to reach 200% ($6,000.00 of $3,000.00) by its reset on 2026-12-01, "
        "past the 100% threshold; 47% is used so far."
    )

    _llm(session, datetime(2026, 11, 8, tzinfo=UTC), "200")
    session.commit()
    second = _check(session, budgets, datetime(2026, 11, 8, 12, tzinfo=UTC))  # 1600 = 53%
    assert [(plan.threshold, plan.kind) for plan in second.sent] == [(50, "actual")]
    assert _check(session, budgets, datetime(2026, 11, 8, 13, tzinfo=UTC)).due == []


def test_snooze_quiet_unless_higher_threshold(session):
    clock = FixedClock(datetime(2026, 11, 28, 12, tzinfo=UTC))
    _llm(session, datetime(2026, 11, 28, tzinfo=UTC), "1600")
    session.commit()
    budgets = _budget(forecast="true")
    first = _check(session, budgets, clock.now())
    assert [(plan.threshold, plan.kind) for plan in first.sent] == [(50, "actual")]

    confirmation = snooze(session, budget="search", days=7, user_id="U0SEARCH1", is_admin=False, clock=clock, budgets=budgets)
    assert confirmation == "<@U0SEARCH1> snoozed budget search until 2026-12-05 12:00 UTC; alerts above 50% still come through."
    assert session.get(BudgetSnooze, "search").threshold_pct == 50

    # A new period inside the snooze: crossing 50% again, and a forecast past 100%, stay quiet.
    _llm(session, datetime(2026, 12, 1, tzinfo=UTC), "1600")
    session.commit()
    clock.set(datetime(2026, 12, 1, 12, tzinfo=UTC))
    quiet = _check(session, budgets, clock.now())
    assert quiet.due == []
    assert quiet.snoozed == 1
    assert quiet.statuses[0].forecast_pct > 100

    # 80% is above the snoozed threshold and comes through, naming the quiet crossings as covered.
    _llm(session, datetime(2026, 12, 2, tzinfo=UTC), "1000")
    session.commit()
    clock.set(datetime(2026, 12, 2, 12, tzinfo=UTC))
    higher = _check(session, budgets, clock.now())
    assert [(plan.threshold, plan.kind, plan.covered) for plan in higher.sent] == [
        (80, "actual", [(50, "actual"), (100, "forecast")])
    ]
    message = _outbox(session)[-1]
    assert message.blocks[0]["text"]["text"] == "Budget search: 80% crossed, forecast past 100%"
    assert message.text.startswith("Budget search crossed 80%: $2,600.00 of $3,000.00 (87%) used; forecast past 100%: ")

    # After the snooze ends nothing is left to send for December.
    clock.set(datetime(2026, 12, 5, 13, tzinfo=UTC))
    assert _check(session, budgets, clock.now()).due == []


def test_snoozed_forecast_sent_after_snooze(session):
    clock = FixedClock(datetime(2026, 11, 7, 12, tzinfo=UTC))
    for day in range(1, 8):
        _llm(session, datetime(2026, 11, day, tzinfo=UTC), "200")
    session.commit()
    budgets = _budget(forecast="true")
    snooze(session, budget="search", days=1, user_id="U0SEARCH1", is_admin=False, clock=clock, budgets=budgets)

    # Nov 8 00:00: forecast 6000 (200%) but snoozed until Nov 8 12:00.
    quiet = _check(session, budgets, datetime(2026, 11, 8, tzinfo=UTC))
    released = _check(session, budgets, datetime(2026, 11, 8, 12, tzinfo=UTC))

    assert quiet.due == []
    assert quiet.snoozed == 1
    assert [(plan.threshold, plan.kind) for plan in released.sent] == [(100, "forecast")]


def test_snooze_and_acknowledge_permissions(session):
    clock = FixedClock(datetime(2026, 11, 2, 12, tzinfo=UTC))
    budgets = _budget()

    with pytest.raises(PermissionError, match=r"only the owner of budget search \(<@U0SEARCH1>\) or an admin can change its alerts"):
        snooze(session, budget="search", days=1, user_id="U0OTHER01", is_admin=False, clock=clock, budgets=budgets)
    with pytest.raises(PermissionError):
        acknowledge(session, budget="search", user_id="U0OTHER01", is_admin=False, clock=clock, budgets=budgets)
    with pytest.raises(LookupError, match="budget 'nope' is not in the budgets file"):
        acknowledge(session, budget="nope", user_id="U0SEARCH1", is_admin=False, clock=clock, budgets=budgets)
    with pytest.raises(ValueError, match="cannot snooze for 0 days; choose 1 to 90 days"):
        snooze(session, budget="search", days=0, user_id="U0SEARCH1", is_admin=False, clock=clock, budgets=budgets)

    _llm(session, datetime(2026, 11, 2, tzinfo=UTC), "1600")
    session.commit()
    _check(session, budgets, clock.now())
    text = acknowledge(session, budget="search", user_id="U0ADMIN01", is_admin=True, clock=clock, budgets=budgets)

    assert text == "<@U0ADMIN01> acknowledged budget search (1 alerts)."
    row = session.exec(select(BudgetAlert)).one()
    assert row.acknowledged_by == "U0ADMIN01"
    assert row.acknowledged_at == clock.now()


def test_dst_change_daily_budget(session):
    # Berlin's Sunday 2026-10-25 lasts 25 hours: 22:00 UTC on the 24th to 23:00 UTC on the 25th.
    budgets = _budget(period="daily", amount="100")
    _llm(session, datetime(2026, 10, 24, 21, 30, tzinfo=UTC), "90")  # 23:30 on the 24th, local
    _llm(session, datetime(2026, 10, 24, 22, 30, tzinfo=UTC), "30")  # 00:30 on the 25th, local
    _llm(session, datetime(2026, 10, 25, 22, 30, tzinfo=UTC), "30")  # 23:30 on the 25th, local (the extra hour)
    session.commit()

    report = _check(session, budgets, datetime(2026, 10, 25, 22, 45, tzinfo=UTC), tz=BERLIN)

    status = report.statuses[0]
    assert status.spent == Decimal("60")
    assert status.period.start == datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert [(plan.threshold, plan.kind) for plan in report.sent] == [(50, "actual")]
    # 15 minutes later it is Monday in Berlin: a new period with no spend yet.
    later = _check(session, budgets, datetime(2026, 10, 25, 23, 0, tzinfo=UTC), tz=BERLIN)
    assert later.statuses[0].spent == Decimal("0")
    assert later.due == []


def test_dry_run_writes_nothing(session):
    _llm(session, datetime(2026, 11, 2, tzinfo=UTC), "1600")
    session.commit()

    report = _check(session, _budget(), datetime(2026, 11, 2, 12, tzinfo=UTC), dry_run=True)

    assert [(plan.threshold, plan.kind) for plan in report.due] == [(50, "actual")]
    assert report.sent == []
    assert _alerts(session) == []
    assert _outbox(session) == []


def test_two_workers_racing_send_one_alert(engine, session):
    _llm(session, datetime(2026, 11, 2, tzinfo=UTC), "2500")
    session.commit()
    budgets = _budget(channel="    channel: C0SEARCHCOST\n")
    now = datetime(2026, 11, 2, 12, tzinfo=UTC)
    barrier = threading.Barrier(2)
    reports = []
    errors = []

    def worker():
        try:
            with Session(engine, expire_on_commit=False) as own:
                barrier.wait(timeout=10)
                reports.append(_check(own, budgets, now))
        except Exception as exc:  # reported below so the assertion names it
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    # The second worker either saw the alert recorded or lost the insert to the first.
    assert sorted(len(report.sent) for report in reports) == [0, 1]
    assert _alerts(session) == [("2026-11-01", 50, "actual", 80), ("2026-11-01", 80, "actual", None)]
    assert [message.channel for message in _outbox(session)] == ["U0SEARCH1", "C0SEARCHCOST"]


def _many_budgets(count: int):
    # One budget per team, each crossing 50% and (covered) nothing else: $600 of $1,000.
    items = "".join(
        f"""  - name: team-{index}
    scope: {{team: [team-{index}]}}
    period: monthly
    amount_usd: "1000"
    owner: U0OWNER{index:04d}
"""
        for index in range(count)
    )
    return parse_budgets("budgets:\n" + items, Path("budgets.yml"))


def _statements_of_check(session, budgets, now) -> tuple[int, int]:
    from sqlalchemy import event

    counter = {"statements": 0}

    def count(*_args, **_kwargs):
        counter["statements"] += 1

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        report = _check(session, budgets, now)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return counter["statements"], len(report.sent)


def test_recording_alerts_batches_statements(session):
    # 1,200 alerts: more rows than one multi-row VALUES insert could take on SQLite.
    now = datetime(2026, 11, 20, tzinfo=UTC)
    for index in range(1200):
        _llm(session, datetime(2026, 11, 5, tzinfo=UTC), "600", team=f"team-{index}", feature=f"feature-{index}")
    session.commit()

    few_statements, few_sent = _statements_of_check(session, _many_budgets(6), now)
    session.execute(BudgetAlert.__table__.delete())
    session.execute(OutboxMessage.__table__.delete())
    session.commit()
    many_statements, many_sent = _statements_of_check(session, _many_budgets(1200), now)

    assert few_sent == 6
    assert many_sent == 1200
    # 200 times the alerts, the same statements: alert rows and messages go in one insert each.
    assert many_statements == few_statements
    messages = _outbox(session)
    assert len(messages) == 1200
    assert messages[0].channel == "U0OWNER0000"
    assert "team-0" in messages[0].text
    alerts = session.exec(select(BudgetAlert).where(BudgetAlert.budget_name == "team-7")).all()
    assert [(alert.threshold_pct, alert.spend_usd, alert.period_start) for alert in alerts] == [
        (50, Decimal("600"), datetime(2026, 11, 1, tzinfo=UTC))
    ]


def test_alert_counts_unpriced_rows(session):
    from bot.budgets.blocks import alert_blocks
    from bot.budgets.checks import check_budgets

    _llm(session, datetime(2026, 11, 2, tzinfo=UTC), "1600")
    session.commit()
    (status,) = check_budgets(session, _budget(), now=datetime(2026, 11, 2, 12, tzinfo=UTC), tz=UTC)

    for rows, text in ((1, "1 usage row has no known price and is not counted."),
                       (3, "3 usage rows have no known price and are not counted.")):
        status.unpriced_rows = rows
        blocks = alert_blocks(status, 50, "actual", guidance_base_url=GUIDANCE)
        notes = [element["text"] for block in blocks if block["type"] == "context" for element in block["elements"]]
        assert text in notes
