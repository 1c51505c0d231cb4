"""`/cost …`: questions, help, budgets, and the admin commands."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from bot.slack import messages
from bot.slack.blocks import answer_blocks, text_section
from bot.slack.deps import SlackDeps, optional_function
from bot.slack.limits import fit_message
from bot.slack.middleware import AdminCheck
from bot.slack.replies import answer_or_reply, upload_chart

logger = logging.getLogger(__name__)

ADMIN_WORD = "admin"


def _words(command: dict[str, Any]) -> list[str]:
    return (command.get("text") or "").split()


def is_admin_command(command: dict[str, Any]) -> bool:
    words = _words(command)
    return bool(words) and words[0].lower() == ADMIN_WORD


def register(app: App, deps: SlackDeps, admin: AdminCheck) -> None:
    """Add the /cost listeners to `app`; admin commands first, behind the admin check."""

    @app.command("/cost", matchers=[is_admin_command], middleware=[admin.require_admin])
    def cost_admin(ack, command, respond):
        ack()
        words = _words(command)
        action = words[1].lower() if len(words) > 1 else "help"
        user = command.get("user_id")
        logger.info("admin command user=%s action=%s", user, action)
        if action == "help":
            respond(text=messages.ADMIN_HELP, response_type="ephemeral")
        elif action in ("reload-rules", "reload"):
            respond(text=reload_rules(deps), response_type="ephemeral")
        elif action == "budgets":
            # TODO: call bot.budgets.admin once it exists; it is to edit budgets from Slack.
            respond(text=messages.NOT_AVAILABLE.format(feature="Editing budgets from Slack"), response_type="ephemeral")
        else:
            respond(text=messages.UNKNOWN_ADMIN_COMMAND.format(command=" ".join(words[1:])), response_type="ephemeral")

    @app.command("/cost")
    def cost(ack, command, respond, client):
        question = (command.get("text") or "").strip()
        user = command.get("user_id")
        if question.lower() in ("", "help"):
            ack(text=messages.HELP)
            return
        ack()
        if question.lower() == "budgets":
            text, blocks = budgets_reply(deps, user)
            text, blocks = fit_message(text, blocks)
            respond(text=text, blocks=blocks, response_type="ephemeral")
            return
        result = answer_or_reply(deps, question, where=command.get("channel_id", "-"))
        text, blocks = fit_message(result.text, answer_blocks(result, question, shareable=True))
        respond(text=text, blocks=blocks, response_type="ephemeral")
        if result.chart_png:
            # The answer is visible only to the asker, so its chart goes to the asker's DM with the bot.
            upload_chart(client, channel=user, thread_ts=None, png=result.chart_png, question=question)
        logger.info("cost command answered user=%s channel=%s chart=%s", user, command.get("channel_id"), bool(result.chart_png))


def budgets_reply(deps: SlackDeps, user_id: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Return the budgets overview, or a note while the budgets report is not installed."""
    budgets_message = optional_function("bot.budgets.report", "budgets_message")
    if budgets_message is None:
        # TODO: remove once bot.budgets.report.budgets_message is committed.
        text = messages.NOT_AVAILABLE.format(feature="The budgets overview")
        return text, [text_section(text)]
    with deps.session() as session:
        return budgets_message(session, settings=deps.settings, clock=deps.clock, user_id=user_id)


def reload_rules(deps: SlackDeps) -> str:
    """Reload the rule files and return the engine's summary, or why that failed."""
    reload = optional_function("bot.rules.engine", "reload_rules")
    if reload is None:
        # TODO: remove once bot.rules.engine.reload_rules is committed.
        return messages.NOT_AVAILABLE.format(feature="Reloading rules")
    try:
        return str(reload(deps.settings))
    except Exception as exc:  # a bad rule file: show the engine's message, which names file and line
        logger.warning("rules reload failed error=%s", exc)
        return f"Rules not reloaded; the last good set keeps running.\n{exc}"
