"""Reported vs priced cost per provider and day, and the list of unpriced models."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session
from typer.testing import CliRunner

from bot.ingest.loader import import_file
from bot.pricing import Pricer
from bot.pricing.reports import missing_prices, reconcile, unpriced_tool_rows

SAMPLES = Path(__file__).resolve().parent / "fixtures" / "formats"


def _usage_page(path: Path, model: str, input_tokens: int, output_tokens: int) -> Path:
    result = {
        "object": "organization.usage.completions.result", "input_tokens": input_tokens, "input_cached_tokens": 0,
        "output_tokens": output_tokens, "num_model_requests": 4, "model": model, "project_id": None,
    }  # fmt: skip
    page = {"object": "page", "data": [{"object": "bucket", "start_time": 1730419200, "end_time": 1730505600,
                                        "results": [result]}]}  # fmt: skip
    path.write_text(json.dumps(page))
    return path


def _load(engine, tmp_path):
    pricer = Pricer()
    for name in ("openai/costs.example.json", "openai/usage_completions.example.json",
                 "anthropic/usage_report_messages.docs_example.json", "anthropic/cost_report.docs_example.json"):
        import_file(SAMPLES / name, engine=engine, pricer=pricer)
    # The sample is not grouped and this page is grouped by model, so costbot would take them for
    # one usage exported twice. "add" declares them different usage.
    import_file(_usage_page(tmp_path / "mini.json", "gpt-4o-mini", 100_000, 50_000), engine=engine, pricer=pricer,
                overlap="add")


def test_reconcile_per_provider_and_day(engine, tmp_path):
    _load(engine, tmp_path)
    with Session(engine) as session:
        rows = reconcile(session)
    assert [(row.day, row.provider) for row in rows] == [(dt.date(2024, 11, 1), "openai"), (dt.date(2025, 8, 1), "anthropic")]
    openai, anthropic = rows

    assert openai.reported_usd == Decimal("0.06")  # the Costs API sample
    # gpt-4o-mini: 100,000 * $0.15 + 50,000 * $0.60 per million = 0.015 + 0.03 = 0.045
    assert openai.priced_usd == Decimal("0.045")
    assert openai.gap_usd == Decimal("0.015")
    assert openai.gap_pct == Decimal(25)  # 0.015 / 0.06
    assert openai.unpriced_rows == 1  # the sample completions row has no model

    assert anthropic.reported_usd == Decimal("1.2378912")  # "123.78912" cents
    # tokens 0.019935 (see the Anthropic importer test) + 10 web searches * $0.01 = 0.119935
    assert anthropic.priced_usd == Decimal("0.119935")
    assert anthropic.gap_usd == Decimal("1.1179562")
    assert anthropic.unpriced_rows == 0

    with Session(engine) as session:
        assert reconcile(session, start=dt.date(2025, 1, 1), providers=["anthropic"]) == [anthropic]
        assert reconcile(session, end=dt.date(2024, 11, 1)) == []


def test_missing_prices_lists_models(engine, tmp_path):
    _load(engine, tmp_path)
    import_file(_usage_page(tmp_path / "private.json", "acme-private-7b", 7_000, 300), engine=engine, pricer=Pricer(),
                overlap="add")  # other usage than the sample's, as in _load
    with Session(engine) as session:
        missing = missing_prices(session)
        tools = unpriced_tool_rows(session)
    assert [(item.provider, item.model, item.rows, item.input_tokens, item.output_tokens) for item in missing] == [
        ("openai", "acme-private-7b", 1, 7_000, 300),  # 7,300 tokens: listed first
        ("openai", None, 1, 1_000, 500),  # the sample completions row, grouped by nothing
    ]
    assert missing[0].requests == 4
    assert tools == 0


def test_cli_tables(engine, db_url, tmp_path, monkeypatch):
    from bot import settings
    from bot.cli import app

    _load(engine, tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    settings.get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["reconcile", "--provider", "openai"])
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert lines[0].split() == ["day", "provider", "reported", "USD", "priced", "USD", "gap", "USD", "gap", "%",
                                    "unpriced", "rows"]
        assert lines[1].split() == ["2024-11-01", "openai", "0.0600", "0.0450", "0.0150", "25.0", "1"]
        assert len(lines) == 2

        result = CliRunner().invoke(app, ["prices", "missing"])
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines()[1].split() == ["openai", "(no", "model", "in", "export)", "1", "5", "1000", "500"]

        result = CliRunner().invoke(app, ["reconcile", "--start", "1/11/24"])
        assert result.exit_code == 2
        assert "'1/11/24' is not a date; use YYYY-MM-DD" in result.output
    finally:
        settings.get_settings.cache_clear()


def test_cli_rejects_end_before_start(tmp_path, monkeypatch):
    from bot import settings
    from bot.cli import app

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'r.db'}")
    settings.get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["reconcile", "--start", "2026-11-20", "--end", "2026-11-18"])
    finally:
        settings.get_settings.cache_clear()
    assert result.exit_code == 2
    assert "2026-11-18 is not after --start 2026-11-20" in " ".join(result.output.split())


def test_cli_rounds_small_gaps_to_zero():
    from bot.cli.ingest import _percent, _usd

    # A reconcile row of the demo: reported 465.0144, priced 465.1506, so the gap is -0.1362
    # and -0.1362 / 465.0144 = -0.0293%, printed as 0.0 rather than -0.0.
    assert _percent(Decimal("-0.1362") / Decimal("465.0144") * 100) == "0.0"
    assert _percent(Decimal("-0.06")) == "-0.1"
    assert _percent(Decimal("0.04")) == "0.0"
    assert _usd(Decimal("-0.00004")) == "0.0000"
    assert _usd(Decimal("-0.1362")) == "-0.1362"
    assert _usd(Decimal("-1234.5")) == "-1,234.5000"
