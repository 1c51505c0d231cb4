"""The outbox: every Slack message the bot sends is first stored here under an idempotency key.

Producers (budget checks, rules, digests, answers) call `enqueue`; a sender in `bot.slack`
delivers pending rows and marks them sent. A key that is already in the table is not
enqueued again, which is what keeps an alert or finding from being posted twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from bot.bulk import insert_new_rows
from bot.models import OutboxMessage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """A message to queue: its idempotency key, kind, destination and content."""

    key: str
    kind: str
    channel: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    channel: str,
    text: str,
    now: datetime,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
) -> bool:
    """Queue a message; return False when a message with this key was queued before.

    The insert skips on a key conflict inside the caller's transaction, so two processes
    enqueueing the same key at once leave one row.
    """
    message = Message(key=key, kind=kind, channel=channel, text=text, blocks=blocks, thread_ts=thread_ts)
    created = key in enqueue_many(session, [message], now=now)
    logger.info("outbox enqueue key=%s kind=%s channel=%s created=%s", key, kind, channel, created)
    return created


def enqueue_many(session: Session, messages: Sequence[Message], *, now: datetime) -> set[str]:
    """Queue messages with one insert in the caller's transaction; return the keys queued now.

    A key that is already in the table is skipped, as in `enqueue`.
    """
    rows = [
        dict(
            idempotency_key=message.key,
            kind=message.kind,
            channel=message.channel,
            text=message.text,
            blocks=message.blocks,
            thread_ts=message.thread_ts,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for message in messages
    ]
    created = {key for (key,) in insert_new_rows(
        session, OutboxMessage, rows, key=["idempotency_key"], returning=["idempotency_key"]
    )}
    if len(messages) > 1:
        logger.info("outbox enqueue messages=%d created=%d", len(messages), len(created))
    return created


def pending(session: Session, now: datetime, limit: int = 100) -> list[OutboxMessage]:
    """Return messages due for a delivery attempt, oldest first."""
    statement = (
        select(OutboxMessage)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list(session.exec(statement))
