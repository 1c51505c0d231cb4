"""Block Kit built by the Slack app itself: answers with their buttons, findings and the App Home view."""

from __future__ import annotations

import json
from typing import Any

from bot.slack import messages
from bot.slack.limits import MAX_VIEW_BLOCKS, fit_blocks

ACTION_SHARE = "share_answer"
FINDING_ACTIONS = (
    ("Acknowledge", "finding_ack"),
    ("Snooze 1 day", "finding_snooze_1d"),
    ("Snooze 7 days", "finding_snooze_7d"),
    ("Details", "finding_details"),
)
MAX_BUTTON_VALUE = 2000  # Slack's limit for a button's value


def text_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def answer_blocks(answer: Any, question: str, *, shareable: bool, shared_by: str | None = None) -> list[dict[str, Any]]:
    """Lay out an Answer: its own blocks (or its text and follow-ups), then a share button."""
    if answer.blocks:
        blocks = list(answer.blocks)  # the question layer's blocks carry the follow-ups already
    else:
        blocks = [text_section(answer.text)]
        if answer.follow_ups:
            suggestions = ", ".join(f"`{item}`" for item in answer.follow_ups)
            blocks.append(context(messages.FOLLOW_UPS.format(questions=suggestions)))
    if shared_by is not None:
        blocks.insert(0, context(messages.SHARED_BY.format(user=shared_by, question=question)))
    if shareable and len(question) <= MAX_BUTTON_VALUE:
        blocks.append(
            {
                "type": "actions",
                "block_id": "answer_actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ACTION_SHARE,
                        "text": {"type": "plain_text", "text": messages.SHARE_BUTTON},
                        "value": question,
                    }
                ],
            }
        )
    return blocks


def finding_blocks(finding: Any) -> list[dict[str, Any]]:
    """Render one finding (a `Finding` row) with its buttons and guidance link."""
    lines = [f"*{finding.rule_id}* · {finding.scope_key} · {finding.severity}", finding.recommendation]
    if finding.monthly_saving_usd is not None:
        lines.append(f"Estimated saving: ${finding.monthly_saving_usd:,.2f} a month")
    value = json.dumps({"finding_id": finding.id}, separators=(",", ":"))
    buttons: list[dict[str, Any]] = [
        {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": label}, "value": value}
        for label, action_id in FINDING_ACTIONS
    ]
    if finding.guidance_urls:
        buttons.append(
            {
                "type": "button",
                "action_id": "open_guidance",
                "text": {"type": "plain_text", "text": "Guidance"},
                "url": finding.guidance_urls[0],
            }
        )
    return [text_section("\n".join(lines)), {"type": "actions", "block_id": f"finding:{finding.id}", "elements": buttons}]


def home_view(month_line: str, budget_blocks: list[dict[str, Any]], finding_section: list[dict[str, Any]]) -> dict[str, Any]:
    """Assemble the App Home view, fitted to Slack's 100 blocks per view."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": messages.HOME_TITLE}},
        text_section(month_line),
        {"type": "divider"},
        *budget_blocks,
        {"type": "divider"},
        *finding_section,
    ]
    return {"type": "home", "blocks": fit_blocks(blocks, MAX_VIEW_BLOCKS)}
