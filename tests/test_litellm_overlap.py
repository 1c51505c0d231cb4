"""Calls the LiteLLM proxy makes with a provider key declared `via: litellm` count once.

The OpenAI usage export below covers two UTC days. On day A the LiteLLM logs contain the
proxied calls as well, so the provider's rows of the proxied key are left out. On day B the
logs have no OpenAI rows (a gap), so those rows count. Prices are genai-prices' bundled list
prices: gpt-4o-mini $0.15 input and $0.60 output per million tokens, web search $0.01 per call.
"""

from __future__ import annotations

import datetime as dt
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.ingest.loader import import_file
from bot.mapping import parse_mapping
from bot.pricing import Pricer
from bot.pricing.reports import reconcile
from bot.queries import rollups
from bot.queries.spend import spend_by
from bot.queries.usage import traffic_by
from bot.rules.metrics.sql import llm_counts, llm_usage_split

D = Decimal
DAY_A = datetime(2026, 11, 2, tzinfo=timezone.utc)
DAY_B = DAY_A + timedelta(days=1)
END = DAY_B + timedelta(days=1)

PROXIED = """\
api_keys:
  key_proxy: {team: platform, via: litellm}
  key_direct: {team: search}
"""
NOT_DECLARED = PROXIED.replace(", via: litellm", "")

ORDERS = {"provider-first": ("openai", "litellm"), "litellm-first": ("litellm", "openai")}


def _completions(key: str, input_tokens: int, output_tokens: int, requests: int) -> dict:
    return {"object": "organization.usage.completions.result", "api_key_id": key, "model": "gpt-4o-mini",
            "input_tokens": input_tokens, "input_cached_tokens": 0, "output_tokens": output_tokens,
            "num_model_requests": requests}


def _bucket(day: datetime, results: list[dict]) -> dict:
    start = int(day.timestamp())
    return {"object": "bucket", "start_time": start, "end_time": start + 86400, "results": results}


def _openai_usage(path: Path) -> Path:
    day_a = [
        _completions("key_proxy", 1_000_000, 100_000, 40),  # 0.15 + 0.06 = 0.21, also in the LiteLLM logs
        _completions("key_direct", 2_000_000, 200_000, 10),  # 0.30 + 0.12 = 0.42
        # 10 x 0.01 = 0.10, included in LiteLLM's spend of the proxied calls
        {"object": "organization.usage.web_searches.result", "api_key_id": "key_proxy", "model": "gpt-4o-mini",
         "num_requests": 10},
        # unpriced, and never part of LiteLLM's spend, so it always counts
        {"object": "organization.usage.code_interpreter_sessions.result", "api_key_id": "key_proxy", "num_sessions": 3},
    ]
    day_b = [
        _completions("key_proxy", 500_000, 50_000, 20),  # 0.075 + 0.03 = 0.105
        {"object": "organization.usage.web_searches.result", "api_key_id": "key_proxy", "model": "gpt-4o-mini",
         "num_requests": 5},  # 0.05
    ]
    page = {"object": "page", "data": [_bucket(DAY_A, day_a), _bucket(DAY_B, day_b)], "has_more": False}
    path.write_text(json.dumps(page))
    return path


def _spend_log(request_id: str, start: datetime, provider: str, model: str, spend: str, prompt: int,
               completion: int, retries: int = 0) -> dict:
    return {"request_id": request_id, "startTime": start.isoformat(), "custom_llm_provider": provider,
            "model": model, "spend": spend, "prompt_tokens": prompt, "completion_tokens": completion,
            "metadata": {"attempted_retries": retries}}


def _litellm_logs(path: Path, second_spend: str = "0.09") -> Path:
    rows = [
        _spend_log("req-1", DAY_A + timedelta(hours=9), "openai", "gpt-4o-mini", "0.13", 600_000, 60_000),
        _spend_log("req-2", DAY_A + timedelta(hours=15), "openai", "gpt-4o-mini", second_spend, 400_000, 40_000,
                   retries=1),
        # An Anthropic call on day B: it does not cover OpenAI's day B.
        _spend_log("req-3", DAY_B + timedelta(hours=10), "anthropic", "claude-sonnet-4-5", "0.05", 1_000, 100),
    ]
    path.write_text(json.dumps(rows))
    return path


def _import(engine, tmp_path: Path, order: tuple[str, str], mapping_text: str = PROXIED,
            second_spend: str = "0.09") -> None:
    mapping = parse_mapping(mapping_text)
    files = {"openai": _openai_usage(tmp_path / "usage.json"),
             "litellm": _litellm_logs(tmp_path / "spend_logs.json", second_spend)}
    for name in order:
        import_file(files[name], engine=engine, mapping=mapping, pricer=Pricer())


def _raw_and_rolled(session: Session, read):
    """Return `read(session)` from the raw tables and from the rollups, which must be current."""
    session.info[rollups.PINNED_KEY] = False
    try:
        raw = read(session)
    finally:
        session.info.pop(rollups.PINNED_KEY)
    assert rollups.usable(session, DAY_A, END)
    return raw, read(session)


