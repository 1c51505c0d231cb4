"""Decide which budget alerts are due, record them once, and queue them for Slack.

An alert is due once per budget, period, threshold and kind (actual or forecast). The
BudgetAlert table's unique constraint is what enforces it: the alert row and its outbox
messages are written in one transaction, and an insert that conflicts means another worker
(or an earlier run) already sent it, so nothing is queued.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from bot import outbox
from bot.bulk import insert_new_rows
from bot.budgets.blocks import alert_blocks, alert_text
from bot.budgets.checks import BudgetStatus, SpendQuery, add_drivers, check_budgets
from bot.budgets.config import Budget, BudgetSet
from bot.models import BudgetAlert, BudgetSnooze

logger = logging.getLogger(__name__)

ACTUAL = "actual"
FORECAST = "forecast"
# Forecast alerts warn before a budget breaks, so they use the thresholds of 100% and up
# (100% itself when the budget lists none that high).
FORECAST_MIN_PCT = 100


@dataclass
class AlertPlan:
    """One message to send for a budget, and the lower crossings it covers."""

    status: BudgetStatus
    threshold: int
    kind: str
    covered: list[tuple[int, str]] = field(default_factory=list)

    @property
    def forecast_past(self) -> int | None:
        """Return the highest forecast threshold an actual alert covers, or None."""
        covered = [threshold for threshold, kind in self.covered if kind == FORECAST]
        return max(covered) if self.kind == ACTUAL and covered else None

    @property
    def key(self) -> str:
        budget = self.status.budget
        return f"budget:{budget.name}:{self.status.period.start.isoformat()}:{self.threshold}:{self.kind}"

    def destinations(self) -> list[str]:
        budget = self.status.budget
        return [budget.owner] + ([budget.channel] if budget.channel else [])


@dataclass
class CheckReport:
    """The result of one check: statuses, alerts due, alerts recorded and those already sent."""

    statuses: list[BudgetStatus]
    due: list[AlertPlan]
    sent: list[AlertPlan] = field(default_factory=list)
    already_sent: int = 0
    snoozed: int = 0
    # Alerts recorded by earlier checks in the budgets' current periods, not counting the
    # thresholds that an alert covered.
    sent_earlier: int = 0


def forecast_thresholds(budget: Budget) -> list[int]:
    high = [pct for pct in budget.thresholds if pct >= FORECAST_MIN_PCT]
    return high or [FORECAST_MIN_PCT]


def plan_alert(
    status: BudgetStatus,
    recorded: set[tuple[int, str]],
    snooze: BudgetSnooze | None,
    now: datetime,
) -> tuple[AlertPlan | None, bool]:
    """Return the alert due for `status` (or None) and whether a snooze held one back.

    `recorded` contains the (threshold, kind) pairs already recorded for this period. Among the
    new actual crossings the highest gets the message and the lower ones are recorded as
    covered. While snoozed, forecast alerts and actual crossings at or below the snoozed
    threshold stay quiet and are not recorded, so they are sent after the snooze ends if
    still true.
    """
    budget = status.budget
    snoozed = snooze is not None and snooze.until > now

    crossed = status.crossed(status.spent)
    new_actual = [pct for pct in crossed if (pct, ACTUAL) not in recorded]
    new_forecast: list[int] = []
    if budget.forecast_alerts:
        reached = [pct for pct in forecast_thresholds(budget) if status.forecast * 100 >= budget.amount_usd * pct]
        new_forecast = [
            pct for pct in reached
            if pct not in crossed and (pct, FORECAST) not in recorded and (pct, ACTUAL) not in recorded
        ]

    audible = [pct for pct in new_actual if not snoozed or pct > snooze.threshold_pct]
    if audible:
        top = max(audible)
        # The message names the highest crossing and shows the forecast, so the lower
        # crossings and any forecast crossing are recorded as covered by it.
        covered = [(pct, ACTUAL) for pct in new_actual if pct != top]
        covered += [(pct, FORECAST) for pct in new_forecast]
        return AlertPlan(status, top, ACTUAL, covered), False
    if snoozed and (new_actual or new_forecast):
        return None, True
    if new_forecast:
        top = max(new_forecast)
        return AlertPlan(status, top, FORECAST, [(pct, FORECAST) for pct in new_forecast if pct != top]), False
    return None, False


def run_check(
    session: Session,
    budgets: BudgetSet | Sequence[Budget],
    *,
    now: datetime,
    tz: ZoneInfo,
    guidance_base_url: str,
    dry_run: bool = False,
    spend_query: SpendQuery | None = None,
) -> CheckReport:
    """Check every budget at `now` and record and queue the alerts that are due.

    With `dry_run`, nothing is written: the report lists the alerts a real check would send.
    The alerts due are recorded in one transaction, so a failure records none of them and
    the next check tries again.
    """
    statuses = check_budgets(session, budgets, now=now, tz=tz, spend_query=spend_query, with_drivers=False)
    recorded, sent_earlier = _recorded_alerts(session, statuses)
    snoozes = {row.budget_name: row for row in session.exec(select(BudgetSnooze).where(BudgetSnooze.until > now))}

    report = CheckReport(statuses=statuses, due=[], sent_earlier=sent_earlier)
    for status in statuses:
        key = (status.budget.name, status.period.start)
        plan, held_back = plan_alert(status, recorded.get(key, set()), snoozes.get(status.budget.name), now)
        report.snoozed += held_back
        if plan is not None:
            report.due.append(plan)
    # Drivers are only shown in alerts, so only the budgets with one due are grouped by them.
    add_drivers(session, [plan.status for plan in report.due], spend_query=spend_query)

    if not dry_run:
        recorded_now = record_and_enqueue(session, report.due, now=now, guidance_base_url=guidance_base_url)
        report.sent = [plan for plan in report.due if plan.key in recorded_now]
        report.already_sent = len(report.due) - len(report.sent)
    logger.info(
        "budget check done at=%s budgets=%d due=%d sent=%d already_sent=%d snoozed=%d dry_run=%s",
        now.isoformat(), len(statuses), len(report.due), len(report.sent), report.already_sent, report.snoozed, dry_run,
    )
    return report


def record_and_enqueue(session: Session, plans: Sequence[AlertPlan], *, now: datetime, guidance_base_url: str) -> set[str]:
    """Record the due alerts and queue their messages in one transaction; return the keys recorded now.

    The unique constraint on (budget, period start, threshold, kind) decides which worker records
    an alert: a row another worker inserted first is skipped, and so are its messages. Alert rows,
    covered rows and messages take one statement each, however many alerts are due.
    """
    plans = sorted(plans, key=lambda plan: plan.key)
    rows = [_alert_row(plan.status, plan.threshold, plan.kind, now, covered_by=None) for plan in plans]
    inserted = _insert_alerts(session, rows)
    recorded = [plan for plan in plans if (plan.status.budget.name, plan.status.period.start, plan.threshold, plan.kind) in inserted]

    covered_rows = [
        _alert_row(plan.status, threshold, kind, now, covered_by=plan.threshold)
        for plan in recorded
        for threshold, kind in plan.covered
    ]
    _insert_alerts(session, covered_rows)

    messages = []
    for plan in recorded:
        text = alert_text(plan.status, plan.threshold, plan.kind, plan.forecast_past)
        blocks = alert_blocks(plan.status, plan.threshold, plan.kind, guidance_base_url=guidance_base_url,
                              forecast_past=plan.forecast_past)
        for channel in plan.destinations():
            messages.append(outbox.Message(key=f"{plan.key}:{channel}", kind="alert", channel=channel, text=text, blocks=blocks))
    outbox.enqueue_many(session, messages, now=now)
    session.commit()

    for plan in recorded:
        logger.info(
            "budget alert recorded budget=%s period_start=%s threshold=%d kind=%s covered=%s destinations=%d",
            plan.status.budget.name, plan.status.period.start.isoformat(), plan.threshold, plan.kind, plan.covered,
            len(plan.destinations()),
        )
    skipped = len(plans) - len(recorded)
    if skipped:
        logger.info("budget alerts already recorded by another check count=%d", skipped)
    return {plan.key for plan in recorded}


def _alert_row(status: BudgetStatus, threshold: int, kind: str, now: datetime, covered_by: int | None) -> dict:
    return dict(
        budget_name=status.budget.name,
        period_start=status.period.start,
        threshold_pct=threshold,
        kind=kind,
        spend_usd=status.spent,
        forecast_usd=status.forecast,
        created_at=now,
        covered_by_pct=covered_by,
    )


def _insert_alerts(session: Session, rows: list[dict]) -> set[tuple[str, datetime, int, str]]:
    """Insert alert rows, skipping recorded ones; return the (budget, period start, threshold, kind) inserted."""
    key = ("budget_name", "period_start", "threshold_pct", "kind")
    return set(insert_new_rows(session, BudgetAlert, rows, key=key, returning=key))


def _recorded_alerts(
    session: Session, statuses: list[BudgetStatus]
) -> tuple[dict[tuple[str, datetime], set[tuple[int, str]]], int]:
    """Load the alerts recorded for the current periods, in one query.

    Returns the recorded (threshold, kind) pairs per budget and period start, covered ones
    included, and the number of alerts sent in the budgets' current periods.
    """
    starts = sorted({status.period.start for status in statuses})
    recorded: dict[tuple[str, datetime], set[tuple[int, str]]] = {}
    if not starts:
        return recorded, 0
    query = sa.select(
        BudgetAlert.budget_name, BudgetAlert.period_start, BudgetAlert.threshold_pct, BudgetAlert.kind,
        BudgetAlert.covered_by_pct,
    ).where(BudgetAlert.period_start.in_(starts))
    current = {(status.budget.name, status.period.start) for status in statuses}
    sent = 0
    for name, start, threshold, kind, covered_by in session.execute(query):
        recorded.setdefault((name, start), set()).add((threshold, kind))
        if covered_by is None and (name, start) in current:
            sent += 1
    return recorded, sent
