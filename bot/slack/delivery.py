"""Delivery of the outbox: post pending messages to Slack (or print them), retrying until each is posted once.

A row goes pending -> sending -> sent. Claiming a row is a conditional UPDATE that is
committed before the post, so two workers never post the same row, and while a row is
`sending` its `next_attempt_at` is the end of the claim's lease.

A crash or an unclear failure (HTTP 5xx, a dropped connection, a timeout) can leave Slack
with a message that the outbox does not know was posted. Slack's chat.postMessage has
no idempotency key, so every post carries message metadata with the outbox key, and
before any row is posted again (a retry, or a `sending` row whose lease ran out) the
sender looks the key up in the channel's history. The choice is at most once: when the
lookup itself fails, the row waits in the outbox (and the error is logged) rather than
risk a second post.
"""

from __future__ import annotations

import http.client
import logging
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TextIO
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import or_, update
from sqlmodel import Session, select

from bot.clock import Clock
from bot.models import OutboxMessage
from bot.settings import Settings
from bot.slack.clients import make_web_client
from bot.slack.limits import fit_message
from bot.slack.render import render_blocks

logger = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "costbot_outbox"
CLAIM_LEASE = timedelta(minutes=5)
FIRST_RETRY_DELAY = timedelta(seconds=30)
MAX_RETRY_DELAY = timedelta(hours=1)
HISTORY_PAGES = 5

# Errors after which posting the same message again cannot succeed.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "user_not_found",
        "cannot_dm_bot",
        "invalid_metadata_format",
        "restricted_action",
    }
)


