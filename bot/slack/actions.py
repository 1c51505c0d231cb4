"""Button listeners: acknowledge, snooze and details on alerts and findings, share an answer, open guidance."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.budgets import actions as budget_actions
from bot.rules import findings
from bot.slack import messages
from bot.slack.blocks import ACTION_SHARE, answer_blocks
from bot.slack.deps import SlackDeps
from bot.slack.home import publish_home
from bot.slack.limits import fit_message
from bot.slack.middleware import AdminCheck
from bot.slack.replies import Responder, answer_or_reply, post_reply, upload_chart

logger = logging.getLogger(__name__)

SNOOZE_DAYS = {"snooze_1d": 1, "snooze_7d": 7}
BUDGET_ACTION = re.compile(r"^budget_(ack|snooze_1d|snooze_7d)$")
FINDING_ACTION = re.compile(r"^finding_(ack|snooze_1d|snooze_7d|details)$")


def register(app: App, deps: SlackDeps, admin: AdminCheck) -> None:
    """Add the block_actions listeners to `app`."""

    @app.action(BUDGET_ACTION, middleware=[admin.attach_flag])
    def budget_action(ack, body, action, client, context):
        ack()
        respond = Responder(body.get("response_url"))
        verb = action["action_id"].removeprefix("budget_")
        value = _value(action)
        if value is None or not isinstance(value.get("budget"), str):
            _reply(deps, client, body, respond, messages.BAD_BUTTON_VALUE.format(value=action.get("value")))
            return
        function = budget_actions.acknowledge if verb == "ack" else budget_actions.snooze
        arguments = dict(budget=value["budget"], user_id=context.user_id, is_admin=context["is_admin"], clock=deps.clock)
        if verb != "ack":
            arguments["days"] = SNOOZE_DAYS[verb]
        _run_owner_action(deps, client, body, respond, function, arguments, action_name=f"budget {verb} {value['budget']}")

    @app.action(FINDING_ACTION, middleware=[admin.attach_flag])
    def finding_action(ack, body, action, client, context):
        ack()
        respond = Responder(body.get("response_url"))
        verb = action["action_id"].removeprefix("finding_")
        value = _value(action)
        finding_id = value.get("finding_id") if value else None
        if not isinstance(finding_id, int):
            _reply(deps, client, body, respond, messages.BAD_BUTTON_VALUE.format(value=action.get("value")))
            return
        if verb == "details":
            _finding_details(deps, client, body, respond, finding_id)
            return
        function = findings.acknowledge if verb == "ack" else findings.snooze
        arguments = dict(finding_id=finding_id, user_id=context.user_id, is_admin=context["is_admin"], clock=deps.clock)
        if verb != "ack":
            arguments["days"] = SNOOZE_DAYS[verb]
        _run_owner_action(deps, client, body, respond, function, arguments, action_name=f"finding {verb} {finding_id}")

    @app.action("open_guidance")
    def open_guidance(ack, body):
        # A URL button: Slack opens the page itself; the click is only acknowledged and logged.
        ack()
        logger.info("guidance opened user=%s", body.get("user", {}).get("id"))

    @app.action(ACTION_SHARE)
    def share_answer(ack, body, action, client):
        ack()
        respond = Responder(body.get("response_url"))
        question = action.get("value") or ""
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        result = answer_or_reply(deps, question, where=channel or "-")
        text, blocks = fit_message(result.text, answer_blocks(result, question, shareable=False, shared_by=user))
        respond(text=text, blocks=blocks, response_type="in_channel", delete_original=True)
        if result.chart_png and channel:
            upload_chart(client, channel=channel, thread_ts=None, png=result.chart_png, question=question)
        logger.info("answer shared user=%s channel=%s", user, channel)


def _value(action: dict[str, Any]) -> dict[str, Any] | None:
    try:
        value = json.loads(action.get("value") or "")
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _run_owner_action(deps: SlackDeps, client, body, respond, function, arguments: dict[str, Any], *, action_name: str) -> None:
    """Run an acknowledge or snooze function; a permission error or bad value goes back to the user as text."""
    try:
        with deps.session() as session:
            result = function(session, **arguments)
    except (PermissionError, LookupError, ValueError) as exc:
        logger.info("button rejected action=%s user=%s reason=%s", action_name, arguments["user_id"], exc)
        _reply(deps, client, body, respond, str(exc))
        return
    except Exception:
        logger.exception("button failed action=%s user=%s", action_name, arguments["user_id"])
        _reply(deps, client, body, respond, messages.ACTION_FAILED)
        return
    logger.info("button done action=%s user=%s", action_name, arguments["user_id"])
    _reply(deps, client, body, respond, result if isinstance(result, str) else _confirmation(result, arguments))


def _confirmation(finding: Any, arguments: dict[str, Any]) -> str:
    """Word the confirmation of a finding's acknowledge or snooze (those functions return the Finding)."""
    values = dict(user=arguments["user_id"], finding_id=finding.id, rule_id=finding.rule_id, scope=finding.scope_key)
    if finding.status == "snoozed" and finding.snoozed_until is not None:
        return messages.FINDING_SNOOZED.format(until=finding.snoozed_until, **values)
    return messages.FINDING_ACKNOWLEDGED.format(**values)


def _finding_details(deps: SlackDeps, client, body, respond, finding_id: int) -> None:
    try:
        with deps.session() as session:
            text, blocks = findings.details(session, finding_id)
    except LookupError as exc:
        logger.info("finding details not found finding=%s", finding_id)
        _reply(deps, client, body, respond, str(exc))
        return
    _reply(deps, client, body, respond, text, blocks)


def _reply(deps: SlackDeps, client: WebClient, body: dict[str, Any], respond, text: str, blocks=None) -> None:
    """Reply to a click: ephemerally under a message, or by DM and a refreshed Home tab for App Home buttons."""
    text, blocks = fit_message(text, blocks)
    if body.get("response_url"):
        respond(text=text, blocks=blocks or None, response_type="ephemeral", replace_original=False)
        return
    user = body["user"]["id"]
    action_ts = body["actions"][0].get("action_ts", "")
    post_reply(deps, client, key=f"action:{user}:{action_ts}", channel=user, text=text, blocks=blocks or None, kind="reply")
    if (body.get("view") or {}).get("type") == "home":
        publish_home(deps, client, user)
