"""Anthropic usage and cost reports: sample totals, cents, tiers and prices."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from bot.ingest.loader import import_file
from bot.models.usage import LlmUsage, ReportedCost, ToolUsage
from bot.pricing import Pricer

# The published sample exports, bundled under tests/fixtures/formats/ (sources in its README).
SAMPLES = Path(__file__).resolve().parent / "fixtures" / "formats" / "anthropic"
USAGE = SAMPLES / "usage_report_messages.docs_example.json"
COSTS = SAMPLES / "cost_report.docs_example.json"


def _rows(engine, model):
    with engine.connect() as connection:
        return connection.execute(sa.select(model.__table__)).mappings().all()


def test_usage_sample_totals_and_price(engine):
    summary = import_file(USAGE, engine=engine, pricer=Pricer())
    assert summary.format == "anthropic_usage"
    assert summary.rows_read == 1
    assert summary.rows_imported == 2  # the LLM row and its web search tool row

    [row] = _rows(engine, LlmUsage)
    # Total input = uncached 1500 + cache writes 5m 500 + 1h 1000 + cache reads 200 = 3200
    assert row["input_tokens"] == 3200
    assert row["cached_input_tokens"] == 200
    assert row["cache_write_tokens"] == 1500  # 500 (5 minutes) + 1000 (1 hour)
    assert row["output_tokens"] == 500
    assert row["model"] == "claude-sonnet-4-20250514"
    assert row["service_tier"] == "standard"
    assert row["project"] == "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"
    assert row["api_key_id"] == "apikey_01Rj2N8SVvo6BePZj99NhmiT"
    assert row["start_time"] == datetime(2025, 8, 1, tzinfo=timezone.utc)
    assert row["bucket_seconds"] == 86400
    # Claude Sonnet 4 per million tokens: input $3, 5m cache write $3.75, 1h cache write $6,
    # cache read $0.30, output $15:
    # 1500*3 + 500*3.75 + 1000*6 + 200*0.30 + 500*15 = 4500 + 1875 + 6000 + 60 + 7500 = 19935
    assert row["cost_usd"] == Decimal("0.019935")
    assert row["cost_origin"] == "priced"

    [tool] = _rows(engine, ToolUsage)
    assert tool["tool"] == "web_search"
    assert tool["calls"] == 10
    assert tool["cost_usd"] == Decimal("0.1")  # 10 searches at $10 per 1,000


def test_cost_sample_amount_is_cents(engine):
    summary = import_file(COSTS, engine=engine)
    assert summary.format == "anthropic_costs"
    [row] = _rows(engine, ReportedCost)
    assert row["amount_usd"] == Decimal("1.2378912")  # "123.78912" cents / 100
    assert row["line_item"] == "Claude Sonnet 4 Usage - Input Tokens"
    assert row["cost_type"] == "tokens"
    assert row["model"] == "claude-sonnet-4-20250514"
    assert row["project"] == "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"


def test_batch_tier_halves_price(engine, tmp_path):
    report = json.loads(USAGE.read_text())
    result = report["data"][0]["results"][0]
    result["service_tier"] = "batch"
    result["server_tool_use"] = None
    path = tmp_path / "usage.json"
    path.write_text(json.dumps(report))
    import_file(path, engine=engine, pricer=Pricer())
    [row] = _rows(engine, LlmUsage)
    assert row["service_tier"] == "batch"
    assert row["cost_usd"] == Decimal("0.0099675")  # 0.019935 * 0.5
    assert _rows(engine, ToolUsage) == []


def test_reimport_and_partial_bucket_count_once(engine, tmp_path):
    report = json.loads(USAGE.read_text())
    partial = json.loads(USAGE.read_text())
    partial["data"][0]["starting_at"] = "2025-08-01T15:00:00Z"  # a query that started mid-day
    partial["data"][0]["results"][0]["output_tokens"] = 100
    full_path = tmp_path / "full.json"
    partial_path = tmp_path / "partial.json"
    full_path.write_text(json.dumps(report))
    partial_path.write_text(json.dumps(partial))

    import_file(partial_path, engine=engine)
    import_file(full_path, engine=engine)
    import_file(partial_path, engine=engine)
    [row] = _rows(engine, LlmUsage)
    assert row["output_tokens"] == 500  # the full day's count, not 100 and not 600
