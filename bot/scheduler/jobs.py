"""The worker's jobs: what each one runs. Each returns counts for the run's log line."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from sqlmodel import Session

from bot.budgets.alerts import run_check
from bot.budgets.config import BudgetRegistry
from bot.clock import Clock

logger = logging.getLogger(__name__)


def budget_check(session: Session, *, settings, clock: Clock, registry: BudgetRegistry) -> dict[str, Any]:
    """Check every budget in force and queue the alerts that are due."""
    budgets = registry.budgets()
    report = run_check(session, budgets, now=clock.now(), tz=settings.tz, guidance_base_url=settings.guidance_base_url)
    return {
        "budgets": len(report.statuses),
        "alerts_sent": len(report.sent),
        "already_sent": report.already_sent,
        "snoozed": report.snoozed,
        "file_rejected": registry.last_error is not None,
    }


def rule_evaluation(session: Session, *, settings, clock: Clock, registry: BudgetRegistry) -> dict[str, Any]:
    """Evaluate the rule files through the rules package, when it is installed."""
    runner = _optional("bot.rules.runner")
    if runner is None:
        logger.warning("rule evaluation skipped: bot.rules.runner is not installed")
        return {"skipped": "rules not installed"}
    result = runner.run_rules(session, settings=settings, clock=clock)
    return _counts(result)


def weekly_digest(session: Session, *, settings, clock: Clock, registry: BudgetRegistry) -> dict[str, Any]:
    """Queue the weekly digest for each channel."""
    from bot.budgets.digest import send_digests

    return {"digests": send_digests(session, settings=settings, clock=clock, budgets=registry.budgets())}


def outbox_delivery(session: Session, *, settings, clock: Clock, registry: BudgetRegistry) -> dict[str, Any]:
    """Deliver pending outbox messages through the Slack app's sender (or print them without a token)."""
    delivery = _optional("bot.slack.delivery")
    if delivery is None:
        logger.warning("outbox delivery skipped: bot.slack.delivery is not installed")
        return {"skipped": "slack delivery not installed"}
    report = delivery.deliver_pending(session, delivery.make_sender(settings), clock)
    return _counts(report)


def _optional(module: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None
        raise


def _counts(result: Any) -> dict[str, Any]:
    """Return a report's numeric fields for logging, whatever shape the producer chose."""
    if isinstance(result, dict):
        return {key: value for key, value in result.items() if isinstance(value, (int, str))}
    fields = getattr(result, "__dict__", {})
    counts = {}
    for key, value in fields.items():
        if key.startswith("_"):
            continue
        if isinstance(value, int):
            counts[key] = value
        elif isinstance(value, (list, tuple)):
            counts[key] = len(value)
    return counts or {"result": type(result).__name__}
