"""Budget actions behind an alert's buttons: acknowledge and snooze, for the owner or an admin."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session

from bot.budgets.config import Budget, BudgetSet, current_budgets
from bot.clock import Clock
from bot.models import BudgetAlert, BudgetSnooze
from bot.settings import get_settings

logger = logging.getLogger(__name__)

MAX_SNOOZE_DAYS = 90


def acknowledge(
    session: Session, *, budget: str, user_id: str, is_admin: bool, clock: Clock, budgets: BudgetSet | None = None
) -> str:
    """Mark the budget's unacknowledged alerts as acknowledged by `user_id`; return a confirmation.

    Raises PermissionError unless the user owns the budget or is an admin, and LookupError
    for a budget that is not in the budgets file.
    """
    definition = _authorised(budget, user_id, is_admin, budgets)
    now = clock.now()
    result = session.execute(
        sa.update(BudgetAlert)
        .where(BudgetAlert.budget_name == definition.name, BudgetAlert.acknowledged_at.is_(None))
        .values(acknowledged_by=user_id, acknowledged_at=now)
    )
    session.commit()
    logger.info("budget acknowledged budget=%s user=%s alerts=%d", definition.name, user_id, result.rowcount)
    return f"<@{user_id}> acknowledged budget {definition.name} ({result.rowcount} alerts)."


def snooze(
    session: Session,
    *,
    budget: str,
    days: int,
    user_id: str,
    is_admin: bool,
    clock: Clock,
    budgets: BudgetSet | None = None,
) -> str:
    """Keep the budget quiet for `days` days unless a threshold above the highest one already
    alerted is crossed; return a confirmation. A new snooze replaces the previous one.

    Raises PermissionError unless the user owns the budget or is an admin, LookupError for an
    unknown budget, and ValueError for `days` outside 1 to 90.
    """
    definition = _authorised(budget, user_id, is_admin, budgets)
    if not 1 <= days <= MAX_SNOOZE_DAYS:
        raise ValueError(f"cannot snooze for {days} days; choose 1 to {MAX_SNOOZE_DAYS} days")
    now = clock.now()
    highest = session.execute(
        sa.select(sa.func.max(BudgetAlert.threshold_pct)).where(
            BudgetAlert.budget_name == definition.name, BudgetAlert.kind == "actual"
        ).where(
            BudgetAlert.period_start == sa.select(sa.func.max(BudgetAlert.period_start))
            .where(BudgetAlert.budget_name == definition.name)
            .scalar_subquery()
        )
    ).scalar()
    until = now + timedelta(days=days)
    row = session.get(BudgetSnooze, definition.name)
    if row is None:
        row = BudgetSnooze(budget_name=definition.name, until=until, threshold_pct=highest or 0, snoozed_by=user_id, created_at=now)
        session.add(row)
    else:
        row.until, row.threshold_pct, row.snoozed_by, row.created_at = until, highest or 0, user_id, now
    session.commit()
    logger.info("budget snoozed budget=%s user=%s days=%d threshold_pct=%s", definition.name, user_id, days, highest)
    return (
        f"<@{user_id}> snoozed budget {definition.name} until {until:%Y-%m-%d %H:%M} UTC; "
        f"alerts above {highest or 0}% still come through."
    )


def _authorised(name: str, user_id: str, is_admin: bool, budgets: BudgetSet | None) -> Budget:
    budgets = budgets if budgets is not None else current_budgets(get_settings())
    definition = budgets.get(name)
    if definition is None:
        raise LookupError(f"budget {name!r} is not in the budgets file")
    if not is_admin and user_id != definition.owner:
        raise PermissionError(
            f"only the owner of budget {name} (<@{definition.owner}>) or an admin can change its alerts"
        )
    return definition
