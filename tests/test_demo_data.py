"""The demo data generator: same seed same bytes, real formats, and the planted cases in the numbers.

Every planted number is recomputed here from the generated files with plain parsing, not from
the generator's own structures, so a test fails when a file stops showing its case.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import yaml
from genai_prices import Usage, calc_price
from sqlmodel import Session
from typer.testing import CliRunner

from bot.budgets.checks import check_budgets
from bot.budgets.config import load_budgets
from bot.cli import app
from bot.clock import FixedClock
from bot.demo import cases, generate
from bot.demo import pricing as demo_pricing
from bot.demo.bench_rows import write_llm_rows
from bot.demo.focus_export import COLUMNS as FOCUS_COLUMNS
from bot.ingest.loader import import_file
from bot.mapping import load_mapping
from bot.pricing import load_pricer
from bot.pricing.reports import reconcile
from bot.queries.spend import spend_by
from bot.rules.runner import run_rules
from bot.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
END = cases.DEFAULT_END.date()

# Result keys of the Usage and Costs API responses (OpenAI's published examples).
OPENAI_USAGE_KEYS = {
    "object", "input_tokens", "input_cached_tokens", "input_cache_write_tokens", "input_uncached_tokens",
    "output_tokens", "input_text_tokens", "output_text_tokens", "input_cached_text_tokens",
    "input_audio_tokens", "input_cached_audio_tokens", "output_audio_tokens", "input_image_tokens",
    "input_cached_image_tokens", "output_image_tokens", "num_model_requests", "project_id", "user_id",
    "api_key_id", "model", "batch", "service_tier",
}
OPENAI_COST_KEYS = {"object", "amount", "line_item", "project_id", "api_key_id", "quantity", "quantity_unit"}
ANTHROPIC_USAGE_KEYS = {
    "uncached_input_tokens", "cache_creation", "cache_read_input_tokens", "output_tokens", "server_tool_use",
    "api_key_id", "workspace_id", "model", "service_tier", "context_window",
}
ANTHROPIC_COST_KEYS = {
    "currency", "amount", "workspace_id", "description", "cost_type", "context_window", "model",
    "service_tier", "token_type",
}
LITELLM_COLUMNS = [
    "request_id", "call_type", "api_key", "spend", "total_tokens", "prompt_tokens", "completion_tokens",
    "startTime", "endTime", "request_duration_ms", "completionStartTime", "model", "model_id", "model_group",
    "custom_llm_provider", "api_base", "user", "metadata", "cache_hit", "cache_key", "request_tags", "team_id",
    "organization_id", "end_user", "requester_ip_address", "messages", "response", "session_id", "status",
    "mcp_namespaced_tool_name", "agent_id", "proxy_server_request",
]
NVIDIA_SMI_HEADER = [
    "timestamp", "name", "index", "uuid", "utilization.gpu [%]", "memory.used [MiB]", "memory.total [MiB]",
    "power.draw [W]",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate(out, seed=cases.DEFAULT_SEED, days=cases.DEFAULT_DAYS, end=cases.DEFAULT_END)
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _day(timestamp: int) -> date:
    return datetime.fromtimestamp(timestamp, UTC).date()


def _buckets(path: Path) -> list[dict]:
    pages = json.loads(path.read_text())
    return [bucket for page in pages for bucket in page["data"]]


def _openai_costs(demo: Path) -> dict[tuple[date, str, str], Decimal]:
    """Return USD per (day, project, line item) from the Costs API pages."""
    costs: dict[tuple[date, str, str], Decimal] = defaultdict(Decimal)
    for bucket in _buckets(demo / "openai" / "costs.json"):
        for result in bucket["results"]:
            key = (_day(bucket["start_time"]), result["project_id"], result["line_item"])
            costs[key] += Decimal(str(result["amount"]["value"]))
    return costs


def _window(days_before_end_first: int, days_before_end_last: int) -> tuple[date, date]:
    """Return [start, end) covering the days that are `first`..`last` days before the end (1 = last day)."""
    return END - timedelta(days=days_before_end_first), END - timedelta(days=days_before_end_last - 1)


def _sum(costs: dict, start: date, end: date, project: str, line_prefix: str = "") -> Decimal:
    return sum(
        (usd for (day, row_project, line), usd in costs.items()
         if start <= day < end and row_project == project and line.startswith(line_prefix)),
        Decimal(0),
    )


def _outcomes(demo: Path) -> list[dict]:
    with (demo / "outcomes.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


# --- determinism and the committed examples -------------------------------------------------


def test_same_seed_same_bytes(demo, tmp_path):
    generate(tmp_path, seed=cases.DEFAULT_SEED, days=cases.DEFAULT_DAYS, end=cases.DEFAULT_END)
    assert _files(tmp_path) == _files(demo)


def test_other_seed_other_numbers(demo, tmp_path):
    generate(tmp_path, seed=cases.DEFAULT_SEED + 1, days=cases.DEFAULT_DAYS, end=cases.DEFAULT_END)
    assert (tmp_path / "openai" / "usage_completions.json").read_bytes() != (
        demo / "openai" / "usage_completions.json"
    ).read_bytes()
    # The ids and the mapping do not depend on the seed.
    assert (tmp_path / "mapping.yml").read_bytes() == (demo / "mapping.yml").read_bytes()


def test_examples_match_default_seed(demo):
    # examples/ also holds hand-written files (README.md, the price overrides example).
    generated = _files(demo)
    committed = {name: data for name, data in _files(EXAMPLES).items() if name in generated}
    assert committed == generated, "examples/ is stale: run costbot demo-data examples/"


# --- formats ---------------------------------------------------------------------------------


def test_openai_usage_is_usage_api_pages(demo):
    pages = json.loads((demo / "openai" / "usage_completions.json").read_text())
    assert [page["object"] for page in pages] == ["page"] * 3  # 90 daily buckets, 31 per page
    assert [page["has_more"] for page in pages] == [True, True, False]
    assert pages[-1]["next_page"] is None
    buckets = [bucket for page in pages for bucket in page["data"]]
    assert len(buckets) == 90
    assert buckets[0]["start_time"] == int(datetime(2026, 8, 22, tzinfo=UTC).timestamp())
    assert buckets[-1]["end_time"] == int(cases.DEFAULT_END.timestamp())
    for bucket in buckets:
        assert bucket["object"] == "bucket"
        assert bucket["end_time"] - bucket["start_time"] == 86400
        for result in bucket["results"]:
            assert set(result) == OPENAI_USAGE_KEYS
            assert result["object"] == "organization.usage.completions.result"
            assert result["input_uncached_tokens"] == result["input_tokens"] - result["input_cached_tokens"]
            assert result["service_tier"] in ("default", "priority")


def test_openai_costs_are_costs_api_pages(demo):
    buckets = _buckets(demo / "openai" / "costs.json")
    assert len(buckets) == 90
    for bucket in buckets:
        for result in bucket["results"]:
            # organization_id is one of the fields real responses add beyond the published schema.
            assert set(result) == OPENAI_COST_KEYS | {"organization_id"}
            assert result["amount"]["currency"] == "usd"
            assert result["amount"]["value"] > 0


def test_anthropic_reports_are_admin_api_pages(demo):
    usage = _buckets(demo / "anthropic" / "usage_report_messages.json")
    assert len(usage) == 90 * 24
    assert usage[0]["starting_at"] == "2026-08-22T00:00:00Z"
    assert usage[-1]["ending_at"] == "2026-11-20T00:00:00Z"
    for bucket in usage:
        for result in bucket["results"]:
            assert set(result) == ANTHROPIC_USAGE_KEYS
    costs = _buckets(demo / "anthropic" / "cost_report.json")
    assert len(costs) == 90
    for bucket in costs:
        for result in bucket["results"]:
            assert set(result) == ANTHROPIC_COST_KEYS
            assert result["currency"] == "USD"
            assert isinstance(result["amount"], str)
            assert Decimal(result["amount"]) > 0


def test_litellm_csv_has_spend_log_columns(demo):
    with (demo / "litellm" / "spend_logs.csv").open(newline="") as handle:
        reader = csv.reader(handle)
        assert next(reader) == LITELLM_COLUMNS
        rows = list(reader)
    assert 2500 < len(rows) < 4500
    for row in rows[:50]:
        metadata = json.loads(row[LITELLM_COLUMNS.index("metadata")])
        assert metadata["user_api_key_team_id"] == row[LITELLM_COLUMNS.index("team_id")]
        assert json.loads(row[LITELLM_COLUMNS.index("request_tags")]) == ["app:doc-extraction"]
        assert datetime.strptime(row[LITELLM_COLUMNS.index("startTime")], "%Y-%m-%d %H:%M:%S.%f")


def test_focus_csv_is_focus_1_2_with_crlf(demo):
    raw = (demo / "focus" / "aws_focus_1.2.csv").read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")
    with (demo / "focus" / "aws_focus_1.2.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == list(FOCUS_COLUMNS)
        rows = list(reader)
    assert len(FOCUS_COLUMNS) == 57
    gpu_rows = [row for row in rows if row["ServiceCategory"] == "Compute"]
    # 8 single-GPU hosts, hourly, over 36 days: 8 * 24 * 36 = 6912 rows, plus one vector store row a day.
    assert len(gpu_rows) == 6912
    assert len(rows) - len(gpu_rows) == 36
    rates = {row["ResourceName"]: row["BilledCost"] for row in gpu_rows}
    assert rates["h100-idle-01"] == "6.88"
    assert rates["a100-02"] == "3.43"
    vector = next(row for row in rows if row["ServiceCategory"] != "Compute")
    assert vector["BilledCost"] == "11.52"  # 48 OCU-hours * $0.24
    assert json.loads(vector["Tags"]) == {"cost-center": "support", "app": "support-reply-drafts"}


def _nvidia_rows(path: Path) -> list[list[str]]:
    lines = path.read_text().splitlines()
    assert lines[0].split(", ") == NVIDIA_SMI_HEADER
    return [line.split(", ") for line in lines[1:]]


def test_nvidia_smi_logs_every_ten_minutes(demo):
    rows = _nvidia_rows(demo / "gpu" / "h100-serve-01.csv")
    assert len(rows) == 14 * 144
    first = datetime.strptime(rows[0][0], "%Y/%m/%d %H:%M:%S.%f")
    last = datetime.strptime(rows[-1][0], "%Y/%m/%d %H:%M:%S.%f")
    assert first.replace(microsecond=0) == datetime(2026, 11, 6)
    assert last.replace(microsecond=0) == datetime(2026, 11, 19, 23, 50)
    assert rows[0][1] == "NVIDIA H100 80GB HBM3"
    assert rows[0][4].endswith(" %")
    assert rows[0][5].endswith(" MiB")
    assert rows[0][6] == "81559 MiB"
    assert all(row[7] == "[N/A]" or row[7].endswith(" W") for row in rows)


def test_generic_csv_headers(demo):
    outcomes = (demo / "outcomes.csv").read_text().splitlines()[0]
    tools = (demo / "tools.csv").read_text().splitlines()[0]
    assert outcomes == "start_time,workflow,succeeded,failed,escalated,review_minutes,review_cost_usd,team"
    assert tools == "start_time,tool,provider,calls,cost_usd,quantity,quantity_unit,workflow,team"


# The examples bill these tiers as multiples of the standard price on every day: Batch at 50%,
# and Priority for gpt-5-mini (the only model they run on it) at $0.45 input against $0.25.
OPENAI_TIER_MULTIPLIERS = {"default": Decimal(1), "batch": Decimal("0.5"), "priority": Decimal("1.8")}


def test_reported_costs_close_to_list_prices(demo):
    """Reported OpenAI costs are within 1.5% of the list price at each row's tier per project and day,
    never all equal."""
    priced: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for bucket in _buckets(demo / "openai" / "usage_completions.json"):
        day = _day(bucket["start_time"])
        for result in bucket["results"]:
            tier = "batch" if result["batch"] else result["service_tier"]
            if tier == "priority":
                assert result["model"] == "gpt-5-mini"
            standard = calc_price(
                Usage(input_tokens=result["input_tokens"], cache_read_tokens=result["input_cached_tokens"],
                      output_tokens=result["output_tokens"]),
                result["model"], provider_id="openai",
                genai_request_timestamp=datetime.combine(day, datetime.min.time(), UTC),
            )
            priced[(day, result["project_id"])] += Decimal(standard.total_price) * OPENAI_TIER_MULTIPLIERS[tier]
    reported: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for (day, project, _line), usd in _openai_costs(demo).items():
        reported[(day, project)] += usd
    assert reported.keys() == priced.keys()
    ratios = [reported[key] / priced[key] for key in priced]
    assert min(ratios) > Decimal("0.984")
    assert max(ratios) < Decimal("1.016")
    assert len({round(ratio, 3) for ratio in ratios}) > 10


@pytest.mark.parametrize(
    ("model", "tier", "batch", "expected"),
    [
        ("gpt-5-mini", "default", False, Decimal(1)),
        ("gpt-5-mini", "default", True, Decimal("0.5")),
        ("gpt-5-mini", "flex", False, Decimal("0.5")),
        ("gpt-5-mini", "priority", False, Decimal("1.8")),
        ("claude-sonnet-4-6", "standard", False, Decimal(1)),
    ],
)
def test_demo_tier_multiplier(model, tier, batch, expected):
    assert demo_pricing.tier_multiplier(model, tier, batch) == expected


def test_demo_tier_multiplier_rejects_unknown_priority_model():
    message = "gpt-5.2: priority price missing; add the model to PRIORITY_MULTIPLIERS in bot/demo/pricing.py"
    with pytest.raises(ValueError, match=re.escape(message)):
        demo_pricing.tier_multiplier("gpt-5.2", "priority", False)


# --- planted cases ---------------------------------------------------------------------------


def test_premium_overuse_on_ticket_classifier(demo):
    costs = _openai_costs(demo)
    start, end = _window(cases.PREMIUM_SWITCH_DAYS_BEFORE_END, 1)
    premium = _sum(costs, start, end, "proj_support", "gpt-5.2,")
    total = _sum(costs, start, end, "proj_support")
    assert abs(premium / total - Decimal("0.78")) < Decimal("0.015")
    before = _sum(costs, END - timedelta(days=90), start, "proj_support", "gpt-5.2,")
    assert before == 0
    rows = [row for row in _outcomes(demo) if row["workflow"] == "ticket-classifier"
            and date.fromisoformat(row["start_time"]) < start]
    runs = sum(int(row["succeeded"]) + int(row["failed"]) + int(row["escalated"]) for row in rows)
    succeeded = sum(int(row["succeeded"]) for row in rows)
    assert abs(succeeded / runs - 0.94) < 0.003


def test_retry_spike_on_doc_extraction(demo):
    shares = {}
    spike_start = END - timedelta(days=cases.RETRY_SPIKE_DAYS)
    counts = {True: [0, 0], False: [0, 0]}  # in spike -> [retries, requests]
    with (demo / "litellm" / "spend_logs.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            in_spike = datetime.strptime(row["startTime"], "%Y-%m-%d %H:%M:%S.%f").date() >= spike_start
            counts[in_spike][0] += json.loads(row["metadata"])["attempted_retries"] > 0
            counts[in_spike][1] += 1
    for in_spike, (retries, requests) in counts.items():
        shares[in_spike] = retries / requests
    assert abs(shares[False] - 0.03) < 0.008
    assert abs(shares[True] - 0.25) < 0.04


def _utilization(demo: Path, host: str) -> tuple[float, int]:
    rows = _nvidia_rows(demo / "gpu" / f"{host}.csv")
    values = [int(row[4].removesuffix(" %")) for row in rows]
    memory = max(int(row[5].removesuffix(" MiB")) for row in rows)
    return sum(values) / len(values), memory


@pytest.mark.parametrize(
    ("hosts", "expected_pct"),
    [
        (cases.IDLE_H100_HOSTS, cases.IDLE_H100_UTILIZATION_PCT),
        (cases.SERVING_H100_HOSTS, cases.SERVING_H100_UTILIZATION_PCT),
        (cases.HEALTHY_A100_HOSTS, cases.HEALTHY_A100_UTILIZATION_PCT),
    ],
)
def test_gpu_utilization_per_host_group(demo, hosts, expected_pct):
    for host in hosts:
        mean, _memory = _utilization(demo, host)
        assert abs(mean - expected_pct) < 1.5, host


def test_serving_h100_memory_fits_an_a100(demo):
    for host in cases.SERVING_H100_HOSTS:
        _mean, memory_mib = _utilization(demo, host)
        assert memory_mib < cases.SERVING_H100_MAX_MEMORY_GIB * 1024


def test_nightly_enrichment_standard_tier_at_night(demo):
    hours = set()
    tiers = set()
    for bucket in _buckets(demo / "anthropic" / "usage_report_messages.json"):
        for result in bucket["results"]:
            if result["workspace_id"] == "wrkspc_01DataPipelines4Jv":
                hours.add(int(bucket["starting_at"][11:13]))
                tiers.add(result["service_tier"])
    assert hours == {1, 2}
    assert tiers == {"standard"}
    mapping = yaml.safe_load((demo / "mapping.yml").read_text())
    assert mapping["features"]["nightly-enrichment"]["interactive"] is False


def test_report_digest_on_priority_tier(demo):
    tiers = {
        result["service_tier"]
        for bucket in _buckets(demo / "openai" / "usage_completions.json")
        for result in bucket["results"] if result["project_id"] == "proj_growth"
    }
    assert tiers == {"priority"}
    mapping = yaml.safe_load((demo / "mapping.yml").read_text())
    assert mapping["features"]["report-digest"]["interactive"] is False


def test_unmapped_project_share_of_openai_spend(demo):
    costs = _openai_costs(demo)
    total = sum(costs.values(), Decimal(0))
    unmapped = sum((usd for (_day, project, _line), usd in costs.items() if project == "proj_unmapped"), Decimal(0))
    assert abs(unmapped / total - Decimal("0.12")) < Decimal("0.005")
    mapping = yaml.safe_load((demo / "mapping.yml").read_text())
    assert "proj_unmapped" not in mapping["projects"]
    assert cases.UNMAPPED_API_KEY not in mapping["api_keys"]


def test_mapping_covers_every_other_id(demo):
    mapping = yaml.safe_load((demo / "mapping.yml").read_text())
    projects = {result["project_id"] for bucket in _buckets(demo / "openai" / "usage_completions.json")
                for result in bucket["results"]}
    keys = {result["api_key_id"] for bucket in _buckets(demo / "openai" / "usage_completions.json")
            for result in bucket["results"]}
    workspaces = {result["workspace_id"] for bucket in _buckets(demo / "anthropic" / "usage_report_messages.json")
                  for result in bucket["results"]}
    assert projects - set(mapping["projects"]) == {"proj_unmapped"}
    assert keys - set(mapping["api_keys"]) == {cases.UNMAPPED_API_KEY}
    assert workspaces <= set(mapping["projects"])
    hosts = {path.stem for path in (demo / "gpu").glob("*.csv")}
    assert hosts == set(mapping["hosts"])
    assert set(mapping["owners"]["team"]) == {"search", "support", "data", "ml-platform", "growth"}


def test_code_review_bot_cost_per_success_regression(demo):
    costs = _openai_costs(demo)
    outcomes = [row for row in _outcomes(demo) if row["workflow"] == "code-review-bot"]
    switch = END - timedelta(days=cases.REGRESSION_SWITCH_DAYS_BEFORE_END)

    def cost_per_success(start: date, end: date) -> Decimal:
        llm = _sum(costs, start, end, "proj_devtools")
        rows = [row for row in outcomes if start <= date.fromisoformat(row["start_time"]) < end]
        review = sum((Decimal(row["review_cost_usd"]) for row in rows), Decimal(0))
        return (llm + review) / sum(int(row["succeeded"]) for row in rows)

    change = cost_per_success(switch, END) / cost_per_success(switch - timedelta(days=28), switch) - 1
    assert abs(change - Decimal("0.40")) < Decimal("0.05")
    models_after = {line.split(",")[0] for (day, project, line) in costs if project == "proj_devtools" and day >= switch}
    assert models_after == {"gpt-5-nano"}


def test_semantic_search_spend_spike(demo):
    costs = _openai_costs(demo)
    recent = _sum(costs, *_window(7, 1), "proj_search") / 7
    baseline = _sum(costs, *_window(35, 8), "proj_search") / 28
    assert abs(recent / baseline - Decimal("2.5")) < Decimal("0.1")


def _search_team_daily(demo: Path) -> dict[date, Decimal]:
    """Return team search's spend per day: its two OpenAI projects and its A100 rows in FOCUS."""
    daily: dict[date, Decimal] = defaultdict(Decimal)
    for (day, project, _line), usd in _openai_costs(demo).items():
        if project in ("proj_search", "proj_search_index"):
            daily[day] += usd
    with (demo / "focus" / "aws_focus_1.2.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if json.loads(row["Tags"])["cost-center"] == "search":
                daily[date.fromisoformat(row["ChargePeriodStart"][:10])] += Decimal(row["BilledCost"])
    return daily


def test_search_budget_breaks_by_forecast(demo):
    budgets = yaml.safe_load((demo / "budgets.yml").read_text())["budgets"]
    search = next(budget for budget in budgets if budget["name"] == "search-monthly")
    amount = Decimal(search["amount_usd"])
    assert amount == Decimal("12000")
    daily = _search_team_daily(demo)
    spent = sum((usd for day, usd in daily.items() if day >= date(2026, 11, 1)), Decimal(0))
    rate = sum((usd for day, usd in daily.items() if day >= END - timedelta(days=7)), Decimal(0)) / 7
    assert abs(spent / amount - Decimal("0.70")) < Decimal("0.015")
    # 11 days are left in November on 2026-11-20.
    assert abs((spent + 11 * rate) / amount - Decimal("1.15")) < Decimal("0.03")
    # A straight-line forecast: 19 days elapsed of 30.
    assert abs(spent * 30 / 19 / amount - Decimal("1.105")) < Decimal("0.025")


def test_other_budgets_stay_quiet(demo):
    budgets = yaml.safe_load((demo / "budgets.yml").read_text())["budgets"]
    assert [budget["name"] for budget in budgets] == [
        "search-monthly", "support-classifier-weekly", "gpu-quarterly", "all-ai-spend",
    ]
    costs = _openai_costs(demo)
    # all-ai-spend counts everything, so November's OpenAI spend alone must stay under 80% of it.
    all_ai = next(budget for budget in budgets if budget["name"] == "all-ai-spend")
    openai_november = sum((usd for (day, _p, _l), usd in costs.items() if day >= date(2026, 11, 1)), Decimal(0))
    assert openai_november < Decimal(all_ai["amount_usd"]) * Decimal("0.8")
    # gpu-quarterly: 6 H100s at $6.88 for 24 hours over 36 days (Oct 15 - Nov 19) = $35,665.92 so far.
    gpu = next(budget for budget in budgets if budget["name"] == "gpu-quarterly")
    spent = 6 * Decimal("6.88") * 24 * 36
    assert spent == Decimal("35665.92")
    forecast = spent + 6 * Decimal("6.88") * 24 * 41  # 41 days left in the quarter
    assert forecast < Decimal(gpu["amount_usd"])
    assert spent / Decimal(gpu["amount_usd"]) < Decimal("0.8")


# --- the command ---------------------------------------------------------------------------


def test_command_writes_examples(tmp_path):
    result = CliRunner().invoke(app, ["demo-data", str(tmp_path / "out"), "--days", "30", "--end", "2026-10-01"])
    assert result.exit_code == 0, result.output
    assert "wrote 18 files" in result.output
    buckets = _buckets(tmp_path / "out" / "openai" / "usage_completions.json")
    assert buckets[0]["start_time"] == int(datetime(2026, 9, 1, tzinfo=UTC).timestamp())


def test_command_rejects_bad_end(tmp_path):
    result = CliRunner().invoke(app, ["demo-data", str(tmp_path), "--end", "20/11/2026"])
    assert result.exit_code == 2
    assert "invalid date; use YYYY-MM-DD" in result.output


def test_generate_rejects_end_not_utc_midnight(tmp_path):
    with pytest.raises(ValueError, match=r"end: 2026-11-20T06:00:00\+00:00: must be a UTC midnight"):
        generate(tmp_path, seed=1, days=30, end=datetime(2026, 11, 20, 6, tzinfo=UTC))
    with pytest.raises(ValueError, match=r"end: 2026-11-20T00:00:00: must be a UTC midnight"):
        generate(tmp_path, seed=1, days=30, end=datetime(2026, 11, 20))
    assert list(tmp_path.iterdir()) == []


def test_llm_rows_exact_count_and_deterministic(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert write_llm_rows(first, rows=12_345, seed=3, days=90, end=cases.DEFAULT_END) == 12_345
    write_llm_rows(second, rows=12_345, seed=3, days=90, end=cases.DEFAULT_END)
    assert first.read_bytes() == second.read_bytes()
    rows = 0
    for line in first.read_text().splitlines():
        page = json.loads(line)
        bucket = page["data"][0]
        results = bucket["results"]
        groups = {(r["project_id"], r["api_key_id"], r["model"], r["service_tier"], r["batch"]) for r in results}
        assert len(groups) == len(results)  # each row is its own group within the bucket
        assert all(set(result) == OPENAI_USAGE_KEYS for result in results)
        rows += len(results)
    assert rows == 12_345


def test_llm_rows_command(tmp_path):
    result = CliRunner().invoke(app, ["demo-data", str(tmp_path), "--llm-rows", "1000"])
    assert result.exit_code == 0, result.output
    assert "wrote 1000 usage rows" in result.output
    assert len((tmp_path / "openai_usage_completions_bench.jsonl").read_text().splitlines()) == 1000


# --- importing the examples ------------------------------------------------------------------


# Two of the eight nvidia-smi logs (the same format) keep the import under a minute per database.
GPU_LOGS = ("h100-idle-01.csv", "h100-serve-01.csv")


def _example_files() -> list[Path]:
    folders = ("openai", "anthropic", "litellm", "focus")
    return [
        *(path for folder in folders for path in sorted((EXAMPLES / folder).iterdir())),
        *(EXAMPLES / "gpu" / name for name in GPU_LOGS),
        EXAMPLES / "outcomes.csv",
        EXAMPLES / "tools.csv",
    ]


def _expected_rows() -> dict[str, int]:
    """Count the usage rows of each table straight from the example files."""
    usage = sum(len(bucket["results"]) for bucket in _buckets(EXAMPLES / "openai" / "usage_completions.json"))
    anthropic_usage = sum(
        len(bucket["results"]) for bucket in _buckets(EXAMPLES / "anthropic" / "usage_report_messages.json")
    )
    litellm = len((EXAMPLES / "litellm" / "spend_logs.csv").read_text().splitlines()) - 1
    reported = sum(len(bucket["results"]) for bucket in _buckets(EXAMPLES / "openai" / "costs.json"))
    reported += sum(len(bucket["results"]) for bucket in _buckets(EXAMPLES / "anthropic" / "cost_report.json"))
    gpu = sum(len((EXAMPLES / "gpu" / name).read_text().splitlines()) - 1 for name in GPU_LOGS)
    return {
        "llm_usage": usage + anthropic_usage + litellm,
        "reported_cost": reported,
        "cloud_cost": len((EXAMPLES / "focus" / "aws_focus_1.2.csv").read_bytes().splitlines()) - 1,
        "gpu_usage": gpu,
        "outcome": len((EXAMPLES / "outcomes.csv").read_text().splitlines()) - 1,
        "tool_usage": len((EXAMPLES / "tools.csv").read_text().splitlines()) - 1,
    }


@pytest.mark.slow
def test_examples_import_into_database(engine):
    mapping = load_mapping(EXAMPLES / "mapping.yml")
    pricer = load_pricer(None)
    for path in _example_files():
        summary = import_file(path, engine=engine, mapping=mapping, pricer=pricer)
        assert summary.rows_rejected == 0, path
        assert summary.warnings == [], path

    expected = _expected_rows()
    # 840 + 2250 + 3249 LLM rows; 1800 + 900 cost lines; 6912 GPU hours + 36 vector store days;
    # 2 hosts * 14 days * 144 readings a day = 4032 GPU samples.
    assert expected == {"llm_usage": 6339, "reported_cost": 2700, "cloud_cost": 6948, "gpu_usage": 4032,
                        "outcome": 900, "tool_usage": 270}
    with engine.connect() as connection:
        for table, rows in expected.items():
            assert connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == rows, table

    with Session(engine) as session:
        rows = spend_by(session, start=datetime(2026, 11, 1, tzinfo=UTC), end=cases.DEFAULT_END,
                        filters={"team": ["search"]})
        spent = sum((row.total for row in rows), Decimal(0))
        assert abs(spent / cases.BUDGET_AMOUNT_USD - Decimal("0.70")) < Decimal("0.015")

        # Only the planted cases fire: one finding per case, and per idle or serving H100 host
        # with an imported log (the others have no utilization to judge).
        settings = load_settings(rules_dir=ROOT / "rules", mapping_file=EXAMPLES / "mapping.yml",
                                 budgets_file=EXAMPLES / "budgets.yml", timezone="UTC")
        report = run_rules(session, settings=settings, clock=FixedClock(cases.DEFAULT_END), dry_run=True,
                           at=cases.DEFAULT_END)
        assert report.errors == []
        found = sorted(f"{draft.rule.id} {draft.scope_key}" for draft in report.drafts)
        assert found == sorted([
            "idle-rented-gpus host=h100-idle-01",
            "h100-where-a100-would-do host=h100-serve-01",
            "premium-model-overuse feature=ticket-classifier",
            "retry-spike feature=doc-extraction",
            "batchable-on-standard feature=nightly-enrichment",
            "priority-nobody-waits-for feature=report-digest",
            "unallocated-spend provider=openai",
            "cost-per-success-regression feature=code-review-bot",
            "spend-spike feature=semantic-search",
        ])

        statuses = check_budgets(session, load_budgets(EXAMPLES / "budgets.yml"), now=cases.DEFAULT_END,
                                 tz=ZoneInfo("UTC"))
    shares = {status.budget.name: (status.spent / status.budget.amount_usd,
                                   status.forecast / status.budget.amount_usd) for status in statuses}
    spent_share, forecast_share = shares.pop("search-monthly")
    assert abs(spent_share - Decimal("0.70")) < Decimal("0.015")
    assert abs(forecast_share - Decimal("1.15")) < Decimal("0.03")
    for name, (spent_share, forecast_share) in shares.items():
        assert spent_share < Decimal("0.5"), name
        assert forecast_share < Decimal("0.8"), name


@pytest.mark.slow
def test_examples_reconcile_within_noise(engine):
    """Each day's gap between reported and priced cost stays within the planted invoice noise."""
    mapping = load_mapping(EXAMPLES / "mapping.yml")
    pricer = load_pricer(None)
    for folder in ("openai", "anthropic"):
        for path in sorted((EXAMPLES / folder).iterdir()):
            import_file(path, engine=engine, mapping=mapping, pricer=pricer)
    with Session(engine) as session:
        rows = reconcile(session)

    assert len(rows) == 2 * cases.DEFAULT_DAYS
    assert {row.provider for row in rows} == {"openai", "anthropic"}
    assert [row for row in rows if row.unpriced_rows] == []
    # Each project's or workspace's reported cost is its list price times a factor within
    # REPORTED_COST_NOISE of 1, so a day's gap is at most that share of the day's priced cost.
    # Cost lines are rounded to 1e-7 USD, and a day has fewer than a thousand of them.
    noise = Decimal(str(cases.REPORTED_COST_NOISE))
    rounding = Decimal("0.0001")
    too_large = [
        f"{row.day} {row.provider}: gap {row.gap_usd:.4f} on {row.priced_usd:.4f} priced"
        for row in rows
        if abs(row.gap_usd) > noise * row.priced_usd + rounding
    ]
    assert too_large == []
