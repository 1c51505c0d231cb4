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
• `/cost admin budgets`: budget edits; change the budgets file and the bot reloads it on the next check.
• `/cost admin help`: this message."""

NOT_ADMIN = "Only costbot admins can run `/cost admin …`. Ask an admin, or ask one to add you to COSTBOT_ADMIN_USER_IDS."
UNKNOWN_ADMIN_COMMAND = "Unknown admin command `{command}`. Try `/cost admin help`."
NOT_AVAILABLE = "{feature} is not available yet in this version of costbot."
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
