"""The App Home tab: this month's spend and forecast, the user's budgets and open findings."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.queries.spend import spend_by
from bot.rules.findings import open_findings
from bot.slack import messages
from bot.slack.blocks import finding_blocks, home_view, text_section
from bot.slack.commands import budgets_reply
from bot.slack.deps import SlackDeps

logger = logging.getLogger(__name__)


def month_bounds(now: datetime, tz) -> tuple[datetime, datetime]:
    """Return the start and end (exclusive), in UTC, of the month containing `now` in time zone `tz`."""
    local = now.astimezone(tz)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + timedelta(days=32)).replace(day=1)
    # In UTC, because Python subtracts two datetimes with the same tzinfo as wall times,
    # which would ignore a daylight saving change inside the month.
    return start.astimezone(timezone.utc), following.astimezone(timezone.utc)


def run_rate_forecast(spent: Decimal, start: datetime, end: datetime, now: datetime) -> Decimal:
    """Project month-end spend at the month's average rate so far: spent / elapsed * length."""
    elapsed = (now - start).total_seconds()
    if elapsed <= 0:
        return spent
    return spent * Decimal((end - start).total_seconds()) / Decimal(elapsed)


def month_line(deps: SlackDeps) -> str:
    """Render this month's spend so far and its run-rate forecast."""
    now = deps.clock.now()
    start, end = month_bounds(now, deps.settings.tz)
    try:
        with deps.session() as session:
            # At the very start of a month nothing is spent yet, and spend_by rejects an empty period.
            rows = spend_by(session, start=start, end=now, tz=deps.settings.tz) if now > start else []
    except Exception:
        logger.exception("home spend query failed")
        return messages.HOME_MONTH_FAILED
    spent = sum((row.total for row in rows), Decimal(0))
    forecast = run_rate_forecast(spent, start, end, now)
    return messages.HOME_MONTH.format(month=f"{start.astimezone(deps.settings.tz):%B %Y}", spent=f"${spent:,.2f}", forecast=f"${forecast:,.2f}")


def findings_section(deps: SlackDeps, user_id: str) -> list[dict[str, Any]]:
    """Render the user's open findings, each with its buttons."""
    with deps.session() as session:
        findings = list(open_findings(session, user_id=user_id))
    if not findings:
        return [text_section(messages.HOME_NO_FINDINGS)]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": messages.HOME_FINDINGS_HEADER.format(count=len(findings))}}
    ]
    for finding in findings:
        blocks.extend(finding_blocks(finding))
    return blocks


def publish_home(deps: SlackDeps, client: WebClient, user_id: str) -> None:
    """Build the user's Home tab and publish it with views.publish."""
    _, budget_blocks = budgets_reply(deps, user_id)
    view = home_view(month_line(deps), budget_blocks, findings_section(deps, user_id))
    try:
        client.views_publish(user_id=user_id, view=view)
    except SlackApiError as exc:
        logger.warning("home publish failed user=%s error=%s", user_id, exc.response.get("error"))
        return
    logger.info("home published user=%s blocks=%d", user_id, len(view["blocks"]))
