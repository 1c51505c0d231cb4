"""`/cost …`: questions, help, budgets, and the admin commands."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import App

from bot.budgets.report import budgets_message
from bot.rules.engine import reload_rules as reload_rule_files
from bot.slack import messages
from bot.slack.blocks import answer_blocks
from bot.slack.deps import SlackDeps
from bot.slack.limits import fit_message
from bot.slack.middleware import AdminCheck
from bot.slack.replies import Responder, answer_or_reply, upload_chart

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
    def cost_admin(ack, command):
        ack()
        respond = Responder(command.get("response_url"))
        words = _words(command)
        action = words[1].lower() if len(words) > 1 else "help"
        user = command.get("user_id")
        logger.info("admin command user=%s action=%s", user, action)
        if action == "help":
            respond(text=messages.ADMIN_HELP, response_type="ephemeral")
        elif action in ("reload-rules", "reload"):
            respond(text=reload_rules(deps), response_type="ephemeral")
        elif action == "budgets":
            respond(text=edit_budgets(deps, command.get("text") or "", user), response_type="ephemeral")
        else:
            respond(text=messages.UNKNOWN_ADMIN_COMMAND.format(command=" ".join(words[1:])), response_type="ephemeral")

    @app.command("/cost")
    def cost(ack, command, client):
        question = (command.get("text") or "").strip()
        user = command.get("user_id")
        if question.lower() in ("", "help"):
            ack(text=messages.HELP)
            return
        ack()
        respond = Responder(command.get("response_url"))
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
    """Return the budgets overview, the user's own budgets first."""
    with deps.session() as session:
        return budgets_message(session, settings=deps.settings, clock=deps.clock, user_id=user_id)


BUDGET_EDIT = re.compile(r"^\s*admin\s+budgets(?:\s+(?P<verb>\S+))?(?:\s+(?P<name>\S+))?\s*(?P<rest>.*)$", re.I | re.S)


def edit_budgets(deps: SlackDeps, text: str, user_id: str) -> str:
    """Run `/cost admin budgets [show | set NAME key=value … | remove NAME confirm]`; return the reply.

    Only admins reach this (the listener's middleware checks), and bot.budgets.admin
    validates the whole new file before it replaces the old one.
    """
    from bot.budgets import admin as budgets_admin
    from bot.budgets.config import BudgetFileError

    match = BUDGET_EDIT.match(text)
    verb = ((match and match.group("verb")) or "show").lower()
    name = match.group("name") if match else None
    rest = match.group("rest") if match else ""
    try:
        if verb == "show":
            return f"```{budgets_admin.show_budgets_file(deps.settings)}```"
        if verb == "set" and name:
            fields = budgets_admin.parse_assignments(rest)
            return budgets_admin.update_budget(deps.settings, name=name, fields=fields, user_id=user_id, is_admin=True)
        if verb == "remove" and name:
            if rest.strip().lower() != "confirm":
                return messages.CONFIRM_REMOVE_BUDGET.format(name=name)
            return budgets_admin.remove_budget(deps.settings, name=name, user_id=user_id, is_admin=True)
    except (ValueError, LookupError, PermissionError, BudgetFileError) as exc:
        logger.info("budget edit rejected user=%s verb=%s error=%s", user_id, verb, exc)
        return f"Budgets file not changed: {exc}"
    return messages.BUDGETS_ADMIN_USAGE


def reload_rules(deps: SlackDeps) -> str:
    """Reload the rule files and return the engine's summary, or why that failed."""
    try:
        return reload_rule_files(deps.settings)
    except Exception as exc:  # a bad rule file: show the engine's message, which names file and line
        logger.warning("rules reload failed error=%s", exc)
        return f"Rules not reloaded; the last good set keeps running.\n{exc}"
