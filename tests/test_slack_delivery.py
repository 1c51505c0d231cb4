"""The outbox sender against the fake Slack: exactly-once delivery through outages and failures."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from bot import outbox
from bot.clock import FixedClock
from bot.models import OutboxMessage
from bot.slack.clients import make_web_client
from bot.slack.delivery import (
    CLAIM_LEASE,
    ConsoleSender,
    DeliveryReport,
    SlackSender,
    _deliver_row,
    deliver_pending,
    make_sender,
)
from bot.settings import load_settings
from tests.fakeslack import BOT_TOKEN, FakeSlack

START = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def fake():
    # Slack's clock runs a minute ahead of START, so posts made in a test are newer than START.
    with FakeSlack(now=lambda: START.timestamp() + 60) as server:
        yield server


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def sender(fake: FakeSlack, waits: list[float]) -> SlackSender:
    return SlackSender(make_web_client(BOT_TOKEN, fake.api_url, sleep=waits.append))


def _enqueue(session: Session, key: str, channel: str = "C0ALERTS", **extra) -> None:
    outbox.enqueue(session, key=key, kind="alert", channel=channel, text=f"message {key}", now=START, **extra)
    session.commit()


def _row(session: Session, key: str) -> OutboxMessage:
    session.expire_all()
    return session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).one()


def _posted_keys(fake: FakeSlack, channel: str) -> list[str]:
    return [message["metadata"]["event_payload"]["key"] for message in fake.messages(channel)]


def test_pending_message_posted_once(session, fake, sender):
    clock = FixedClock(START)
    _enqueue(session, "alert:a")

    first = deliver_pending(session, sender, clock)
    second = deliver_pending(session, sender, clock)

    assert first.sent == 1
    assert second.sent == 0
    row = _row(session, "alert:a")
    assert row.status == "sent"
    assert row.slack_ts == fake.messages("C0ALERTS")[0]["ts"]
    assert row.attempts == 1
    assert _posted_keys(fake, "C0ALERTS") == ["alert:a"]
    assert fake.messages("C0ALERTS")[0]["text"] == "message alert:a"


def test_short_retry_after_waited_in_call(session, fake, sender, waits):
    fake.fail("chat.postMessage", 429, retry_after=3)
    _enqueue(session, "alert:rate")

    report = deliver_pending(session, sender, FixedClock(START))

    assert report.sent == 1
    assert waits == [3]
    assert len(fake.calls("chat.postMessage")) == 2
    assert _posted_keys(fake, "C0ALERTS") == ["alert:rate"]


def test_long_retry_after_rescheduled(session, fake, sender, waits):
    clock = FixedClock(START)
    fake.fail("chat.postMessage", 429, retry_after=120)
    _enqueue(session, "alert:slow")

    report = deliver_pending(session, sender, clock)

    assert report.retrying == 1
    assert waits == []
    row = _row(session, "alert:slow")
    assert row.status == "pending"
    assert row.next_attempt_at == START + timedelta(seconds=120)
    assert row.last_error == "chat_postMessage: rate limited (HTTP 429)"

    clock.advance(timedelta(seconds=119))
    assert deliver_pending(session, sender, clock).sent == 0
    clock.advance(timedelta(seconds=1))
    later = deliver_pending(session, sender, clock)
    assert later.sent == 1
    assert _posted_keys(fake, "C0ALERTS") == ["alert:slow"]


def test_outage_then_every_message_once(session, fake, sender):
    clock = FixedClock(START)
    keys = [f"alert:{n}" for n in range(5)]
    for key in keys:
        _enqueue(session, key)
    fake.set_down(True)

    down_runs = []
    for _ in range(3):
        down_runs.append(deliver_pending(session, sender, clock))
        clock.advance(timedelta(hours=1))
    fake.set_down(False)
    recovered = deliver_pending(session, sender, clock)
    again = deliver_pending(session, sender, clock)

    # Each down run fails for all five: the first post, then the history lookups before a repost.
    assert [run.retrying for run in down_runs] == [5, 5, 5]
    assert recovered.delivered == 5
    assert again.delivered == 0
    assert sorted(_posted_keys(fake, "C0ALERTS")) == keys
    assert all(_row(session, key).status == "sent" for key in keys)


def test_backoff_doubles_between_attempts(session, fake, sender):
    clock = FixedClock(START)
    _enqueue(session, "alert:backoff")
    fake.set_down(True)

    delays = []
    for _ in range(4):
        deliver_pending(session, sender, clock)
        row = _row(session, "alert:backoff")
        delays.append(row.next_attempt_at - clock.now())
        clock.set(row.next_attempt_at)

    # 30 s, then doubling: 60 s, 120 s, 240 s.
    assert delays == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240)]


def test_dropped_reply_not_posted_twice(session, fake, sender):
    clock = FixedClock(START)
    fake.drop_after_storing("chat.postMessage")
    _enqueue(session, "alert:dropped")

    first = deliver_pending(session, sender, clock)
    row = _row(session, "alert:dropped")
    assert first.retrying == 1
    assert row.status == "pending"
    assert row.last_error.startswith("chat_postMessage: connection failed")

    clock.set(row.next_attempt_at)
    second = deliver_pending(session, sender, clock)

    assert second.found_posted == 1
    assert second.sent == 0
    assert len(fake.calls("chat.postMessage")) == 1
    assert _posted_keys(fake, "C0ALERTS") == ["alert:dropped"]
    assert _row(session, "alert:dropped").slack_ts == fake.messages("C0ALERTS")[0]["ts"]


def test_server_error_not_retried_in_call(session, fake, sender, waits):
    clock = FixedClock(START)
    fake.fail("chat.postMessage", 500)
    _enqueue(session, "alert:500")

    first = deliver_pending(session, sender, clock)
    assert first.retrying == 1
    assert len(fake.calls("chat.postMessage")) == 1
    assert waits == []

    clock.set(_row(session, "alert:500").next_attempt_at)
    second = deliver_pending(session, sender, clock)
    assert second.sent == 1
    assert len(fake.calls("conversations.history")) == 1
    assert _posted_keys(fake, "C0ALERTS") == ["alert:500"]


def test_crash_after_post_found_by_metadata(session, fake, sender):
    clock = FixedClock(START)
    _enqueue(session, "alert:crash")
    # A worker claimed the row and posted, then died before marking it sent.
    sender.post(channel="C0ALERTS", text="message alert:crash", blocks=None, thread_ts=None, key="alert:crash")
    row = _row(session, "alert:crash")
    row.status, row.attempts, row.next_attempt_at = "sending", 1, START + CLAIM_LEASE
    session.add(row)
    session.commit()

    during_lease = deliver_pending(session, sender, clock)
    clock.advance(CLAIM_LEASE)
    after_lease = deliver_pending(session, sender, clock)

    assert during_lease.delivered == 0
    assert after_lease.found_posted == 1
    assert len(fake.calls("chat.postMessage")) == 1
    assert _row(session, "alert:crash").status == "sent"


def test_failed_lookup_keeps_message_waiting(session, fake, sender):
    clock = FixedClock(START)
    fake.fail("chat.postMessage", 500)
    fake.fail("conversations.history", 500, count=3)  # one call and its two in-call retries
    _enqueue(session, "alert:unsure")

    deliver_pending(session, sender, clock)
    clock.set(_row(session, "alert:unsure").next_attempt_at)
    unsure = deliver_pending(session, sender, clock)

    assert unsure.retrying == 1
    assert len(fake.calls("chat.postMessage")) == 1
    assert _row(session, "alert:unsure").last_error == "conversations_history: Slack returned HTTP 500"


def test_dm_lookup_uses_opened_channel(session, fake, sender):
    clock = FixedClock(START)
    fake.drop_after_storing("chat.postMessage")
    _enqueue(session, "alert:dm", channel="U0SEARCH1")

    deliver_pending(session, sender, clock)
    clock.set(_row(session, "alert:dm").next_attempt_at)
    report = deliver_pending(session, sender, clock)

    assert report.found_posted == 1
    assert fake.calls("conversations.open")[0].params["users"] == "U0SEARCH1"
    assert _posted_keys(fake, "D0SEARCH1") == ["alert:dm"]


def test_missing_channel_marked_dead(session, fake, sender):
    fake.missing_channels.add("C0GONE")
    _enqueue(session, "alert:gone", channel="C0GONE")

    report = deliver_pending(session, sender, FixedClock(START))

    row = _row(session, "alert:gone")
    assert report.dead == 1
    assert row.status == "dead"
    assert row.last_error == "chat_postMessage: Slack returned channel_not_found"


def test_concurrent_worker_skips_claimed_row(session, fake, sender, engine):
    clock = FixedClock(START)
    _enqueue(session, "alert:race")
    row_id = _row(session, "alert:race").id
    second_worker = DeliveryReport()

    class SecondWorkerDuringPost(SlackSender):
        """While the first worker posts, a second one tries the same row it had selected."""

        def post(self, **kwargs):
            with Session(engine) as other:
                _deliver_row(other, sender, clock, row_id, second_worker)
            return super().post(**kwargs)

    first = deliver_pending(session, SecondWorkerDuringPost(sender.client), clock)

    assert first.sent == 1
    assert second_worker == DeliveryReport(skipped=1)
    assert _posted_keys(fake, "C0ALERTS") == ["alert:race"]


def test_oversized_message_fitted(session, fake, sender):
    long_section = {"type": "section", "text": {"type": "mrkdwn", "text": ("row of a long table\n" * 350)}}
    blocks = [long_section] + [{"type": "section", "text": {"type": "mrkdwn", "text": f"item {n}"}} for n in range(60)]
    _enqueue(session, "digest:big", blocks=blocks)

    report = deliver_pending(session, sender, FixedClock(START))

    posted = fake.messages("C0ALERTS")[0]["blocks"]
    assert report.sent == 1
    assert fake.state.violations == []
    assert len(posted) == 50
    # 7,000 characters split at line breaks into 3 sections, plus 60 items: 63 blocks, 49 kept.
    assert posted[-1]["elements"][0]["text"] == "14 more blocks not shown: Slack shows at most 50 in one message."
    assert all(len(block["text"]["text"]) <= 3000 for block in posted[:-1])


def test_console_sender_prints_blocks_not_fallback(session):
    stream = io.StringIO()
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Budget search-monthly at 80%"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "Spent $9,600 of $12,000"}},
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Acknowledge"}, "action_id": "budget_ack"}]},
    ]
    _enqueue(session, "alert:console", blocks=blocks)

    report = deliver_pending(session, ConsoleSender(stream), FixedClock(START))

    assert report.sent == 1
    # The fallback text ("message alert:console") is what Slack shows in notifications only.
    assert stream.getvalue() == (
        "--- message to C0ALERTS ---\n"
        "== Budget search-monthly at 80% ==\n"
        "Spent $9,600 of $12,000\n"
        "  [Acknowledge]\n"
    )
    assert _row(session, "alert:console").slack_ts == "console.1"


def test_console_sender_prints_text_without_blocks(session):
    stream = io.StringIO()
    _enqueue(session, "digest:console")

    deliver_pending(session, ConsoleSender(stream), FixedClock(START))

    assert stream.getvalue() == "--- message to C0ALERTS ---\nmessage digest:console\n"


def test_make_sender_without_token_prints():
    assert isinstance(make_sender(load_settings(slack_bot_token=None)), ConsoleSender)
    assert isinstance(make_sender(load_settings(slack_bot_token=BOT_TOKEN)), SlackSender)
