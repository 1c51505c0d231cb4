"""The weekly digest: budgets that need attention, the biggest movers, cost per success, open findings.

Each channel named by a budget gets the lines of its own budgets; the default channel gets
every part. A digest lists only what changed or needs action, so a quiet week sends a short
message. The idempotency key contains the channel and the local date of the digest's week,
so a second run in the same week queues nothing.
"""

from __future__ import annotations

import importlib
import logging
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from bot import outbox
from bot.budgets.blocks import pct, status_line, usd
from bot.budgets.checks import BudgetStatus, check_budgets
from bot.budgets.config import BudgetSet
from bot.clock import Clock

logger = logging.getLogger(__name__)

# A budget is listed when it has used this share or is forecast past its amount.
ATTENTION_SHARE_PCT = 50
WEEK = timedelta(days=7)
TOP_MOVERS = 3
# A team's week-over-week change counts as a mover at or above both of these.
MOVER_MIN_CHANGE_PCT = 20
MOVER_MIN_CHANGE_USD = Decimal(100)
MAX_FINDINGS = 5
MAIN_WORKFLOWS = 5


def send_digests(session: Session, *, settings, clock: Clock, budgets: BudgetSet, spend_query=None) -> int:
    """Queue this week's digest for each channel; return how many messages were queued."""
    now = clock.now()
    week_label = (now.astimezone(settings.tz).date() - timedelta(days=now.astimezone(settings.tz).weekday())).isoformat()
    statuses = check_budgets(session, budgets, now=now, tz=settings.tz, spend_query=spend_query, with_drivers=False)
    attention = [status for status in statuses if _needs_attention(status)]
    by_channel: dict[str, list[BudgetStatus]] = defaultdict(list)
    for status in attention:
        if status.budget.channel:
            by_channel[status.budget.channel].append(status)

    messages: dict[str, list[str]] = {channel: _budget_section(items) for channel, items in by_channel.items()}
    if settings.default_channel:
        sections = _budget_section(attention)
        sections += _movers_section(session, now, spend_query)
        sections += _cost_per_success_section(session, settings, clock)
        sections += _findings_section(session)
        messages[settings.default_channel] = sections
    else:
        logger.warning("digest for all budgets skipped: COSTBOT_DEFAULT_CHANNEL is not set")

    queued = 0
    for channel, sections in messages.items():
        if not sections:
            sections = ["Nothing needs attention this week: every budget is under "
                        f"{ATTENTION_SHARE_PCT}% and forecast within its amount."]
        text = f"Weekly cost digest, week of {week_label}\n\n" + "\n\n".join(sections)
        blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": f"Weekly cost digest, week of {week_label}"}}]
        blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": section[:3000]}} for section in sections[:48]]
        queued += outbox.enqueue(session, key=f"digest:{channel}:{week_label}", kind="digest", channel=channel,
                                 text=text, blocks=blocks, now=now)
    session.commit()
    logger.info("digest queued week=%s channels=%d queued=%d budgets_listed=%d", week_label, len(messages), queued, len(attention))
    return queued


def _needs_attention(status: BudgetStatus) -> bool:
    return status.share_pct >= ATTENTION_SHARE_PCT or status.forecast_pct >= 100


def _budget_section(statuses: list[BudgetStatus]) -> list[str]:
    if not statuses:
        return []
    ordered = sorted(statuses, key=lambda status: -status.forecast_pct)
    return ["*Budgets that need attention*\n" + "\n".join(f"• {status_line(status)}" for status in ordered)]


def _movers_section(session: Session, now: datetime, spend_query) -> list[str]:
    if spend_query is None:
        from bot.queries.spend import spend_by as spend_query
    this_week = {row.group.get("team"): row.total for row in spend_query(session, start=now - WEEK, end=now, group_by=("team",))}
    last_week = {row.group.get("team"): row.total for row in spend_query(session, start=now - 2 * WEEK, end=now - WEEK, group_by=("team",))}
    movers = []
    for team in set(this_week) | set(last_week):
        current, previous = this_week.get(team, Decimal(0)), last_week.get(team, Decimal(0))
        change = current - previous
        if abs(change) < MOVER_MIN_CHANGE_USD:
            continue
        if previous and abs(change) * 100 < previous * MOVER_MIN_CHANGE_PCT:
            continue
        movers.append((team, previous, current, change))
    movers.sort(key=lambda item: -abs(item[3]))
    if not movers:
        return []
    lines = []
    for team, previous, current, change in movers[:TOP_MOVERS]:
        share = f" ({'+' if change > 0 else ''}{pct(change * 100 / previous)})" if previous else " (new)"
        lines.append(f"• team {team or '(unallocated)'}: {usd(previous)} → {usd(current)}{share}")
    return ["*Biggest movers, week over week*\n" + "\n".join(lines)]


def _cost_per_success_section(session: Session, settings, clock: Clock) -> list[str]:
    """List the main workflows (largest spend this week) with their cost per success and its change."""
    from bot.queries.outcomes import cost_per_success

    now = clock.now()
    this_week = cost_per_success(session, start=now - WEEK, end=now)
    last_week = {row.group.get("feature"): row for row in cost_per_success(session, start=now - 2 * WEEK, end=now - WEEK)}
    main = sorted((row for row in this_week if row.cost_per_success is not None), key=lambda row: -row.spend)[:MAIN_WORKFLOWS]
    lines = []
    for row in main:
        feature = row.group.get("feature")
        line = f"• {feature or '(unallocated)'}: {usd(row.cost_per_success)} per success, {row.succeeded:,} successes"
        before = last_week.get(feature)
        if before is not None and before.cost_per_success:
            change = (row.cost_per_success - before.cost_per_success) * 100 / before.cost_per_success
            line += f" ({'+' if change > 0 else ''}{pct(change)} vs the week before)"
        lines.append(line)
    return ["*Cost per success of the main workflows, last 7 days*\n" + "\n".join(lines)] if lines else []


def _findings_section(session: Session) -> list[str]:
    module = _optional("bot.rules.findings")
    if module is None or not hasattr(module, "open_findings"):
        return []
    findings = list(module.open_findings(session, user_id=None))
    if not findings:
        return []
    lines = [f"• {finding.rule_id} ({finding.scope_key}): {finding.recommendation}"[:300] for finding in findings[:MAX_FINDINGS]]
    if len(findings) > MAX_FINDINGS:
        lines.append(f"… and {len(findings) - MAX_FINDINGS} more open findings")
    return ["*Open findings*\n" + "\n".join(lines)]


def _optional(module: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None
        raise
