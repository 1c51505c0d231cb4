"""LiteLLM spend logs, as CSV dumps and /spend/logs JSON."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.ingest.loader import import_file
from bot.mapping import load_mapping
from bot.models.usage import LlmUsage
from bot.pricing import Pricer

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CSV_LOGS = FIXTURES / "litellm_spend_logs.csv"
JSON_LOGS = FIXTURES / "litellm_spend_logs.json"

MAPPING = """\
teams:
  team-8f2a: {team: data, environment: staging}
api_keys:
  88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b: {team: platform}
tag_keys:
  cost-center: team
  app: feature
  env: environment
"""


@pytest.fixture
def mapping(tmp_path):
    path = tmp_path / "mapping.yml"
    path.write_text(MAPPING)
    return load_mapping(path)


def _rows(engine):
    with engine.connect() as connection:
        query = sa.select(LlmUsage.__table__).order_by(LlmUsage.__table__.c.natural_key)
        return {row["natural_key"].removeprefix("request|"): row for row in connection.execute(query).mappings()}


def test_csv_dump_totals_and_dimensions(engine, mapping):
    summary = import_file(CSV_LOGS, engine=engine, mapping=mapping, pricer=Pricer())
    assert summary.format == "litellm_csv"
    assert (summary.rows_read, summary.rows_imported, summary.rows_rejected) == (4, 4, 0)
    rows = _rows(engine)

    # spend: 0.000255 + 0.0031 + 0.0 + 0.000002 = 0.003357, read as Decimal from the text
    assert sum(row["cost_usd"] for row in rows.values()) == Decimal("0.003357")
    assert {row["cost_origin"] for row in rows.values()} == {"reported"}
    # prompt tokens: 900 + 2000 + 0 + 100 = 3000; completion tokens: 200 + 220 + 0 + 0 = 420
    assert sum(row["input_tokens"] for row in rows.values()) == 3000
    assert sum(row["output_tokens"] for row in rows.values()) == 420

    first = rows["chatcmpl-9f1c2d01"]
    assert first["start_time"] == datetime(2026, 11, 2, 9, 15, 1, 123000, tzinfo=timezone.utc)
    assert first["provider"] == "openai"
    assert first["total_latency_ms"] == 1333
    # Tags win over the team and API key mapping: cost-center:support -> team, env:prod -> environment,
    # requester_metadata app -> feature. user and end_user are the row's own values.
    assert first["team"] == "support"
    assert first["environment"] == "prod"
    assert first["feature"] == "ticket-classifier"
    assert first["user"] == "alice@example.com"
    assert first["tenant"] == "acme-corp"

    second = rows["chatcmpl-9f1c2d02"]
    assert second["provider"] == "anthropic"
    assert second["team"] is None  # team_id is the literal null, and the key is not mapped
    assert second["total_latency_ms"] == 4000  # endTime - startTime when request_duration_ms is empty

    failed = rows["chatcmpl-9f1c2d03"]
    assert failed["failed_requests"] == 1
    assert failed["cost_usd"] == Decimal(0)
    assert failed["team"] == "platform"  # the API key mapping wins over the team mapping
    assert failed["environment"] == "staging"  # from the team mapping

    embedding = rows["emb-7a6b5c04"]
    assert embedding["operation"] == "embeddings"
    assert embedding["feature"] == "semantic-search"


def test_json_logs_match_csv(engine, mapping):
    summary = import_file(JSON_LOGS, engine=engine, mapping=mapping)
    assert summary.format == "litellm_json"
    rows = _rows(engine)
    assert sum(row["cost_usd"] for row in rows.values()) == Decimal("0.003355")  # 0.000255 + 0.0031
    assert rows["chatcmpl-9f1c2d01"]["cached_input_tokens"] == 512  # from metadata.usage_object
    assert rows["chatcmpl-9f1c2d01"]["team"] == "support"
    # A naive startTime is UTC, as LiteLLM writes it.
    assert rows["chatcmpl-9f1c2d02"]["start_time"] == datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)

    again = import_file(CSV_LOGS, engine=engine, mapping=mapping)
    # The two requests in both files count once: 4 rows, 2 of them already stored.
    assert (again.rows_imported, again.rows_duplicate) == (2, 2)
    assert len(_rows(engine)) == 4


def test_zero_spend_is_priced_or_unpriced(engine, tmp_path):
    header = CSV_LOGS.read_text().splitlines()[0]
    lines = [
        header,
        # gpt-4o-mini with spend 0.0 (LiteLLM had no price): 1000 * 0.15 + 100 * 0.60 per million = 0.00021
        "r-1,acompletion,k,0.0,1100,1000,100,2026-11-02 09:00:00,2026-11-02 09:00:01,,,gpt-4o-mini,,,openai,,,{},False,,[],,,,,,success",
        # a model missing from every price list stays unpriced, never $0
        "r-2,acompletion,k,0.0,60,50,10,2026-11-02 09:00:00,2026-11-02 09:00:01,,,acme-private-7b,,,,,,{},False,,[],,,,,,success",
        # a cache hit really cost nothing
        "r-3,acompletion,k,0.0,60,50,10,2026-11-02 09:00:00,2026-11-02 09:00:01,,,gpt-4o-mini,,,openai,,,{},True,,[],,,,,,success",
    ]
    path = tmp_path / "spend.csv"
    path.write_text("\n".join(lines) + "\n")
    import_file(path, engine=engine, pricer=Pricer())
    rows = _rows(engine)
    assert (rows["r-1"]["cost_usd"], rows["r-1"]["cost_origin"]) == (Decimal("0.00021"), "priced")
    assert (rows["r-2"]["cost_usd"], rows["r-2"]["cost_origin"]) == (None, "unpriced")
    assert (rows["r-3"]["cost_usd"], rows["r-3"]["cost_origin"]) == (Decimal(0), "reported")


def test_provider_prefix_dropped_from_model(engine, tmp_path):
    header = CSV_LOGS.read_text().splitlines()[0]
    lines = [
        header,
        # the row's own provider prefix goes, so the model matches OpenAI's own export
        "p-1,acompletion,k,0.01,110,100,10,2026-11-02 09:00:00,2026-11-02 09:00:01,,,openai/gpt-5-mini,,,openai,,,{},False,,[],,,,,,success",
        # without custom_llm_provider the prefix is the provider, so it goes as well
        "p-2,acompletion,k,0.02,110,100,10,2026-11-02 09:00:00,2026-11-02 09:00:01,,,anthropic/claude-haiku-4-5,,,,,,{},False,,[],,,,,,success",
        # a prefix that is not the row's provider is part of the name
        "p-3,acompletion,k,0.03,110,100,10,2026-11-02 09:00:00,2026-11-02 09:00:01,,,openai/gpt-4o,,,azure,,,{},False,,[],,,,,,success",
        # only the row's own prefix goes, so openrouter's name keeps the upstream provider
        "p-4,acompletion,k,0.04,110,100,10,2026-11-02 09:00:00,2026-11-02 09:00:01,,,openrouter/anthropic/claude-haiku-4-5,,,openrouter,,,{},False,,[],,,,,,success",
        # spend 0.0 is priced from the name without the prefix:
        # 1000 * 0.15 + 100 * 0.60 per million tokens = 0.00015 + 0.00006 = 0.00021
        "p-5,acompletion,k,0.0,1100,1000,100,2026-11-02 09:00:00,2026-11-02 09:00:01,,,OpenAI/gpt-4o-mini,,,openai,,,{},False,,[],,,,,,success",
    ]
    path = tmp_path / "spend.csv"
    path.write_text("\n".join(lines) + "\n")
    import_file(path, engine=engine, pricer=Pricer())
    rows = _rows(engine)
    assert (rows["p-1"]["provider"], rows["p-1"]["model"]) == ("openai", "gpt-5-mini")
    assert (rows["p-2"]["provider"], rows["p-2"]["model"]) == ("anthropic", "claude-haiku-4-5")
    assert (rows["p-3"]["provider"], rows["p-3"]["model"]) == ("azure", "openai/gpt-4o")
    assert (rows["p-4"]["provider"], rows["p-4"]["model"]) == ("openrouter", "anthropic/claude-haiku-4-5")
    assert (rows["p-5"]["model"], rows["p-5"]["cost_usd"], rows["p-5"]["cost_origin"]) == ("gpt-4o-mini", Decimal("0.00021"), "priced")