@pytest.mark.parametrize("order", ORDERS.values(), ids=ORDERS.keys())
def test_proxied_calls_count_once(engine, tmp_path, order):
    _import(engine, tmp_path, order)
    with Session(engine) as session:
        raw, rolled = _raw_and_rolled(
            session, lambda s: spend_by(s, start=DAY_A, end=END, group_by=("day",), kinds=("llm", "tools")))
    assert rolled == raw
    day_a, day_b = raw
    # Day A: key_direct 0.42 + LiteLLM 0.13 + 0.09; key_proxy's 0.21 and its web search 0.10 are left out.
    assert day_a.group == {"day": "2026-11-02"}
    assert day_a.by_kind == {"llm": D("0.64"), "tools": D(0)}
    assert day_a.unpriced_rows == 1  # the code interpreter sessions
    # Day B, no LiteLLM OpenAI rows: key_proxy 0.105 and web search 0.05 count, plus LiteLLM's Anthropic 0.05.
    assert day_b.group == {"day": "2026-11-03"}
    assert day_b.by_kind == {"llm": D("0.155"), "tools": D("0.05")}
    assert day_a.total + day_b.total == D("0.845")


@pytest.mark.parametrize("order", ORDERS.values(), ids=ORDERS.keys())
def test_proxied_traffic_counts_once(engine, tmp_path, order):
    _import(engine, tmp_path, order)
    with Session(engine) as session:
        raw, rolled = _raw_and_rolled(
            session, lambda s: traffic_by(s, start=DAY_A, end=END, group_by=("provider",)))
        counts = llm_counts(session, start=DAY_A, end=END, group_by=("provider",))
        models = llm_usage_split(session, start=DAY_A, end=END, group_by=("provider",), column="model")
    assert rolled == raw
    openai, anthropic = raw
    assert openai.group == {"provider": "openai"}
    # Day A: key_direct 10 + two LiteLLM requests; day B: key_proxy 20.
    assert openai.requests == 32
    assert openai.input_tokens == 3_500_000  # 2,000,000 + 600,000 + 400,000 + 500,000
    assert openai.output_tokens == 350_000  # 200,000 + 60,000 + 40,000 + 50,000
    assert openai.retries == 1
    assert openai.cost == D("0.745")  # 0.42 + 0.13 + 0.09 + 0.105
    assert (anthropic.group, anthropic.requests, anthropic.input_tokens) == ({"provider": "anthropic"}, 1, 1_000)

    # The rules' metrics read the usage table directly and apply the same rule.
    assert counts[("openai",)] == {"requests": 32, "retries": 1, "failed": 0}
    assert models[("openai",)] == {"gpt-4o-mini": (D("0.745"), 32)}


def test_undeclared_key_counts_both(engine, tmp_path):
    # Without `via: litellm` costbot cannot tell the copies apart: both count, as before.
    _import(engine, tmp_path, ORDERS["provider-first"], NOT_DECLARED)
    with Session(engine) as session:
        rows = spend_by(session, start=DAY_A, end=END, kinds=("llm", "tools"))
        traffic = traffic_by(session, start=DAY_A, end=END, filters={"provider": ["openai"]})
    # 0.64 + 0.21 on day A and 0.105 on day B, plus Anthropic's 0.05; tools 0.10 + 0.05.
    assert rows[0].by_kind == {"llm": D("1.005"), "tools": D("0.15")}
    assert traffic[0].requests == 72  # 40 + 10 + 2 + 20


def test_mapping_edit_then_reimport(engine, tmp_path):
    # Declaring the key after the first import takes effect when the usage export is imported again.
    _import(engine, tmp_path, ORDERS["provider-first"], NOT_DECLARED)
    import_file(tmp_path / "usage.json", engine=engine, mapping=parse_mapping(PROXIED), pricer=Pricer())
    with Session(engine) as session:
        raw, rolled = _raw_and_rolled(session, lambda s: spend_by(s, start=DAY_A, end=END, kinds=("llm", "tools")))
    assert rolled == raw
    assert raw[0].by_kind == {"llm": D("0.795"), "tools": D("0.05")}  # 0.64 + 0.155; day B's web search


def test_rollups_equal_raw_by_team_and_tool(engine, tmp_path):
    _import(engine, tmp_path, ORDERS["litellm-first"])
    found = {}
    for group_by in (("team",), ("tool",), ("provider", "model")):
        with Session(engine) as session:
            raw, rolled = _raw_and_rolled(session, lambda s: spend_by(s, start=DAY_A, end=END, group_by=group_by))
        assert rolled == raw
        found[group_by] = raw
    teams = {row.group["team"]: row.total for row in found[("team",)]}
    # platform (key_proxy) keeps day B only: 0.105 + 0.05 web search; search (key_direct) 0.42;
    # the LiteLLM rows have no team: 0.13 + 0.09 + 0.05.
    assert teams == {"platform": D("0.155"), "search": D("0.42"), None: D("0.27")}
    tools = {row.group["tool"]: row.total for row in found[("tool",)]}
    assert tools == {None: D("0.795"), "web_search": D("0.05"), "code_interpreter": D(0)}


