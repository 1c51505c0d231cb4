"""Example questions: the structured query each must parse to, and the figure its answer must
give on the fixture in `cost_fixture` (now 12:00 on 2026-11-18, time zone UTC).

This table is the single source of docs/questions.md: `python tests/question_examples.py`
prints that page, and a test fails when the page and the table differ. The arithmetic
behind each expected figure is in the comment beside it. The daily totals of the fixture are
11-08 50.00, 11-10 197.25, 11-11 9.05, 11-12 9.00, 11-13 4.40, 11-16 100.00 (all others 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

D = Decimal
LAST_WEEK = ["last week", "2026-11-09", "2026-11-15"]
THIS_MONTH = ["this month", "2026-11-01", "2026-11-18"]


@dataclass(frozen=True)
class Example:
    question: str
    query: dict
    figure: Callable[[dict], Any] | None = None  # reads the figure from Answer.data["result"]
    expected: Any = None


def total(result: dict) -> Decimal:
    return D(result["total"])


def group(dimension: str, value: str | None, field: str = "total") -> Callable[[dict], Decimal]:
    def read(result: dict) -> Decimal:
        for row in result["rows"]:
            if row["group"].get(dimension) == value:
                return D(row[field])
        raise AssertionError(f"no row with {dimension}={value!r} in {result['rows']}")

    return read


def key(*path: str | int) -> Callable[[dict], Any]:
    def read(result: dict) -> Any:
        value: Any = result
        for step in path:
            value = value[step]
        return D(value) if isinstance(value, str) and value.replace(".", "", 1).lstrip("-").isdigit() else value

    return read


def feature_row(feature: str, field: str) -> Callable[[dict], Any]:
    def read(result: dict) -> Any:
        row = next(row for row in result["rows"] if row["group"]["feature"] == feature)
        return D(row[field])

    return read


def host_row(host: str, field: str) -> Callable[[dict], Any]:
    def read(result: dict) -> Any:
        row = next(row for row in result["rows"] if row["host"] == host)
        return D(str(row[field]))

    return read


EXAMPLES = [
    # --- periods -------------------------------------------------------------------------
    Example("how much did we spend last week", {"intent": "spend", "period": LAST_WEEK},
            total, D("219.70")),  # 197.25 + 9.05 + 9.00 + 4.40
    Example("What did we spend yesterday?", {"intent": "spend", "period": ["yesterday", "2026-11-17", "2026-11-17"]},
            total, D("0")),
    Example("spend today", {"intent": "spend", "period": ["today", "2026-11-18", "2026-11-18"]}, total, D("0")),
    Example("how much did we spend this month", {"intent": "spend", "period": THIS_MONTH},
            total, D("369.70")),  # 50.00 + 219.70 + 100.00
    Example("spend last month", {"intent": "spend", "period": ["last month", "2026-10-01", "2026-10-31"]},
            total, D("0")),
    Example("how much did we spend this quarter",
            {"intent": "spend", "period": ["this quarter", "2026-10-01", "2026-11-18"]}, total, D("369.70")),
    Example("spend last quarter", {"intent": "spend", "period": ["last quarter", "2026-07-01", "2026-09-30"]},
            total, D("0")),
    Example("spend this year", {"intent": "spend", "period": ["this year", "2026-01-01", "2026-11-18"]},
            total, D("369.70")),
    # "last N days" is the N whole days before today, today left out.
    Example("spend last 7 days", {"intent": "spend", "period": ["last 7 days", "2026-11-11", "2026-11-17"]},
            total, D("122.45")),  # 9.05 + 9.00 + 4.40 + 100.00
    Example("spend in the past 14 days", {"intent": "spend", "period": ["last 14 days", "2026-11-04", "2026-11-17"]},
            total, D("369.70")),
    Example("spend over the last 2 weeks", {"intent": "spend", "period": ["last 2 weeks", "2026-11-04", "2026-11-17"]},
            total, D("369.70")),
    Example("spend in November", {"intent": "spend", "period": ["November 2026", "2026-11-01", "2026-11-18"]},
            total, D("369.70")),
    Example("spend since nov 10", {"intent": "spend", "period": ["since 2026-11-10", "2026-11-10", "2026-11-18"]},
            total, D("319.70")),  # 197.25 + 9.05 + 9.00 + 4.40 + 100.00
    Example("spend between nov 10 and nov 11",
            {"intent": "spend", "period": ["2026-11-10 to 2026-11-11", "2026-11-10", "2026-11-11"]},
            total, D("206.30")),  # 197.25 + 9.05
    Example("spend from 2026-11-12 to 2026-11-13",
            {"intent": "spend", "period": ["2026-11-12 to 2026-11-13", "2026-11-12", "2026-11-13"]},
            total, D("13.40")),  # 9.00 + 4.40
    Example("spend on 2026-11-12", {"intent": "spend", "period": ["2026-11-12", "2026-11-12", "2026-11-12"]},
            total, D("9.00")),  # 7.00 anthropic + 2.00 FOCUS other
    Example("Q4 2026 spend by provider",
            {"intent": "spend", "period": ["Q4 2026", "2026-10-01", "2026-11-18"], "group_by": ["provider"]},
            group("provider", "openai"), D("172.15")),  # llm 12.50 + 3.25 + 4.40 + 50 + 100, tools 1.20 + 0.80
    # --- groupings -----------------------------------------------------------------------
    Example("spend by team last week", {"intent": "spend", "period": LAST_WEEK, "group_by": ["team"]},
            group("team", "search"), D("37.70")),  # llm 12.50 + 7.00, tools 1.20, review 15.00, other 2.00
    Example("spend in november 2026 by team",
            {"intent": "spend", "period": ["November 2026", "2026-11-01", "2026-11-18"], "group_by": ["team"]},
            group("team", "search"), D("187.70")),  # 37.70 + 50.00 + 100.00
    Example("spend by feature last week", {"intent": "spend", "period": LAST_WEEK, "group_by": ["feature"]},
            group("feature", "ticket-classifier"), D("13.45")),  # llm 3.25 + 4.40, tools 0.80, review 5.00
    Example("llm spend by model last week",
            {"intent": "spend", "period": LAST_WEEK, "group_by": ["model"], "kinds": ["llm"]},
            group("model", "gpt-5"), D("12.50")),  # the 4.00 gpt-5 row is replaced by a reported line
    Example("spend by day last week", {"intent": "spend", "period": LAST_WEEK, "group_by": ["day"]},
            group("day", "2026-11-10"), D("197.25")),  # 12.50 + 1.20 + 3.43 + 165.12 + 15.00
    Example("weekly spend this month", {"intent": "spend", "period": THIS_MONTH, "group_by": ["week"]},
            group("week", "2026-11-16"), D("100.00")),
    Example("daily spend for team support since nov 10",
            {"intent": "spend", "period": ["since 2026-11-10", "2026-11-10", "2026-11-18"], "filters": {"team": ["support"]},
             "group_by": ["day"]},
            group("day", "2026-11-11"), D("9.05")),  # 3.25 + 0.80 + 5.00
    # --- filters -------------------------------------------------------------------------
    Example("how much did team search spend last week",
            {"intent": "spend", "period": LAST_WEEK, "filters": {"team": ["search"]}}, total, D("37.70")),
    Example("what did the support team spend last week",
            {"intent": "spend", "period": LAST_WEEK, "filters": {"team": ["support"]}}, total, D("13.45")),
    Example("spend for semantic-search last week",
            {"intent": "spend", "period": LAST_WEEK, "filters": {"feature": ["semantic-search"]}}, total, D("37.70")),
    Example("spend on gpt-5 last week", {"intent": "spend", "period": LAST_WEEK, "filters": {"model": ["gpt-5"]}},
            total, D("12.50")),
    Example("anthropic spend last week",
            {"intent": "spend", "period": LAST_WEEK, "filters": {"provider": ["anthropic"]}}, total, D("7.00")),
    Example("spend on web_search last week",
            {"intent": "spend", "period": LAST_WEEK, "filters": {"tool": ["web_search"]}}, total, D("1.20")),
    Example("spend on host h100-idle-01 last week",
            {"intent": "spend", "period": LAST_WEEK, "filters": {"host": ["h100-idle-01"]}},
            total, D("165.12")),  # the FOCUS row; the host's own sample does not count
    Example("how much did we spend on gpus last week",
            {"intent": "spend", "period": LAST_WEEK, "kinds": ["gpu"]}, total, D("168.55")),  # 3.43 + 165.12
    Example("tool spend last week", {"intent": "spend", "period": LAST_WEEK, "kinds": ["tools"]}, total, D("2.00")),
    Example("review cost last week", {"intent": "spend", "period": LAST_WEEK, "kinds": ["review"]},
            total, D("20.00")),  # 15.00 + 5.00
    # --- top -----------------------------------------------------------------------------
    Example("top 3 teams last week", {"intent": "top", "period": LAST_WEEK, "group_by": ["team"], "top": 3},
            key("rows", 0, "cost"), D("168.55")),  # ml-platform: 3.43 + 165.12
    Example("top 5 features by spend last week",
            {"intent": "top", "period": LAST_WEEK, "group_by": ["feature"], "top": 5},
            key("rows", 1, "cost"), D("37.70")),  # first is unallocated FOCUS GPU 165.12, then semantic-search
    Example("top 3 models by llm spend last week",
            {"intent": "top", "period": LAST_WEEK, "group_by": ["model"], "kinds": ["llm"], "top": 3},
            key("rows", 0, "cost"), D("12.50")),
    Example("which team spent the most this month",
            {"intent": "top", "period": THIS_MONTH, "group_by": ["team"], "top": 5},
            key("rows", 0, "cost"), D("187.70")),  # search 37.70 + 150.00 beats ml-platform 168.55
    # --- change --------------------------------------------------------------------------
    Example("why did spend go up last week",
            {"intent": "compare", "period": LAST_WEEK, "compare_to": ["2026-11-02", "2026-11-08"]},
            key("change"), D("169.70")),  # 219.70 - 50.00
    Example("what changed last week",
            {"intent": "compare", "period": LAST_WEEK, "compare_to": ["2026-11-02", "2026-11-08"]},
            key("drivers", 0, "rows", 0, "change"), D("168.55")),  # team leads: ml-platform 3.43 + 165.12
    # A period that is not over is compared like for like: both periods end 2 days and 12 hours
    # after their start.
    Example("compare this week vs last week",
            {"intent": "compare", "period": ["this week", "2026-11-16", "2026-11-18T12:00"],
             "compare_to": ["2026-11-09", "2026-11-11T12:00"]},
            key("change"), D("-106.30")),  # 100.00 - (197.25 + 9.05)
    Example("why did spend go up this week",
            {"intent": "compare", "period": ["this week", "2026-11-16", "2026-11-18T12:00"],
             "compare_to": ["2026-11-09", "2026-11-11T12:00"]},
            key("previous"), D("206.30")),  # the week before, not the 3 days before: 197.25 + 9.05
    Example("how did team search change this week compared to last week",
            {"intent": "compare", "period": ["this week", "2026-11-16", "2026-11-18T12:00"],
             "compare_to": ["2026-11-09", "2026-11-11T12:00"], "filters": {"team": ["search"]}},
            key("change"), D("71.30")),  # 100.00 - (12.50 + 1.20 + 15.00)
    # Two named periods: the later one is reported and the earlier one is its baseline, in either order.
    Example("compare Q3 2026 vs Q4 2026",
            {"intent": "compare", "period": ["Q4 2026", "2026-10-01", "2026-11-18T12:00"],
             "compare_to": ["2026-07-01", "2026-08-18T12:00"]},
            key("change"), D("369.70")),  # Q3 cut to Q4's first 48 days and 12 hours, with no spend
    Example("compare Q4 2026 vs Q3 2026",
            {"intent": "compare", "period": ["Q4 2026", "2026-10-01", "2026-11-18T12:00"],
             "compare_to": ["2026-07-01", "2026-08-18T12:00"]},
            key("change"), D("369.70")),
    # --- cost per success ----------------------------------------------------------------
    Example("cost per success by workflow last week",
            {"intent": "cost_per_success", "period": LAST_WEEK, "group_by": ["feature"]},
            feature_row("semantic-search", "cost_per_success"), D("0.4189")),  # 37.70 / 90 = 0.41888…
    Example("success rate of ticket-classifier last week",
            {"intent": "cost_per_success", "period": LAST_WEEK, "filters": {"feature": ["ticket-classifier"]}},
            feature_row("ticket-classifier", "cost_per_success"), D("0.3362")),  # 13.45 / 40 = 0.33625, half-even
    # --- retries -------------------------------------------------------------------------
    Example("retry overhead last week", {"intent": "retries", "period": LAST_WEEK},
            key("retry_cost"), D("2.02")),  # 12.50 x 5/100 = 0.625 -> 0.62, plus 7.00 x 10/50 = 1.40
    Example("how much do retries cost for semantic-search last week",
            {"intent": "retries", "period": LAST_WEEK, "filters": {"feature": ["semantic-search"]}},
            key("failure_cost"), D("0.39")),  # failed: 12.50 x 2/100 = 0.25, plus 7.00 x 1/50 = 0.14
    # --- tiers ---------------------------------------------------------------------------
    Example("tier mix last week", {"intent": "tiers", "period": LAST_WEEK},
            key("tiers", 0, "cost"), D("16.50")),  # standard usage rows' own cost: 12.50 + 4.00 (mystery unpriced)
    Example("how much would batch save us last week", {"intent": "tiers", "period": LAST_WEEK},
            key("batch_saving"), D("13.25")),  # 16.50 x 0.5 + 7.00 x (1 - 0.5/1.75) = 8.25 + 5.00
    # --- GPU -----------------------------------------------------------------------------
    Example("gpu utilization last week", {"intent": "gpu", "period": LAST_WEEK},
            host_row("a100-01", "utilization_pct"), D("70.0")),  # (80 x 1800 + 60 x 1800) / 3600
    Example("idle gpu cost by host last week", {"intent": "gpu", "period": LAST_WEEK, "group_by": ["host"]},
            key("idle_cost"), D("149.64")),  # 165.12 x 0.90 = 148.61, plus 3.43 x 0.30 = 1.03
    # --- forecast ------------------------------------------------------------------------
    Example("what's the month-end forecast", {"intent": "forecast", "period": THIS_MONTH},
            key("forecast"), D("597.11")),  # 369.70 + 122.45 / 7 x 13 days left = 369.70 + 227.41
    Example("are we on track this month for team search",
            {"intent": "forecast", "period": THIS_MONTH, "filters": {"team": ["search"]}},
            key("forecast"), D("390.13")),  # 187.70 + (9.00 + 100.00) / 7 x 13 = 187.70 + 202.43
    # --- tokens and requests -------------------------------------------------------------
    Example("tokens by model last week", {"intent": "tokens", "period": LAST_WEEK, "group_by": ["model"]},
            lambda result: next(row["input_tokens"] for row in result["rows"] if row["group"]["model"] == "gpt-5"),
            13000),  # 10,000 (l1) + 3,000 (l4)
    Example("how many requests did we make last week", {"intent": "tokens", "period": LAST_WEEK},
            key("totals", "requests"), 590),  # 100 + 400 + 50 + 30 + 10
    # Tenants come from the mapping of API keys, so token and request counts have them even where
    # a cost report replaces the keys' spend. No fixture row has a tenant: 100 + 400 + 50 + 30 + 10.
    Example("tokens per tenant last week", {"intent": "tokens", "period": LAST_WEEK, "group_by": ["tenant"]},
            lambda result: next(row["requests"] for row in result["rows"] if row["group"]["tenant"] is None), 590),
    # --- budgets, help, near misses --------------------------------------------------------
    Example("show budgets", {"intent": "budgets"}),
    Example("help", {"intent": "help"}),
    # A word close to a stored value or a question word gets the corrected question, not an answer.
    Example("how much did tem serch spend last week",
            {"intent": "spend", "period": LAST_WEEK, "filters": {"team": ["search"]},
             "corrected": "how much did team search spend last week"}),
    Example("spnd by tem",
            {"intent": "spend", "period": ["last 30 days", "2026-10-19", "2026-11-17"], "group_by": ["team"],
             "corrected": "spend by team"}),
    Example("cost per sucess by workflow last week",
            {"intent": "cost_per_success", "period": LAST_WEEK, "group_by": ["feature"],
             "corrected": "cost per success by workflow last week"}),
    Example("spend in novmber",
            {"intent": "spend", "period": ["November 2026", "2026-11-01", "2026-11-18"],
             "corrected": "spend in november"}),
    Example("spend for team foo last week",
            {"intent": "spend", "period": LAST_WEEK,
             "not_found": ["No team “foo” is stored (known: data, ml-platform, search, support)."]}),
    Example("what's the weather like", {"intent": "help"}),
    Example("purple monkey dishwasher", {"intent": "help"}),
]


def markdown() -> str:
    """Return docs/questions.md: every example with the structured query it parses to."""
    import json

    lines = [
        "# Cost questions",
        "",
        "`costbot ask \"QUESTION\"` and the Slack bot read plain English with a deterministic parser",
        "(no language model, no network). Each question becomes the structured query shown here, as",
        "printed under `query` by `costbot ask --json`. The dates assume it is 12:00 on Wednesday",
        "2026-11-18 in the workspace time zone; weeks start on Monday.",
        "",
        "The test suite parses every question in this table and checks the query and the answer's",
        "figure on a fixture with hand-computed totals (tests/question_examples.py is the table;",
        "`python tests/question_examples.py > docs/questions.md` regenerates this page).",
        "",
        "## What the parser reads",
        "- Periods: today, yesterday, this/last week, month, quarter, year, last N days/weeks/months,",
        "  a month name with or without a year, Q1–Q4 with or without a year, since DATE,",
        "  between DATE and DATE, from DATE to DATE, on DATE, month to date (mtd), year to date (ytd).",
        "  A date is 2026-11-03, Nov 3, 3 Nov or November 3 2026; without a year it is the latest such",
        "  date not after today. \"Last N days\" (weeks, months) is the N whole days before today.",
        "  Today is left out because its usage is still coming in, and a rule with `window_days: N`",
        "  covers the same days, so both give the same amount. Other periods that reach today include",
        "  it. With no period, a question covers the last 30 days (the last 7 days against the 7",
        "  before for a change), and the answer says so. Every answer states its period with dates.",
        "- Changes: with no second period, a day, week, month, quarter or year is compared with the one",
        "  before it, and other periods with as many days just before. When either period is not",
        "  over (this week on a Wednesday), both are cut like for like to the span it has run. That",
        "  span is its whole days plus today up to the current hour, so \"this week\" at 12:00 on",
        "  Wednesday is compared with last Monday 00:00 to Wednesday 12:00. A shorter period",
        "  (February against most of March) is compared whole. The answer states the span and both",
        "  ranges, and the structured query gives a cut period's end with its time (`2026-11-11T12:00`).",
        "  A second period that resolves to the same days as the first (\"last 14 days vs previous 14",
        "  days\") means the days just before it. Of two named periods, the later one is reported and",
        "  the earlier one is its baseline, in whichever order the question names them, so \"compare",
        "  Q3 2026 vs Q4 2026\" reports Q4 against Q3. Other intents answer for one period and say",
        "  that they left the second one out.",
        "- Groupings: by or per team, feature (workflow), tenant (customer), user, project,",
        "  environment, provider, model, tier, tool, host, GPU model, day, week or month; daily, weekly, monthly.",
        "- Filters: a stored value, alone or after its dimension word (\"team search\", \"the search team\",",
        "  \"gpt-5\"), matched without regard to case; \"semantic search\" matches semantic-search.",
        "  An unknown value after a dimension word gets the list of known values.",
        "- Misspellings: a word close to a stored value or to a word the parser reads (\"spnd by tem\",",
        "  \"novmber\") gets \"did you mean\" with the corrected question and no numbers. Close means a",
        "  rapidfuzz ratio of at least 80 (\"tem\" and \"team\" score 86, \"flux\" and \"flex\" 75), or 70",
        "  for a value right after its dimension word. A question with nothing to recognise gets",
        "  help with examples that use the stored teams, features and providers.",
        "- Intents: spend (how much, spend, cost), tokens and requests, top N, compare and why it",
        "  changed, cost per success and success rate, retries and failure cost, tiers and batch",
        "  savings, GPU utilization and idle cost, month-end forecast, budgets, help.",
        "",
        "## How figures are computed",
        "- Spend counts LLM, tools, GPU, human review and other cloud cost. A provider's reported cost",
        "  replaces priced usage for the same provider, project and UTC day; GPU samples with an hourly",
        "  rate count only for hosts without FOCUS GPU rows. Rows without a price are counted and",
        "  reported, never added as $0.",
        "- Groups: spend of a kind that cannot have the grouped dimension is named by its kinds, as",
        "  in \"no model: tools, GPU, review\", in spend tables and change drivers alike. Only LLM spend",
        "  has a model and a tier, review spend has no provider, only tool spend has a tool, and only",
        "  GPU spend has a host or GPU model. \"(unallocated)\" is spend that could have a value but has",
        "  none, such as LLM spend from a cost report without models, or a row with no team.",
        "  Tenants come from the mapping of API keys and from the sources that report them. A cost",
        "  report without API keys (the OpenAI Costs API) replaces the spend of those keys, so on the",
        "  demo data \"spend per tenant\" shows all spend as (unallocated). \"tokens per tenant\"",
        "  reads the usage rows instead and shows acme, globex and initech.",
        "- Cost per success: all spend allocated to the workflow (retries and failed runs included)",
        "  divided by its successful runs; success rate = succeeded / (succeeded + failed + escalated).",
        "- Retry and failure cost: an estimate that a retried or failed request costs the average",
        "  request of its provider and model. A group whose usage has tokens or cost but no request",
        "  count (Anthropic usage reports give none) shows n/a, because its retry rate is unknown.",
        "- Batch savings: eligible traffic is standard and priority traffic of features marked",
        "  `interactive: false` in the mapping file (all features when none are marked, an upper bound);",
        "  batch and flex cost 50% of standard, priority at least 1.75× standard. The answer lists",
        "  the marked features that spent on standard or priority, not GPU-only or batch-only ones.",
        "- Change drivers: the change is split by feature, model, team and provider. Each split (its",
        "  largest changes, the other values together and the spend of kinds that cannot have the",
        "  dimension) adds up to the whole change. The table shows the dimension with the largest change",
        "  of one named group (the unallocated group does not count), and a line per other dimension",
        "  follows. The splits overlap, because every dollar counts once in each, so changes add up",
        "  only within one split. Values that did not change are counted with the other values, so",
        "  the table's before and after columns add up to the two totals.",
        "- GPU idle cost = GPU cost × (1 − time-weighted mean utilization).",
        "- Month-end forecast = spend from the first of the month to the end of yesterday + the mean",
        "  daily spend of the last 7 complete days × the days left in the month, today included.",
        "",
        "## Examples",
        "",
        "| question | structured query |",
        "| --- | --- |",
    ]
    for example in EXAMPLES:
        query = json.dumps(example.query, ensure_ascii=False).replace("|", "\\|")
        lines.append(f"| {example.question} | `{query}` |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
