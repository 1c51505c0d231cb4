"""Event listeners: mentions and direct messages answered in a thread, and the App Home tab."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import App

from bot.slack import messages
from bot.slack.deps import SlackDeps
from bot.slack.home import publish_home
from bot.slack.replies import answer_in_thread, post_reply

logger = logging.getLogger(__name__)

MENTION = re.compile(r"<@[UW][A-Z0-9]+(\|[^>]*)?>")


def question_of(text: str) -> str:
    """Return the message text without user mentions (the bot's own included)."""
    return " ".join(MENTION.sub(" ", text or "").split())


def register(app: App, deps: SlackDeps) -> None:
    """Add the event listeners to `app`. Bolt acknowledges events before these run."""

    @app.event("app_mention")
    def on_mention(event: dict[str, Any], client):
        _answer(deps, client, event)

    @app.event("message")
    def on_message(event: dict[str, Any], client):
        if event.get("channel_type") != "im":
            return
        _answer(deps, client, event)

    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], client):
        if event.get("tab", "home") != "home":
            return
        publish_home(deps, client, event["user"])


def _answer(deps: SlackDeps, client, event: dict[str, Any]) -> None:
    channel, ts = event["channel"], event["ts"]
    question = question_of(event.get("text", ""))
    if not question:
        post_reply(deps, client, key=f"answer:{channel}:{ts}", channel=channel, text=messages.EMPTY_MENTION, thread_ts=ts)
        return
    answer_in_thread(deps, client, channel=channel, ts=ts, thread_ts=event.get("thread_ts"), question=question)
