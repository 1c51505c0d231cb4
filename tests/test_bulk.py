"""Single-statement inserts: values read back exactly, rows with a stored key skipped."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlmodel import select

from bot.bulk import insert_new_rows
from bot.models import BudgetAlert, OutboxMessage

UTC = timezone.utc
KEY = ("budget_name", "period_start", "threshold_pct", "kind")


def _alert(name: str, threshold: int, spend: str, forecast: str | None = None) -> dict:
    return dict(
        budget_name=name, period_start=datetime(2026, 11, 1, tzinfo=UTC), threshold_pct=threshold, kind="actual",
        spend_usd=Decimal(spend), forecast_usd=None if forecast is None else Decimal(forecast),
        created_at=datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=UTC), covered_by_pct=None,
    )


def test_values_read_back_exactly(session):
    rows = [_alert("search", 50, "1500.000000001", "3100.5"), _alert("ads", 80, "0.000000003")]
    returned = insert_new_rows(session, BudgetAlert, rows, key=KEY, returning=KEY)
    session.commit()

    assert returned == [("search", datetime(2026, 11, 1, tzinfo=UTC), 50, "actual"),
                        ("ads", datetime(2026, 11, 1, tzinfo=UTC), 80, "actual")]
    stored = session.exec(select(BudgetAlert).order_by(BudgetAlert.id)).all()
    assert [(a.budget_name, a.spend_usd, a.forecast_usd, a.created_at) for a in stored] == [
        ("search", Decimal("1500.000000001"), Decimal("3100.5"), datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=UTC)),
        ("ads", Decimal("0.000000003"), None, datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=UTC)),
    ]
    # A stored time compares with a bound one, so the SQLite text has the ORM's format.
    later = select(BudgetAlert).where(BudgetAlert.created_at > datetime(2026, 11, 20, 9, 30, 15, tzinfo=UTC))
    assert len(session.exec(later).all()) == 2


def test_stored_keys_skipped(session):
    insert_new_rows(session, BudgetAlert, [_alert("search", 50, "10")], key=KEY, returning=KEY)
    returned = insert_new_rows(
        session, BudgetAlert, [_alert("search", 50, "99"), _alert("search", 80, "20")], key=KEY, returning=["threshold_pct"]
    )
    session.commit()

    assert returned == [(80,)]
    stored = session.exec(select(BudgetAlert.threshold_pct, BudgetAlert.spend_usd).order_by(BudgetAlert.threshold_pct)).all()
    assert stored == [(50, Decimal("10")), (80, Decimal("20"))]


def test_json_text_and_order_kept(session):
    now = datetime(2026, 11, 20, tzinfo=UTC)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Spend* 80% \u2014 \"quoted\" <ok>"}}]
    rows = [
        dict(idempotency_key=f"k{index}", kind="alert", channel=f"C{index}", thread_ts=None, text=f"line {index}\nsecond",
             blocks=blocks if index % 2 else None, status="pending", attempts=0,
             next_attempt_at=now + timedelta(minutes=index), created_at=now)
        for index in (3, 1, 2)
    ]
    returned = insert_new_rows(session, OutboxMessage, rows, key=["idempotency_key"], returning=["idempotency_key"])
    session.commit()

    assert returned == [("k3",), ("k1",), ("k2",)]
    stored = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(m.idempotency_key, m.text, m.blocks) for m in stored] == [
        ("k3", "line 3\nsecond", blocks), ("k1", "line 1\nsecond", blocks), ("k2", "line 2\nsecond", None),
    ]
    assert [m.next_attempt_at for m in stored] == [now + timedelta(minutes=3), now + timedelta(minutes=1), now + timedelta(minutes=2)]


def test_no_rows_returns_empty(session):
    assert insert_new_rows(session, BudgetAlert, [], key=KEY, returning=KEY) == []
