"""User-facing texts of the bot, in one place so wording stays consistent and tests can import it.

Texts with {placeholders} are filled with str.format; values from users or from the data
are escaped for Slack mrkdwn by the renderer before they are put in.
"""

from __future__ import annotations

# --- Answers to cost questions -------------------------------------------------------------

HELP_INTRO = (
    "I answer questions about AI spend from the imported usage. Name a period (today, last week, "
    "this month, October, Q3 2026, last 14 days, since Nov 3, between Oct 1 and Oct 15), and "
    "optionally a team, feature, model, provider, project or environment. For example:"
)
HELP_UNPARSED = "I could not read that as a cost question ({problem})."
HELP_NO_DATA = "No usage has been imported yet, so there is nothing to report. Import an export with `costbot import FILE` first."
# Question templates for help; {team}, {feature}, {model}, {provider} are filled with stored values.
HELP_EXAMPLES = (
    "how much did we spend last week",
    "spend by team this month",
    "top 5 features by spend last 30 days",
    "how much did team {team} spend in {month}",
    "why did spend go up this week",
    "cost per success by workflow last month",
    "retry overhead for {feature} last 14 days",
    "tier mix and batch savings last month",
    "gpu utilization last week",
    "month-end forecast for team {team}",
    "tokens by model yesterday",
    "compare this month vs last month for {provider}",
)

DID_YOU_MEAN = "I found no exact match for part of that question. Did you mean {suggestions}?"
# {words} are the misspelled words, {question} the question with each replaced by its closest match.
DID_YOU_MEAN_QUESTION = "I could not match {words} to a question word or a stored value. Did you mean: {question}?"
NOT_FOUND = "{details}"
TRY_INSTEAD = "Try: “{question}”"

NO_SPEND = "No spend recorded for {scope} {period}."
NO_SPEND_AT_ALL = "No spend recorded {period}."
# An empty spend answer whose LLM usage is stored but counts under a provider's cost report.
SPEND_IN_COST_REPORT = (
    "Its LLM usage is stored ({requests} requests, {cost} at list prices), but the provider's cost "
    "report for those days replaces priced usage and has no such breakdown, so that spend counts "
    "as (unallocated). Try “tokens by model” or “spend by project”."
)
# An empty "spend on H100" answer whose hosts' spend comes from FOCUS rows, which carry no GPU model.
GPU_SPEND_WITHOUT_MODEL = (
    "Hosts sampled with that GPU model ({hosts}) spent {cost} in this period, billed through FOCUS "
    "rows that carry no GPU model, so this answer cannot count it. Try “spend by host” or “gpu utilization”."
)
UNPRICED_ROWS = (
    "Usage rows without a known price: {count}. They are not in these totals (they are not counted as $0). "
    "Add the model to the price overrides file or import the provider's cost report."
)
# Table cell of a group whose every usage row lacks a price.
UNPRICED_CELL = "unpriced"
STATED_SCOPE = "{period} · {filters} · times in {timezone} · {freshness}"
DATA_UP_TO = "data up to {moment}"
NO_FILTERS = "all spend"
NO_USAGE_IMPORTED = "no usage imported yet"
# An answer for a period without usage of any kind, when usage is stored for other times.
PERIOD_WITHOUT_USAGE = "No usage is stored for this period. The latest stored usage ends {moment}."
# Added on the command line only, because `--at` is an option of `costbot ask` and
# `costbot budgets check`. {action} is the command's verb: "ask" or "check".
AT_HINT = "To {action} as of another moment, add --at TIME, such as --at {moment}."

