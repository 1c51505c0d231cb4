"""The planted cases of the demo data, as named numbers that tests and other modules import.

Each constant is the value the generator aims for. The generated files hit it up to the
day-to-day noise of a few percent, and `tests/test_demo_data.py` recomputes each one from the
files. Everything not listed here is generated inside normal ranges.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

DEFAULT_SEED = 2026
DEFAULT_DAYS = 90
# Exclusive end of the generated data: the last complete UTC day is 2026-11-19.
DEFAULT_END = datetime(2026, 11, 20, tzinfo=UTC)

# Reported costs (OpenAI Costs API, Anthropic cost report) are each project's or workspace's
# list price for the day times a factor drawn within this share of 1, as invoices drift from
# list prices. So `costbot reconcile` on the examples shows daily gaps no larger than this share.
REPORTED_COST_NOISE = 0.015

# Model classes used across the demo. On the demo's dates genai-prices 0.2.3 prices every one
# of these names without context-length tiers (claude-sonnet-4-6 has none from 2026-03-13), so
# pricing a daily bucket of tokens gives the same price as pricing its requests one by one.
PREMIUM_MODELS = ("gpt-5.2", "claude-opus-4-5")
MID_MODELS = ("gpt-5-mini", "claude-sonnet-4-6")
ECONOMY_MODELS = ("gpt-5-nano", "claude-haiku-4-5")
MODEL_CLASSES = {
    **{model: "premium" for model in PREMIUM_MODELS},
    **{model: "mid" for model in MID_MODELS},
    **{model: "economy" for model in ECONOMY_MODELS},
}

# Premium overuse: ticket-classifier (team support) moved part of its traffic from the mid
# model to the premium one this many days before the end.
PREMIUM_FEATURE = "ticket-classifier"
PREMIUM_SWITCH_DAYS_BEFORE_END = 30
PREMIUM_MODEL = "gpt-5.2"
PREMIUM_PREVIOUS_MODEL = "gpt-5-mini"
PREMIUM_SPEND_SHARE = 0.78  # share of the feature's spend on the premium model since the switch
PREMIUM_PREVIOUS_SUCCESS_RATE = 0.94  # success rate on the mid model before the switch
PREMIUM_SUCCESS_RATE = 0.946  # success rate since the switch: barely better

# Retry spike: doc-extraction (team data, through the LiteLLM proxy). Retry share is retry
# requests divided by all requests of the feature.
RETRY_FEATURE = "doc-extraction"
RETRY_SPIKE_DAYS = 7
RETRY_SHARE_BEFORE = 0.03
RETRY_SHARE_SPIKE = 0.25

# Rented GPUs (one GPU per host, AWS on-demand per-GPU-hour prices of November 2026).
H100_HOURLY_USD = Decimal("6.88")
A100_HOURLY_USD = Decimal("3.43")
# The FOCUS export covers the rental: this many days before the end, so the 28 days before the
# last 7 hold GPU rows on every day and the rental itself shows as no spend change.
GPU_RENTAL_DAYS = 36
GPU_LOG_DAYS = 14  # nvidia-smi logs cover this many days before the end
GPU_LOG_INTERVAL_SECONDS = 600
IDLE_H100_HOSTS = ("h100-idle-01", "h100-idle-02", "h100-idle-03", "h100-idle-04")
IDLE_H100_UTILIZATION_PCT = 10.0
SERVING_H100_HOSTS = ("h100-serve-01", "h100-serve-02")
SERVING_H100_UTILIZATION_PCT = 42.0
SERVING_H100_MAX_MEMORY_GIB = 40  # memory used stays below this, so an 80 GB A100 would fit
HEALTHY_A100_HOSTS = ("a100-01", "a100-02")
HEALTHY_A100_UTILIZATION_PCT = 75.0

# Batchable work on the standard tier: nightly-enrichment (team data, Anthropic), marked
# non-interactive in the mapping, runs between these UTC hours (end exclusive).
BATCHABLE_FEATURE = "nightly-enrichment"
BATCHABLE_HOURS_UTC = (1, 3)

# Priority tier for work nobody waits for: report-digest (team growth, OpenAI, non-interactive).
PRIORITY_FEATURE = "report-digest"

# Unallocated spend: the OpenAI project missing from the mapping (its API key is missing too).
UNMAPPED_PROJECT = "proj_unmapped"
UNMAPPED_API_KEY = "key_7f3c0d9e21ab"
UNMAPPED_OPENAI_SHARE = 0.12  # of OpenAI spend, every day

# Cost per success regression: code-review-bot (team ml-platform) moved from the mid model to
# the economy model this many days before the end. Retries and escalations went up with it.
REGRESSION_FEATURE = "code-review-bot"
REGRESSION_SWITCH_DAYS_BEFORE_END = 14
REGRESSION_PREVIOUS_MODEL = "gpt-5-mini"
REGRESSION_MODEL = "gpt-5-nano"
REGRESSION_REQUESTS_PER_RUN_BEFORE = 1.08
REGRESSION_REQUESTS_PER_RUN_AFTER = 1.35
REGRESSION_ESCALATION_RATE_BEFORE = 0.05
REGRESSION_ESCALATION_RATE_AFTER = 0.069
REGRESSION_COST_PER_SUCCESS_CHANGE = 0.40  # since the switch vs the 28 days before it

# Spend spike: semantic-search (team search). Tenant acme's traffic grows so the feature's
# spend over the last 7 days is this multiple of its average over the 28 days before them.
SPIKE_FEATURE = "semantic-search"
SPIKE_DAYS = 7
SPIKE_BASELINE_DAYS = 28
SPIKE_FACTOR = 2.5

# Budget forecast break: search-monthly. Team search spends a steady amount a day (A100s that
# serve embeddings, batch index summaries) plus semantic-search with its spike, sized so that
# on the end date the month-to-date spend and the forecast are these shares of the amount.
BUDGET_NAME = "search-monthly"
BUDGET_AMOUNT_USD = Decimal("12000")
BUDGET_ACTUAL_SHARE = 0.70
# Forecast = spend so far + the last 7 days' daily rate * the days left (11 on 2026-11-20).
BUDGET_FORECAST_SHARE = 1.15
# A straight-line forecast instead: 0.70 * 30 days / 19 elapsed days.
BUDGET_LINEAR_FORECAST_SHARE = 1.105
# The other budgets are sized so the forecast above stays near this share of each: no alert.
QUIET_BUDGET_FORECAST_SHARE = 0.70
