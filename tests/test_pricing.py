"""Offline prices: tiers, tiered long-context rates, local overrides and their errors."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from bot.pricing import Pricer, TokenUsage, load_pricer
from bot.pricing.overrides import OverridesError, load_overrides
from bot.pricing.tiers import DEFAULT_PRIORITY_MULTIPLIER, tier_multiplier

NOV_1 = dt.date(2026, 11, 1)
# 1,000,000 input tokens of which 400,000 cached, 200,000 output tokens, in 10 requests.
USAGE = TokenUsage(input_tokens=1_000_000, cached_input_tokens=400_000, output_tokens=200_000, requests=10)


@pytest.mark.parametrize(
    ("model", "tier", "expected"),
    [
        ("gpt-4.1", "standard", Decimal(1)),
        ("gpt-4.1", "batch", Decimal("0.5")),
        ("gpt-4.1", "flex", Decimal("0.5")),
        ("gpt-4.1-mini", "priority", Decimal("1.75")),
        ("gpt-4.1-nano", "priority", Decimal(2)),
        ("gpt-5.4", "priority", Decimal(2)),
        ("gpt-5-mini", "priority", Decimal("1.8")),
        ("gpt-5-mini-2025-08-07", "priority", Decimal("1.8")),
        ("gpt-5.5-2026-04-23", "priority", Decimal("2.5")),
        ("openai/gpt-5.5", "priority", Decimal("2.5")),
        ("gemini-2.5-pro", "priority", Decimal("1.8")),
        ("claude-sonnet-4-5", "priority", DEFAULT_PRIORITY_MULTIPLIER),
    ],
)
def test_tier_multiplier(model, tier, expected):
    assert tier_multiplier(model, tier) == expected


def test_tiered_rate_follows_tokens_per_request():
    pricer = Pricer()
    # gpt-5.4: $2.50 input, $0.25 cached, $15 output per million up to 272,000 input tokens per request.
    # 10 requests average 100,000 input tokens: 600,000 * 2.5 + 400,000 * 0.25 + 200,000 * 15
    # = 1.5 + 0.1 + 3.0 = 4.6
    assert pricer.price_tokens("openai", "gpt-5.4", "standard", NOV_1, USAGE) == Decimal("4.6")
    # One request of 1,000,000 input tokens is above 272,000: $5, $0.50 and $22.50 apply.
    # 600,000 * 5 + 400,000 * 0.5 + 200,000 * 22.5 = 3.0 + 0.2 + 4.5 = 7.7
    single = TokenUsage(input_tokens=1_000_000, cached_input_tokens=400_000, output_tokens=200_000, requests=1)
    assert pricer.price_tokens("openai", "gpt-5.4", "standard", NOV_1, single) == Decimal("7.7")


def test_unknown_model_is_unpriced():
    pricer = Pricer()
    assert pricer.price_tokens("openai", "acme-private-7b", "standard", NOV_1, USAGE) is None
    assert pricer.price_tokens("openai", None, "standard", NOV_1, USAGE) is None
    values = {"provider": "openai", "model": "acme-private-7b", "start_time": dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc),
              "input_tokens": 10, "output_tokens": 5}
    pricer.price_row(values)
    assert (values["cost_usd"], values["cost_origin"]) == (None, "unpriced")


def test_prices_never_touch_network(monkeypatch):
    import genai_prices
    from genai_prices import data_snapshot

    def fail_on_network(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", fail_on_network)
    monkeypatch.setattr(socket, "create_connection", fail_on_network)
    monkeypatch.setattr(socket, "getaddrinfo", fail_on_network)
    # Even a snapshot installed by genai-prices' own updater must not change costbot's prices.
    monkeypatch.setattr(data_snapshot, "_custom_snapshot", data_snapshot.DataSnapshot(providers=[], from_auto_update=True))
    threads_before = {thread.name for thread in threading.enumerate()}

    # gpt-4o-mini: 600,000 * 0.15 + 400,000 * 0.075 + 200,000 * 0.60 = 0.09 + 0.03 + 0.12 = 0.24
    assert Pricer().price_tokens("openai", "gpt-4o-mini-2024-07-18", "standard", NOV_1, USAGE) == Decimal("0.24")
    with pytest.raises(LookupError):
        genai_prices.calc_price(genai_prices.Usage(input_tokens=1), "gpt-4o-mini", provider_id="openai")
    assert {thread.name for thread in threading.enumerate()} == threads_before


OVERRIDES = """\
prices:
  - model: gpt-4o-mini
    provider: openai
    effective_from: 2026-11-01
    effective_until: 2026-12-01
    input_mtok: "1"
    output_mtok: "2"
  - model: Acme-Private-7B
    input_mtok: "0.5"
    cached_input_mtok: "0.1"
    output_mtok: "1.5"
    priority_multiplier: "3"