def test_reconcile_compares_provider_rows(engine, tmp_path):
    # LiteLLM had no price for req-2 and wrote spend 0, so costbot priced it:
    # 400,000 x 0.15 + 40,000 x 0.60 per million = 0.06 + 0.024 = 0.084.
    _import(engine, tmp_path, ORDERS["provider-first"], second_spend="0")
    costs = {"object": "page", "has_more": False, "data": [_bucket(DAY_A, [
        {"object": "organization.costs.result", "amount": {"value": "0.73", "currency": "usd"}, "line_item": None,
         "project_id": None}])]}
    (tmp_path / "costs.json").write_text(json.dumps(costs))
    import_file(tmp_path / "costs.json", engine=engine, pricer=Pricer())
    with Session(engine) as session:
        rows = reconcile(session, providers=["openai"])
    assert [(row.day, row.provider) for row in rows] == [(dt.date(2026, 11, 2), "openai"), (dt.date(2026, 11, 3), "openai")]
    day_a = rows[0]
    assert day_a.reported_usd == D("0.73")
    # The provider's own rows: 0.21 + 0.42 + web search 0.10 = 0.73. LiteLLM's priced 0.084
    # repeats key_proxy's calls and is left out.
    assert day_a.priced_usd == D("0.73")
    assert day_a.gap_usd == D(0)
    assert day_a.unpriced_rows == 1  # the code interpreter sessions


def test_cost_report_counts_proxied_calls_again(engine, tmp_path):
    # Known limit. The Costs API row has no API key, so `via` cannot mark it. Its 0.73 for day A
    # replaces the priced OpenAI usage of that day and bills key_proxy's calls (0.21 + web
    # search 0.10), which LiteLLM's spend of 0.13 + 0.09 repeats.
    _import(engine, tmp_path, ORDERS["provider-first"])
    costs = {"object": "page", "has_more": False, "data": [_bucket(DAY_A, [
        {"object": "organization.costs.result", "amount": {"value": "0.73", "currency": "usd"}, "line_item": None,
         "project_id": None}])]}  # fmt: skip
    (tmp_path / "costs.json").write_text(json.dumps(costs))
    import_file(tmp_path / "costs.json", engine=engine, pricer=Pricer())
    with Session(engine) as session:
        [day_a] = spend_by(session, start=DAY_A, end=DAY_B, group_by=("day",), kinds=("llm", "tools"))
    # 0.73 reported + 0.13 + 0.09 from LiteLLM = 0.95, where the calls alone cost 0.73.
    assert day_a.total == D("0.95")


def _anthropic_bucket(day: datetime, uncached: int, output: int, searches: int) -> dict:
    result = {"uncached_input_tokens": uncached, "output_tokens": output, "server_tool_use": {"web_search_requests": searches},
              "workspace_id": "wrkspc_proxy", "api_key_id": "apikey_any", "model": "claude-sonnet-4-5",
              "service_tier": "standard"}
    return {"starting_at": day.isoformat(), "ending_at": (day + timedelta(days=1)).isoformat(), "results": [result]}


def test_anthropic_workspace_via_litellm(engine, tmp_path):
    # The whole workspace is proxied; claude-sonnet-4-5 costs $3 input and $15 output per million tokens.
    report = {"data": [_anthropic_bucket(DAY_A, 100_000, 10_000, 4),  # 0.30 + 0.15 = 0.45; 4 x 0.01 = 0.04
                       _anthropic_bucket(DAY_B, 50_000, 4_000, 2)],  # 0.15 + 0.06 = 0.21; 2 x 0.01 = 0.02
              "has_more": False}
    (tmp_path / "anthropic.json").write_text(json.dumps(report))
    logs = [_spend_log("req-a", DAY_A + timedelta(hours=8), "anthropic", "claude-sonnet-4-5", "0.50", 100_000, 10_000)]
    (tmp_path / "logs.json").write_text(json.dumps(logs))
    mapping = parse_mapping("projects:\n  wrkspc_proxy: {team: platform, via: litellm}\n")
    for name in ("logs.json", "anthropic.json"):
        import_file(tmp_path / name, engine=engine, mapping=mapping, pricer=Pricer())

    with Session(engine) as session:
        raw, rolled = _raw_and_rolled(
            session, lambda s: spend_by(s, start=DAY_A, end=END, group_by=("day",), kinds=("llm", "tools")))
        traffic = traffic_by(session, start=DAY_A, end=END)
    assert rolled == raw
    day_a, day_b = raw
    assert day_a.by_kind == {"llm": D("0.50"), "tools": D(0)}  # LiteLLM's 0.50; the report's 0.45 and 0.04 are left out
    assert day_b.by_kind == {"llm": D("0.21"), "tools": D("0.02")}  # no LiteLLM rows on day B
    assert traffic[0].input_tokens == 150_000  # LiteLLM's 100,000 on day A + the report's 50,000 on day B
    assert traffic[0].requests == 1  # the usage report has no request count
