"""Slack texts and Block Kit for budget alerts and budget status lines."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from bot.budgets.checks import BudgetStatus

SHOWBACK_GUIDANCE_PATH = "/models-and-apis/llm-cost-allocation-showback-and-budget-ownership-for-ai-products/"

# Action ids the Slack app routes to bot.budgets.actions.
ACTION_ACK = "budget_ack"
ACTION_SNOOZE_1D = "budget_snooze_1d"
ACTION_SNOOZE_7D = "budget_snooze_7d"
ACTION_GUIDANCE = "open_guidance"


def usd(amount: Decimal) -> str:
    return f"${amount:,.2f}"


def pct(value: Decimal) -> str:
    """Format a percentage as a whole number, e.g. Decimal('70.45') as '70%'."""
    return f"{value:,.0f}%"


def guidance_url(base_url: str) -> str:
    return base_url.rstrip("/") + SHOWBACK_GUIDANCE_PATH


def alert_text(status: BudgetStatus, threshold: int, kind: str, forecast_past: int | None = None) -> str:
    """Return the plain-text alert, which Slack shows in notifications and without blocks.

    `forecast_past` is the forecast threshold an actual alert also reports, if any.
    """
    budget = status.budget
    reset = status.period.reset_day.isoformat()
    if kind == "forecast":
        return (
            f"Budget {budget.name} is forecast to reach {pct(status.forecast_pct)} "
            f"({usd(status.forecast)} of {usd(budget.amount_usd)}) by its reset on {reset}, "
            f"past the {threshold}% threshold; {pct(status.share_pct)} is used so far."
        )
    forecast = "forecast" if forecast_past is None else f"forecast past {forecast_past}%:"
    return (
        f"Budget {budget.name} crossed {threshold}%: {usd(status.spent)} of {usd(budget.amount_usd)} "
        f"({pct(status.share_pct)}) used; {forecast} {usd(status.forecast)} ({pct(status.forecast_pct)}) "
        f"by its reset on {reset}."
    )


def drivers_text(status: BudgetStatus) -> str:
    if not status.drivers:
        return "no spend yet"
    # No colon after the label, which may contain one ("no model: review"), as in `budgets list`.
    return "\n".join(f"{driver.label} {usd(driver.amount)}" for driver in status.drivers)


def alert_blocks(
    status: BudgetStatus, threshold: int, kind: str, *, guidance_base_url: str, forecast_past: int | None = None
) -> list[dict[str, Any]]:
    """Build the Block Kit of an alert: figures, drivers, the showback guidance link and buttons."""
    budget = status.budget
    if kind == "forecast":
        title = f"Budget {budget.name}: forecast past {threshold}%"
    elif forecast_past is not None:
        title = f"Budget {budget.name}: {threshold}% crossed, forecast past {forecast_past}%"
    else:
        title = f"Budget {budget.name}: {threshold}% crossed"
    value = json.dumps(
        {"budget": budget.name, "period_start": status.period.start.isoformat(), "threshold": threshold},
        separators=(",", ":"),
    )
    fields = [
        ("Spent", f"{usd(status.spent)} of {usd(budget.amount_usd)}"),
        ("Share used", pct(status.share_pct)),
        ("Forecast at reset", f"{usd(status.forecast)} ({pct(status.forecast_pct)})"),
        ("Resets", f"{status.period.reset_day.isoformat()} (in {status.days_until_reset} days)"),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*Scope:* {budget.describe_scope()} · {budget.period} · owner <@{budget.owner}>"},
            "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{text}"} for name, text in fields],
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Top drivers*\n{drivers_text(status)}"}},
    ]
    if status.unpriced_rows:
        rows = status.unpriced_rows
        if rows == 1:
            unpriced = "1 usage row has no known price and is not counted."
        else:
            unpriced = f"{rows} usage rows have no known price and are not counted."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": unpriced}]})
    url = guidance_url(guidance_base_url)
    blocks.append({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"Who owns this spend and how to show it back: <{url}|LLM cost allocation and showback>"}],
    })
    blocks.append({
        "type": "actions",
        "block_id": f"budget_actions:{budget.name}"[:255],
        "elements": [
            _button("Acknowledge", ACTION_ACK, value, style="primary"),
            _button("Snooze 1 day", ACTION_SNOOZE_1D, value),
            _button("Snooze 7 days", ACTION_SNOOZE_7D, value),
            {"type": "button", "action_id": ACTION_GUIDANCE, "text": {"type": "plain_text", "text": "Showback guidance"}, "url": url},
        ],
    })
    return blocks


def status_line(status: BudgetStatus) -> str:
    budget = status.budget
    return (
        f"*{budget.name}* ({budget.describe_scope()}, {budget.period}): {usd(status.spent)} of "
        f"{usd(budget.amount_usd)} ({pct(status.share_pct)}), forecast {pct(status.forecast_pct)}, "
        f"resets {status.period.reset_day.isoformat()}"
    )


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": text}, "value": value}
    if style:
        button["style"] = style
    return button
