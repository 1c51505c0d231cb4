"""Findings: storing them once per rule, scope and cooldown, posting them, and what owners
do with them from Slack (acknowledge, snooze, details)."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.models import Finding
from bot.outbox import enqueue
from bot.rules.evaluate import Draft, json_values
from bot.rules.messages import details_text, finding_blocks, finding_text
from bot.rules.metrics import METRICS

logger = logging.getLogger(__name__)

OPEN_STATES = ("open", "snoozed")


def cooldown_key(draft: Draft) -> str:
    """Return the outbox key of a draft: one per rule, scope and cooldown period."""
    seconds = max(draft.rule.cooldown_days, 1) * 86400
    period = int(draft.window_end.timestamp()) // seconds
    scope = draft.scope_key if len(draft.scope_key) <= 120 else hashlib.sha256(draft.scope_key.encode()).hexdigest()[:32]
    return f"finding:{draft.rule.id}:{scope}:{period}"


def latest(session: Session, rule_id: str, scope_key: str) -> Finding | None:
    statement = (
        select(Finding)
        .where(Finding.rule_id == rule_id, Finding.scope_key == scope_key)
        .order_by(Finding.window_end.desc(), Finding.id.desc())
        .limit(1)
    )
    return session.exec(statement).first()


def quiet_reason(previous: Finding | None, draft: Draft) -> str | None:
    """Return why a draft is not posted (cooldown or snooze), or None to post it."""
    if previous is None:
        return None
    if previous.snoozed_until is not None and previous.snoozed_until > draft.window_end:
        return f"snoozed until {previous.snoozed_until.isoformat()}"
    if previous.window_end > draft.window_end - timedelta(days=draft.rule.cooldown_days):
        return f"cooldown of {draft.rule.cooldown_days} days since {previous.window_end.isoformat()}"
    return None


def new_finding(draft: Draft, *, notify: str | None, now: datetime) -> Finding:
    """Build the Finding row of a draft, with the facts that triggered it."""
    metric = METRICS[draft.rule.metric]
    return Finding(
        rule_id=draft.rule.id,
        scope_key=draft.scope_key,
        severity=draft.rule.severity,
        window_start=draft.window_start,
        window_end=draft.window_end,
        facts={
            "metric": draft.rule.metric,
            "scope": draft.scope,
            "values": json_values(draft.values),
            "saving_field": draft.rule.saving,
            "saving_method": metric.saving_method if draft.rule.saving else None,
        },
        recommendation=draft.recommendation,
        monthly_saving_usd=draft.monthly_saving_usd,
        guidance_urls=draft.guidance_urls,
        notify=notify,
        status="open",
        created_at=now,
    )


def record(session: Session, draft: Draft, *, notify: str | None, now: datetime, guidance_titles: dict[str, str]) -> Finding | None:
    """Store a draft as a finding and queue its message; return None when cooldown or a
    snooze keeps it quiet."""
    reason = quiet_reason(latest(session, draft.rule.id, draft.scope_key), draft)
    if reason is not None:
        logger.info("finding quiet rule=%s scope=%s: %s", draft.rule.id, draft.scope_key, reason)
        return None

    finding = new_finding(draft, notify=notify, now=now)
    try:
        with session.begin_nested():
            session.add(finding)
    except IntegrityError:
        # Another run stored this rule, scope and window first; it posts the message.
        logger.info("finding exists rule=%s scope=%s window_end=%s", draft.rule.id, draft.scope_key, draft.window_end.isoformat())
        return None
    if notify is None:
        logger.warning("finding %s rule=%s scope=%s has no owner and no channel; stored, not posted", finding.id, finding.rule_id, finding.scope_key)
        return finding

    created = enqueue(
        session,
        key=cooldown_key(draft),
        kind="finding",
        channel=notify,
        text=finding_text(finding),
        blocks=finding_blocks(finding, guidance_titles),
        now=now,
    )
    if created:
        finding.notified_at = now
    logger.info("finding %s rule=%s scope=%s notify=%s queued=%s", finding.id, finding.rule_id, finding.scope_key, notify, created)
    return finding


def _get(session: Session, finding_id: int) -> Finding:
    finding = session.get(Finding, int(finding_id))
    if finding is None:
        raise LookupError(f"finding {finding_id} not found; it may have been deleted")
    return finding


def _check_owner(finding: Finding, user_id: str, is_admin: bool, action: str) -> None:
    if is_admin or (finding.notify is not None and finding.notify == user_id):
        return
    owner = f"<@{finding.notify}>" if finding.notify and finding.notify[:1] in ("U", "W") else "the finding's owner"
    raise PermissionError(f"only {owner} or an admin can {action} finding {finding.id}")


def acknowledge(session: Session, *, finding_id: int, user_id: str, is_admin: bool, clock) -> Finding:
    """Mark a finding acknowledged by its owner or an admin; raise PermissionError otherwise.
    The change is flushed; the caller commits the session."""
    finding = _get(session, finding_id)
    _check_owner(finding, user_id, is_admin, "acknowledge")
    finding.status = "acknowledged"
    finding.acknowledged_by = user_id
    finding.snoozed_until = None
    session.add(finding)
    session.flush()
    logger.info("finding %s acknowledged by %s at %s", finding.id, user_id, clock.now().isoformat())
    return finding


def snooze(session: Session, *, finding_id: int, days: int, user_id: str, is_admin: bool, clock) -> Finding:
    """Keep a finding quiet for `days`; the rule does not post it again for that scope until then."""
    if days < 1:
        raise ValueError(f"snooze needs at least 1 day, not {days}")
    finding = _get(session, finding_id)
    _check_owner(finding, user_id, is_admin, "snooze")
    finding.status = "snoozed"
    finding.snoozed_until = clock.now() + timedelta(days=days)
    session.add(finding)
    session.flush()
    logger.info("finding %s snoozed by %s until %s", finding.id, user_id, finding.snoozed_until.isoformat())
    return finding


def details(session: Session, finding_id: int) -> tuple[str, list[dict]]:
    """Return the text and Block Kit that show every fact behind a finding."""
    finding = _get(session, finding_id)
    text = details_text(finding)
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "```" + text + "```"}},
        *finding_blocks(finding, with_actions=False)[1:],
    ]
    return text, blocks


def open_findings(session: Session, user_id: str | None = None) -> list[Finding]:
    """Return findings still open or snoozed, newest first; only the user's own with `user_id`."""
    statement = select(Finding).where(Finding.status.in_(OPEN_STATES))
    if user_id is not None:
        statement = statement.where(Finding.notify == user_id)
    return list(session.exec(statement.order_by(Finding.window_end.desc(), Finding.id.desc())))
