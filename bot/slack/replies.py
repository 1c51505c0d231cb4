"""Answers and replies that the Slack listeners send after their ack."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot import outbox
from bot.slack import messages
from bot.slack.blocks import answer_blocks, text_section
from bot.slack.clients import REQUEST_TIMEOUT_SECONDS, RateLimitRetry
from bot.slack.delivery import SendError, SlackSender, deliver_pending
from bot.questions import Answer, answer_question
from bot.slack.deps import SlackDeps

logger = logging.getLogger(__name__)


def answer(deps: SlackDeps, question: str) -> Answer:
    """Return the Answer to `question` from the question layer."""
    with deps.session() as session:
        return answer_question(session, question, settings=deps.settings, clock=deps.clock)


@dataclass
class Reply:
    """A reply in the shape of an Answer, for when there is no answer to show."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    chart_png: bytes | None = None
    follow_ups: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, text: str) -> Reply:
        return cls(text=text, blocks=[text_section(text)])


def answer_or_reply(deps: SlackDeps, question: str, *, where: str) -> Answer | Reply:
    """Answer `question`; when answering raises, log it and return a reply that apologises."""
    try:
        return answer(deps, question)
    except Exception:
        # The question text is not logged: it may name customers or people.
        logger.exception("answer failed where=%s question_chars=%d", where, len(question))
        return Reply.of(messages.ANSWER_FAILED)


class Responder:
    """Posts to a request's response_url, like Bolt's `respond`, but retries HTTP 429 after Retry-After.

    Only rate limits are retried: like chat.postMessage, a response_url post that failed
    with 5xx or a dropped connection may have been shown already. Such a failure is logged
    and the user has to ask again, because these replies do not go through the outbox.
    """

    def __init__(self, response_url: str | None) -> None:
        self.response_url = response_url

    def __call__(
        self,
        *,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        response_type: str = "ephemeral",
        replace_original: bool | None = None,
        delete_original: bool | None = None,
    ) -> bool:
        if not self.response_url:
            logger.warning("reply dropped: the request has no response_url")
            return False
        webhook = WebhookClient(self.response_url, timeout=REQUEST_TIMEOUT_SECONDS, retry_handlers=[RateLimitRetry()])
        try:
            response = webhook.send(
                text=text,
                blocks=blocks,
                response_type=response_type,
                replace_original=replace_original,
                delete_original=delete_original,
            )
        except OSError as exc:  # URLError and timeouts are OSErrors
            logger.warning("response_url reply failed error=%s", exc.__class__.__name__)
            return False
        if response.status_code != 200:
            logger.warning("response_url reply failed status=%d body=%s", response.status_code, response.body[:200])
            return False
        return True


def post_reply(
    deps: SlackDeps,
    client: WebClient,
    *,
    key: str,
    channel: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
    kind: str = "answer",
) -> bool:
    """Queue a message in the outbox under `key` and deliver it now; the worker retries it if Slack fails.

    Returns False when `key` was queued before (the reply went out, or is waiting for a retry).
    """
    now = deps.clock.now()
    with deps.session() as session:
        created = outbox.enqueue(
            session, key=key, kind=kind, channel=channel, text=text, now=now, blocks=blocks, thread_ts=thread_ts
        )
    if not created:
        return False
    with deps.session() as session:
        report = deliver_pending(session, SlackSender(client), deps.clock, key=key)
    if report.delivered == 0:
        logger.warning("reply queued for retry key=%s channel=%s", key, channel)
    return True


def upload_chart(client: WebClient, *, channel: str, thread_ts: str | None, png: bytes, question: str) -> None:
    """Upload an answer's chart with files_upload_v2; a failure is logged and the answer goes out without it."""
    try:
        SlackSender(client).upload_chart(
            channel=channel, thread_ts=thread_ts, png=png, title=messages.CHART_TITLE.format(question=question)[:250]
        )
    except SendError as exc:
        logger.warning("chart upload failed channel=%s error=%s", channel, exc)


def answer_in_thread(deps: SlackDeps, client: WebClient, *, channel: str, ts: str, thread_ts: str | None, question: str) -> None:
    """Answer a mention or a direct message in its thread, once per message."""
    reply_thread = thread_ts or ts
    result = answer_or_reply(deps, question, where=channel)
    blocks = answer_blocks(result, question, shareable=False)
    posted = post_reply(
        deps, client, key=f"answer:{channel}:{ts}", channel=channel, text=result.text, blocks=blocks, thread_ts=reply_thread
    )
    if posted and result.chart_png:
        upload_chart(client, channel=channel, thread_ts=reply_thread, png=result.chart_png, question=question)
    logger.info("thread answer channel=%s ts=%s posted=%s chart=%s", channel, ts, posted, bool(result.chart_png))