"""


def test_overrides_apply_by_date(tmp_path):
    path = tmp_path / "prices.yml"
    path.write_text(OVERRIDES)
    pricer = load_pricer(path)
    # Inside the override's dates, gpt-4o-mini costs $1 / $2 with cached input at the input price:
    # 1,000,000 * 1 + 200,000 * 2 = 1.0 + 0.4 = 1.4
    assert pricer.price_tokens("openai", "gpt-4o-mini", "standard", NOV_1, USAGE) == Decimal("1.4")
    # The day after effective_until falls back to genai-prices: 0.24 as in the network test.
    assert pricer.price_tokens("openai", "gpt-4o-mini", "standard", dt.date(2026, 12, 1), USAGE) == Decimal("0.24")
    # Model ids match case-insensitively; 600,000 * 0.5 + 400,000 * 0.1 + 200,000 * 1.5 = 0.3 + 0.04 + 0.3
    assert pricer.price_tokens("litellm", "acme-private-7b", "standard", NOV_1, USAGE) == Decimal("0.64")
    # The override's own priority multiplier: 0.64 * 3
    assert pricer.price_tokens("litellm", "acme-private-7b", "priority", NOV_1, USAGE) == Decimal("1.92")


CACHE_OVERRIDE = """
prices:
  - model: acme-tuned
    input_mtok: "0.30"
    cached_input_mtok: "0.15"
    cache_write_mtok: "0.375"
    cache_write_1h_mtok: "0.60"
    output_mtok: "1.20"
    priority_multiplier: "2"
"""


def test_rows_sharing_a_price_each_get_their_cost(tmp_path):
    path = tmp_path / "prices.yml"
    path.write_text(CACHE_OVERRIDE)
    pricer = load_pricer(path)
    start = dt.datetime(2026, 11, 1, 9, tzinfo=dt.timezone.utc)

    def cost(tier: str, write_1h: int = 0, **tokens: int) -> Decimal | None:
        values = {"provider": "anthropic", "model": "acme-tuned", "service_tier": tier, "start_time": start, **tokens}
        pricer.price_row(values, cache_write_1h_tokens=write_1h)
        return values["cost_usd"]

    big = {"input_tokens": 1_000_000, "cached_input_tokens": 400_000, "cache_write_tokens": 100_000,
           "output_tokens": 200_000, "requests": 10}
    # Uncached 1,000,000 - 400,000 - 100,000 = 500,000 * 0.30 = 0.15; cached 400,000 * 0.15 = 0.06;
    # 5-minute writes 60,000 * 0.375 = 0.0225; 1-hour writes 40,000 * 0.60 = 0.024;
    # output 200,000 * 1.20 = 0.24. Total 0.4965.
    assert cost("standard", 40_000, **big) == Decimal("0.4965")
    # The same model, tier and day with other tokens: 2,000 * 0.30 + 1,000 * 1.20 = 0.0006 + 0.0012
    assert cost("standard", input_tokens=2_000, output_tokens=1_000, requests=1) == Decimal("0.0018")
    # The override's priority multiplier: 0.4965 * 2; batch rates: 0.4965 * 0.5
    assert cost("priority", 40_000, **big) == Decimal("0.993")
    assert cost("batch", 40_000, **big) == Decimal("0.24825")
    # Asked again after other rows, the first row's cost is unchanged.
    assert cost("standard", 40_000, **big) == Decimal("0.4965")


def test_missing_overrides_file_is_empty(tmp_path):
    assert load_overrides(tmp_path / "absent.yml") == []
    assert load_overrides(None) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("prices:\n  - model: m\n    input_mtok: abc\n    output_mtok: '1'\n",
         "3: input_mtok: 'abc': not a number; write a decimal such as \"0.15\" (USD per million tokens)"),
        ("prices:\n  - model: m\n    input_mtok: '-1'\n    output_mtok: '1'\n", "3: input_mtok: '-1': must be a number >= 0"),
        ("prices:\n  - model: m\n    input_mtok: '1'\n", "2: output_mtok: '-': missing; every entry needs model, input_mtok and output_mtok"),
        ("prices:\n  - model: m\n    input_mtok: '1'\n    output_mtok: '1'\n    outptu_mtok: '1'\n",
         "5: outptu_mtok: '-': unknown key; use one of cache_write_1h_mtok, cache_write_mtok, cached_input_mtok, "
         "effective_from, effective_until, input_mtok, model, output_mtok, priority_multiplier, provider"),
        ("prices:\n  - model: m\n    input_mtok: '1'\n    output_mtok: '1'\n    effective_from: 1/11/26\n",
         "5: effective_from: '1/11/26': not a date; write YYYY-MM-DD"),
        ("prices:\n  - {model: m, input_mtok: '1', output_mtok: '1', effective_from: 2026-01-01}\n"
         "  - {model: m, input_mtok: '2', output_mtok: '2', effective_from: 2026-06-01}\n",
         "3: model: 'm': its dates overlap the entry on line 2; give each period of a model its own dates"),
        ("models:\n  - model: m\n", "1: models: '-': unknown top-level key; the file holds only `prices:`"),
        ("prices: [\n", "2: yaml: -: invalid YAML (expected the node content, but found '<stream end>')"),
    ],
)
def test_overrides_errors_name_line(tmp_path, text, expected):
    path = tmp_path / "prices.yml"
    path.write_text(text)
    with pytest.raises(OverridesError) as caught:
        load_overrides(path)
    assert str(caught.value) == f"{path}:{expected}"


def test_example_overrides_file_loads():
    path = Path(__file__).resolve().parents[1] / "examples" / "prices.yml"
    overrides = load_overrides(path)
    assert [override.model for override in overrides] == [
        "ft:gpt-4o-mini-2024-07-18:acme:triage:9xk2",
        "claude-sonnet-4-5",
        "acme-private-7b",
    ]
    # claude-sonnet-4-5 inside its quarter: 600,000 * 2.70 + 400,000 * 0.27 + 200,000 * 13.50
    # = 1.62 + 0.108 + 2.7 = 4.428
    assert Pricer(overrides).price_tokens("anthropic", "claude-sonnet-4-5", "standard", NOV_1, USAGE) == Decimal("4.428")
