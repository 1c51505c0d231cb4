"""The outbox: every Slack message the bot sends is first stored here under an idempotency key.

Producers (budget checks, rules, digests, answers) call `enqueue`; a sender in `bot.slack`
delivers pending rows and marks them sent. A key that is already in the table is not
enqueued again, which is what keeps an alert or finding from being posted twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from bot.models import OutboxMessage

logger = logging.getLogger(__name__)


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
    values = dict(
        idempotency_key=key,
        kind=kind,
        channel=channel,
        text=text,
        blocks=blocks,
        thread_ts=thread_ts,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(OutboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxMessage.id)
    )
    # RETURNING, not rowcount: rowcount is -1 on PostgreSQL (psycopg 3, SQLAlchemy 2.1)
    # for an INSERT that returns rows, which made every new message look like a duplicate.
    created = session.execute(statement).first() is not None
    logger.info("outbox enqueue key=%s kind=%s channel=%s created=%s", key, kind, channel, created)
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