SPEND_HEADLINE = "{scope} spent *{total}* {period}."
TOP_HEADLINE = "Top {count} {dimension} by spend {period} (of {total} in all)."
COMPARE_HEADLINE = "{scope} spent *{current}* {period}, {direction} {change} ({percent}) from {previous} {previous_period}."
# Row and line label of spend whose cost kinds cannot have the dimension, such as GPU and review
# spend by model ("no model: GPU, review"). Spend that could have a value but has none is "(unallocated)".
NOT_APPLICABLE = "no {dimension}: {kinds}"
UNALLOCATED = "(unallocated)"
COMPARE_SPLIT_ONE = "The table splits the change by {dimension}, and its rows add up to the whole change of {change}."
# {reason} is COMPARE_SPLIT_REASON, or empty when the dimension has no named value.
COMPARE_SPLITS = (
    "The table splits the change by {dimension}{reason}. Each split, there and below, adds up to the whole "
    "change of {change}. The splits overlap, because every dollar counts once in each of them, so add "
    "changes within one split only."
)
COMPARE_SPLIT_REASON = ", because {value} changed more than any other named group"
COMPARE_NO_BASE = "{scope} spent *{current}* {period}; there was no spend {previous_period} to compare with."
COST_PER_SUCCESS_HEADLINE = "Cost per successful run {period}: model, tools, review and failed runs, divided by successes."
RETRIES_HEADLINE = "Retries cost an estimated *{retry_cost}* ({share} of LLM spend) {period}; failed requests {failure_cost}."
RETRIES_ESTIMATE = "Estimate: a retried or failed request is taken to cost the average request of its model."
# Table cell and note of a group with tokens or cost but no request count (Anthropic usage reports).
RETRIES_NO_COUNT_CELL = "n/a"
RETRIES_NO_COUNT = (
    "n/a: the usage of these groups has no request counts (Anthropic usage reports give none), so "
    "their retry rate and retry cost are unknown, not zero. The estimate above counts no retries for them."
)
TIERS_HEADLINE = "LLM usage cost by service tier {period}. Moving eligible traffic to batch or flex would have saved about *{saving}*."
TIERS_ELIGIBLE_ALL = "No feature is marked non-interactive in the mapping file, so the saving assumes all standard and priority traffic could wait (an upper bound)."
TIERS_ELIGIBLE_NONE = "No feature marked non-interactive in the mapping file spent on the standard or priority tier, so there is nothing to move."
TIERS_ELIGIBLE_SOME = "Eligible: standard and priority traffic of the non-interactive features {features}. Batch and flex are billed at 50% of standard; priority is taken as at least 1.75× standard."
GPU_HEADLINE = "GPU cost {period}: *{cost}*, of which about *{idle}* paid for idle time."
GPU_NONE = "No GPU samples recorded {period}."
FORECAST_HEADLINE = "{scope}: *{forecast}* forecast for {month} ({actual} spent up to yesterday, run rate {rate}/day over the last {days} days, {left} days left)."
FORECAST_METHOD = "Forecast = spend so far this month (up to yesterday) + mean daily spend of the last 7 complete days × days left, today included."
FORECAST_NO_CHART = "No spend in the last {days} days, so there is no daily chart to show."
TOKENS_NO_COUNT = (
    "n/a: the usage of these groups has no request counts (Anthropic usage reports give none), so "
    "the request total leaves them out."
)
TOKENS_HEADLINE = "{scope} made {requests} requests {period}: {input} input tokens ({cached} cached) and {output} output tokens."
BUDGETS_UNAVAILABLE = "Budgets are not set up in this installation."

FOLLOW_UPS = {
    "spend": ("spend by team {period}", "why did spend go up {period}", "top 5 features by spend {period}"),
    "top": ("why did spend go up {period}", "cost per success by workflow {period}", "spend by team {period}"),
    "compare": ("top 5 features by spend {period}", "spend by day {period}", "spend by team {period}"),
    "cost_per_success": ("retry overhead {period}", "spend by feature {period}"),
    "retries": ("cost per success by workflow {period}", "spend by model {period}"),
    "tiers": ("spend by feature {period}", "spend by model {period}"),
    "gpu": ("spend on gpus by host {period}", "tier mix {period}"),
    "forecast": ("spend by team this month", "budgets"),
    "tokens": ("spend by model {period}", "retry overhead {period}"),
    "budgets": ("month-end forecast", "spend by team this month"),
    "help": ("how much did we spend last week", "spend by team this month"),
}
