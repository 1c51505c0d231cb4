"""Slack texts and Block Kit of findings."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.models import Finding

SEVERITY_MARK = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}


def finding_text(finding: Finding) -> str:
    """Return the plain-text fallback of a finding message."""
    saving = f" Estimated saving: ${finding.monthly_saving_usd:,.0f}/month." if finding.monthly_saving_usd else ""
    return f"[{finding.severity}] {finding.rule_id} ({finding.scope_key}): {finding.recommendation}{saving}"


def finding_blocks(finding: Finding, guidance_titles: dict[str, str] | None = None, *, with_actions: bool = True) -> list[dict]:
    """Return the Block Kit of a finding: the recommendation, its facts, guidance links and buttons."""
    titles = guidance_titles or {}
    value = json.dumps({"finding_id": finding.id})
    context = [
        f"*{finding.rule_id}* · {finding.scope_key}",
        # The window's end is exclusive (midnight after its last day), so the last day shown is the one before.
        # NOTE: these are UTC dates of the stored bounds, so outside UTC the first day (east of UTC) or the
        # last day (west of UTC) reads one day off the workspace's own dates.
        f"window {finding.window_start:%Y-%m-%d} to {finding.window_end - timedelta(microseconds=1):%Y-%m-%d}",
    ]
    if finding.monthly_saving_usd:
        context.append(f"est. saving ${finding.monthly_saving_usd:,.0f}/month")
    blocks: list[dict] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"{SEVERITY_MARK.get(finding.severity, '')} {finding.recommendation}".strip()},
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]},
    ]
    if finding.guidance_urls:
        links = " · ".join(f"<{url}|{titles.get(url, url)}>" for url in finding.guidance_urls)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Guidance: {links}"}]})
    if with_actions:
        elements = [
            {"type": "button", "action_id": "finding_ack", "text": {"type": "plain_text", "text": "Acknowledge"}, "value": value, "style": "primary"},
            {"type": "button", "action_id": "finding_snooze_1d", "text": {"type": "plain_text", "text": "Snooze 1 day"}, "value": value},
            {"type": "button", "action_id": "finding_snooze_7d", "text": {"type": "plain_text", "text": "Snooze 7 days"}, "value": value},
            {"type": "button", "action_id": "finding_details", "text": {"type": "plain_text", "text": "Details"}, "value": value},
        ]
        if finding.guidance_urls:
            url = finding.guidance_urls[0]
            elements.append(
                {"type": "button", "action_id": "open_guidance", "text": {"type": "plain_text", "text": "Read the guidance"}, "url": url}
            )
        blocks.append({"type": "actions", "block_id": f"finding-{finding.id}", "elements": elements})
    return blocks


def details_text(finding: Finding) -> str:
    """Return a multi-line text with every fact that triggered a finding."""
    lines = [
        f"Finding {finding.id}: rule {finding.rule_id}, {finding.scope_key} ({finding.severity}, {finding.status})",
        f"Window: {finding.window_start.isoformat()} to {finding.window_end.isoformat()}",
        finding.recommendation,
    ]
    if finding.monthly_saving_usd is not None:
        lines.append(f"Estimated monthly saving: ${finding.monthly_saving_usd:,.2f}")
    lines.append("Facts:")
    for name, value in sorted(finding.facts.get("values", {}).items()):
        lines.append(f"  {name}: {value}")
    if finding.facts.get("saving_method"):
        lines.append(f"Saving method: {finding.facts['saving_method']}")
    for url in finding.guidance_urls:
        lines.append(f"Guidance: {url}")
    return "\n".join(lines)
