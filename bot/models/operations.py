"""Tables of the bot's own state: the Slack outbox, alerts sent, snoozes, findings and job leases."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.types import Money, UTCDateTime


class OutboxMessage(SQLModel, table=True):
    """A Slack message waiting to be posted, or posted.

    `idempotency_key` is unique, so enqueueing the same alert or finding twice keeps one
    row, and a row marked `sent` is never posted again.
    """

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=300, unique=True)
    kind: str = Field(max_length=30)  # alert, finding, digest, answer
    channel: str = Field(max_length=100)  # channel id, #name or a user id for a DM
    thread_ts: str | None = Field(default=None, max_length=50)
    text: str
    blocks: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)
    status: str = Field(default="pending", max_length=20, index=True)  # pending, sending, sent, dead
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    slack_ts: str | None = Field(default=None, max_length=50)


class SlackEventSeen(SQLModel, table=True):
    """Slack event ids already handled, so a redelivered event is answered once."""

    __tablename__ = "slack_event_seen"

    event_id: str = Field(primary_key=True, max_length=100)
    seen_at: datetime = Field(sa_type=UTCDateTime, index=True)


class BudgetAlert(SQLModel, table=True):
    """An alert sent for a budget, period, threshold and kind (actual or forecast).

    The unique constraint is what guarantees one alert per threshold per period, even with
    two workers checking at the same moment.
    """

    __tablename__ = "budget_alert"
    __table_args__ = (
        UniqueConstraint("budget_name", "period_start", "threshold_pct", "kind", name="uq_budget_alert_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    budget_name: str = Field(max_length=200, index=True)
    period_start: datetime = Field(sa_type=UTCDateTime)
    threshold_pct: int = Field(gt=0)
    kind: str = Field(max_length=20)  # actual, forecast
    spend_usd: Decimal = Field(sa_type=Money)
    forecast_usd: Decimal | None = Field(default=None, sa_type=Money)
    created_at: datetime = Field(sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=50)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set on a threshold crossed in the same check as a higher one: no message of its own was
    # sent, because the alert for `covered_by_pct` named it.
    covered_by_pct: int | None = Field(default=None)


class BudgetSnooze(SQLModel, table=True):
    """A budget kept quiet until `until`, unless a threshold above `threshold_pct` is crossed."""

    __tablename__ = "budget_snooze"

    budget_name: str = Field(primary_key=True, max_length=200)
    until: datetime = Field(sa_type=UTCDateTime)
    threshold_pct: int = 0
    snoozed_by: str = Field(max_length=50)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Finding(SQLModel, table=True):
    """What a rule found for one scope in one window, and what became of it."""

    __tablename__ = "finding"
    __table_args__ = (UniqueConstraint("rule_id", "scope_key", "window_end", name="uq_finding_rule_scope_window"),)

    id: int | None = Field(default=None, primary_key=True)
    rule_id: str = Field(max_length=200, index=True)
    scope_key: str = Field(max_length=500)  # e.g. "feature=support-triage"
    severity: str = Field(max_length=20)
    window_start: datetime = Field(sa_type=UTCDateTime)
    window_end: datetime = Field(sa_type=UTCDateTime)
    facts: dict[str, Any] = Field(sa_type=JSON)
    recommendation: str
    monthly_saving_usd: Decimal | None = Field(default=None, sa_type=Money)
    guidance_urls: list[str] = Field(default_factory=list, sa_type=JSON)
    notify: str | None = Field(default=None, max_length=100)
    status: str = Field(default="open", max_length=20, index=True)  # open, acknowledged, snoozed
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=50)
    created_at: datetime = Field(sa_type=UTCDateTime)
    notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class JobLease(SQLModel, table=True):
    """Which worker runs a scheduled job now; a lease row makes each run happen once."""

    __tablename__ = "job_lease"

    job_id: str = Field(primary_key=True, max_length=100)
    holder: str | None = Field(default=None, max_length=200)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The scheduled fire time of the last run claimed; a second worker skips that same run.
    last_scheduled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