class SendError(Exception):
    """A failed Slack call, with whether to retry it, when, and whether Slack may have posted the message."""

    def __init__(self, message: str, *, permanent: bool = False, unclear: bool = False, retry_after: int | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.unclear = unclear
        self.retry_after = retry_after


class Sender(Protocol):
    def post(self, *, channel: str, text: str, blocks: list[dict[str, Any]] | None, thread_ts: str | None, key: str) -> str:
        """Post a message and return its ts."""
        ...

    def find_posted(self, *, channel: str, key: str, since: datetime) -> str | None:
        """Return the ts of the message posted for `key` since `since`, or None."""
        ...

    def upload_chart(self, *, channel: str, thread_ts: str | None, png: bytes, title: str) -> None:
        """Upload a chart image into `channel`."""
        ...


class ConsoleSender:
    """Prints each message (a plain-text rendering of its blocks, else its text) instead of posting it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._count = 0

    def _write(self, text: str) -> None:
        print(text, file=self._stream or sys.stdout, flush=True)

    def post(self, *, channel: str, text: str, blocks: list[dict[str, Any]] | None, thread_ts: str | None, key: str) -> str:
        text, blocks = fit_message(text, blocks)
        self._count += 1
        where = f"{channel} (thread {thread_ts})" if thread_ts else channel
        # Slack shows the text only in notifications when blocks are present, so print one of the two.
        lines = [f"--- message to {where} ---", render_blocks(blocks) if blocks else text]
        self._write("\n".join(lines))
        return f"console.{self._count}"

    def find_posted(self, *, channel: str, key: str, since: datetime) -> str | None:
        return None

    def upload_chart(self, *, channel: str, thread_ts: str | None, png: bytes, title: str) -> None:
        self._write(f"--- chart for {channel}: {title} ({len(png):,} bytes of PNG, not uploaded) ---")


class SlackSender:
    """Posts through a slack_sdk WebClient and tags each post with its outbox key."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(self, *, channel: str, text: str, blocks: list[dict[str, Any]] | None, thread_ts: str | None, key: str) -> str:
        text, blocks = fit_message(text, blocks)
        metadata = {"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": key}}
        response = _call(
            self.client.chat_postMessage,
            channel=channel,
            text=text,
            blocks=blocks or None,
            thread_ts=thread_ts,
            metadata=metadata,
            unfurl_links=False,
        )
        return str(response["ts"])

    def find_posted(self, *, channel: str, key: str, since: datetime) -> str | None:
        channel_id = self.channel_id(channel)
        cursor = None
        for _ in range(HISTORY_PAGES):
            response = _call(
                self.client.conversations_history,
                channel=channel_id,
                oldest=f"{since.timestamp() - 1:.6f}",
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
            for message in response.get("messages", []):
                metadata = message.get("metadata") or {}
                if metadata.get("event_type") == METADATA_EVENT_TYPE and (metadata.get("event_payload") or {}).get("key") == key:
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        # NOTE: only the newest HISTORY_PAGES * 200 messages since the first attempt are searched.
        return None

    def channel_id(self, channel: str) -> str:
        """Return the conversation id for a channel id, a #name or a user id (its DM)."""
        if channel.startswith(("U", "W")):
            return str(_call(self.client.conversations_open, users=channel)["channel"]["id"])
        if channel.startswith("#"):
            name = channel[1:]
            cursor = None
            while True:
                response = _call(
                    self.client.conversations_list, types="public_channel,private_channel", limit=200, cursor=cursor
                )
                for found in response.get("channels", []):
                    if found.get("name") == name:
                        return str(found["id"])
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    raise SendError(f"channel {channel} not found; invite the bot or use the channel id", permanent=True)
        return channel

    def upload_chart(self, *, channel: str, thread_ts: str | None, png: bytes, title: str) -> None:
        _call(
            self.client.files_upload_v2,
            channel=self.channel_id(channel),
            thread_ts=thread_ts,
            content=png,
            filename="chart.png",
            title=title,
        )


def _call(method: Any, **kwargs: Any) -> Any:
    """Call a WebClient method; turn its failures into SendError (never naming the token)."""
    name = getattr(method, "__name__", "slack call")
    try:
        return method(**{key: value for key, value in kwargs.items() if value is not None})
    except SlackApiError as exc:
        status = exc.response.status_code
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        if status == 429:
            raise SendError(f"{name}: rate limited (HTTP 429)", retry_after=retry_after_seconds_from(exc)) from None
        if status >= 500:
            raise SendError(f"{name}: Slack returned HTTP {status}", unclear=True) from None
        raise SendError(f"{name}: Slack returned {error or f'HTTP {status}'}", permanent=error in PERMANENT_ERRORS) from None
    except (URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc.__class__.__name__
        raise SendError(f"{name}: connection failed ({reason})", unclear=True) from None


def retry_after_seconds_from(exc: SlackApiError) -> int:
    headers = exc.response.headers or {}
    for header, value in headers.items():
        if header.lower() == "retry-after":
            try:
                return max(int(value[0] if isinstance(value, list) else value), 0)
            except ValueError:
                return 1
    return 1


@dataclass
class DeliveryReport:
    """Counts of one delivery run."""

    sent: int = 0
    found_posted: int = 0  # posted by an earlier attempt, found by its metadata and marked sent
    retrying: int = 0
    dead: int = 0
    skipped: int = 0  # claimed by another process first

    @property
    def delivered(self) -> int:
        return self.sent + self.found_posted


def retry_delay(attempts: int, retry_after: int | None = None) -> timedelta:
    """Return the wait before the next attempt: Retry-After when Slack sent it, else doubling from 30 s up to 1 h."""
    if retry_after is not None:
        return timedelta(seconds=max(retry_after, 1))
    return min(FIRST_RETRY_DELAY * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY)


def deliver_pending(session: Session, sender: Sender, clock: Clock, *, limit: int = 100, key: str | None = None) -> DeliveryReport:
    """Deliver due outbox rows (or only the row with `key`) and return the counts.

    Commits `session` after each claim and each result, because a claim must be visible
    to other workers before the message is posted.
    """
    now = clock.now()
    due = or_(OutboxMessage.status == "pending", OutboxMessage.status == "sending")
    statement = select(OutboxMessage.id).where(due, OutboxMessage.next_attempt_at <= now).order_by(OutboxMessage.id).limit(limit)
    if key is not None:
        statement = statement.where(OutboxMessage.idempotency_key == key)
    row_ids = list(session.exec(statement))
    session.commit()

    report = DeliveryReport()
    for row_id in row_ids:
        _deliver_row(session, sender, clock, row_id, report)
    if row_ids:
        logger.info(
            "outbox delivery due=%d sent=%d found_posted=%d retrying=%d dead=%d skipped=%d",
            len(row_ids), report.sent, report.found_posted, report.retrying, report.dead, report.skipped,
        )
    return report


def _deliver_row(session: Session, sender: Sender, clock: Clock, row_id: int, report: DeliveryReport) -> None:
    now = clock.now()
    row = session.get(OutboxMessage, row_id)
    if row is None:
        return
    earlier_attempt = row.attempts > 0 or row.status == "sending"
    claimed = session.exec(  # type: ignore[call-overload]
        update(OutboxMessage)
        .where(
            OutboxMessage.id == row_id,
            OutboxMessage.status == row.status,
            OutboxMessage.attempts == row.attempts,
            OutboxMessage.next_attempt_at <= now,
        )
        .values(status="sending", attempts=OutboxMessage.attempts + 1, next_attempt_at=now + CLAIM_LEASE)
    )
    session.commit()
    if claimed.rowcount != 1:
        report.skipped += 1
        return
    session.refresh(row)

    try:
        ts = None
        if earlier_attempt:
            ts = sender.find_posted(channel=row.channel, key=row.idempotency_key, since=row.created_at)
            if ts is not None:
                report.found_posted += 1
                logger.info("outbox found earlier post key=%s ts=%s", row.idempotency_key, ts)
        if ts is None:
            ts = sender.post(
                channel=row.channel, text=row.text, blocks=row.blocks, thread_ts=row.thread_ts, key=row.idempotency_key
            )
            report.sent += 1
    except SendError as exc:
        _record_failure(session, row, exc, clock.now(), report)
        return

    row.status = "sent"
    row.slack_ts = ts
    row.sent_at = clock.now()
    row.last_error = None
    session.add(row)
    session.commit()
    logger.info("outbox sent key=%s channel=%s ts=%s attempts=%d", row.idempotency_key, row.channel, ts, row.attempts)


def _record_failure(session: Session, row: OutboxMessage, exc: SendError, now: datetime, report: DeliveryReport) -> None:
    row.last_error = str(exc)[:2000]
    if exc.permanent:
        row.status = "dead"
        report.dead += 1
        logger.error("outbox message dead key=%s channel=%s error=%s", row.idempotency_key, row.channel, exc)
    else:
        row.status = "pending"
        row.next_attempt_at = now + retry_delay(row.attempts, exc.retry_after)
        report.retrying += 1
        logger.warning(
            "outbox retry key=%s channel=%s attempts=%d next_attempt_at=%s error=%s",
            row.idempotency_key, row.channel, row.attempts, row.next_attempt_at.isoformat(), exc,
        )
    session.add(row)
    session.commit()


def make_sender(settings: Settings) -> SlackSender | ConsoleSender:
    """Return a SlackSender when SLACK_BOT_TOKEN is set, else a ConsoleSender that prints."""
    if settings.slack_bot_token is None:
        return ConsoleSender()
    return SlackSender(make_web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url))
