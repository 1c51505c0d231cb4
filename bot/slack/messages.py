"""Every text the Slack app shows users, in one place so wording stays consistent and tests can import it."""

from __future__ import annotations

HELP = """*costbot* answers questions about AI spend from the usage tables.

• `/cost QUESTION`: the answer, visible only to you, with a button to share it in the channel.
  Examples: `/cost spend by team last month`, `/cost cost per success for ticket-classifier`,
  `/cost top models this week`.
• `/cost budgets`: the budgets you can see and how much of each is used.
• `/cost help`: this message.
• Mention @costbot in a channel or send it a direct message: the answer arrives in a thread.
• The bot's Home tab: this month's spend and forecast, your budgets and open findings.
Admins: `/cost admin help`."""

ADMIN_HELP = """*costbot admin commands* (admins only)

• `/cost admin reload-rules`: validate the rule files and load them; a bad file is rejected and the last good set keeps running.
• `/cost admin budgets`: show the budgets file.
• `/cost admin budgets set NAME key=value …`: add budget NAME or change its keys, e.g.
  `/cost admin budgets set search-monthly amount_usd=15000 "thresholds=[50, 80, 100]"`.
• `/cost admin budgets remove NAME confirm`: remove budget NAME.
• `/cost admin help`: this message."""

NOT_ADMIN = "Only costbot admins can run `/cost admin …`. Ask an admin, or ask one to add you to COSTBOT_ADMIN_USER_IDS."
BUDGETS_ADMIN_USAGE = (
    "Usage: `/cost admin budgets` (show the file), `/cost admin budgets set NAME key=value …`, "
    "`/cost admin budgets remove NAME confirm`."
)
CONFIRM_REMOVE_BUDGET = (
    "Removing budget {name} deletes it from the budgets file and stops its alerts. "
    "To go ahead, run `/cost admin budgets remove {name} confirm`."
)
FINDING_ACKNOWLEDGED = "<@{user}> acknowledged finding {finding_id} ({rule_id}, {scope})."
FINDING_SNOOZED = "<@{user}> snoozed finding {finding_id} ({rule_id}, {scope}) until {until:%Y-%m-%d %H:%M} UTC."
UNKNOWN_ADMIN_COMMAND = "Unknown admin command `{command}`. Try `/cost admin help`."
ANSWER_FAILED = "Sorry, answering that failed with an internal error. It is logged; try rephrasing, or `/cost help`."
ACTION_FAILED = "Sorry, that button failed with an internal error. It is logged; please try again later."
EMPTY_MENTION = "Ask me a cost question, for example `spend by team last month`. `/cost help` lists more."
SHARE_BUTTON = "Share in channel"
SHARED_BY = "Shared by <@{user}>: `/cost {question}`"
FOLLOW_UPS = "Try next: {questions}"
CHART_TITLE = "Chart for: {question}"
BAD_BUTTON_VALUE = "This button carries an invalid value ({value!r}), so nothing was changed. Please report it."

HOME_TITLE = "costbot"
HOME_MONTH = "*This month ({month})*: {spent} spent so far; at this run rate, {forecast} by month end."
HOME_MONTH_FAILED = "*This month*: spend could not be computed; the error is logged."
HOME_NO_FINDINGS = "No open findings for you."
HOME_FINDINGS_HEADER = "Open findings ({count})"
