"""The budgets overview for `/cost budgets`, App Home and `costbot budgets list`."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session, select

from bot.budgets.blocks import status_line
from bot.budgets.checks import BudgetStatus, check_budgets
from bot.budgets.config import BudgetFileError, current_budgets
from bot.clock import Clock
from bot.models import BudgetSnooze

logger = logging.getLogger(__name__)

# Slack allows 50 blocks per message; one header and one footer leave 48 budget lines.
MAX_BUDGET_BLOCKS = 48


def budget_statuses(session: Session, *, settings, clock: Clock) -> list[BudgetStatus]:
    return check_budgets(session, current_budgets(settings), now=clock.now(), tz=settings.tz, with_drivers=False)


def budgets_message(session: Session, *, settings, clock: Clock, user_id: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Render every budget's state, the user's own budgets first, most used first within each."""
    try:
        statuses = budget_statuses(session, settings=settings, clock=clock)
    except BudgetFileError as exc:
        text = f"The budgets file is invalid, so no budgets are in force:\n{exc}"
        return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]

    if not statuses:
        text = f"No budgets are defined. Admins add them to {settings.budgets_file}."
        return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]

    now = clock.now()
    snoozed = {row.budget_name: row.until for row in session.exec(select(BudgetSnooze).where(BudgetSnooze.until > now))}
    statuses.sort(key=lambda status: (status.budget.owner != user_id, -status.share_pct, status.budget.name))

    lines = []
    for status in statuses:
        line = status_line(status)
        if status.budget.name in snoozed:
            line += f" · snoozed until {snoozed[status.budget.name]:%Y-%m-%d %H:%M} UTC"
        if user_id is not None and status.budget.owner == user_id:
            line += " · yours"
        lines.append(line)

    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": f"Budgets ({len(statuses)})"}}]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": line[:3000]}} for line in lines[:MAX_BUDGET_BLOCKS]]
    if len(lines) > MAX_BUDGET_BLOCKS:
        blocks.append({
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"{len(lines) - MAX_BUDGET_BLOCKS} more budgets; run `costbot budgets list` for all."}],
        })
    logger.info("budgets message budgets=%d user=%s", len(statuses), user_id)
    return "\n".join(lines), blocks
