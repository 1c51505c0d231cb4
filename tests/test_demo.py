"""`costbot demo` on the bundled examples: the planted cases come out with their numbers, twice safely."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.demo import cases

TABLES = ("llm_usage", "reported_cost", "tool_usage", "gpu_usage", "outcome", "cloud_cost", "outbox", "finding", "budget_alert")


def _run_demo(workdir: Path) -> str:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("COSTBOT_", "SLACK_"))}
    env["DATABASE_URL"] = f"sqlite:///{workdir / 'demo.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"], cwd=workdir, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def _row_counts(workdir: Path) -> dict[str, int]:
    with sqlite3.connect(workdir / "demo.db") as connection:
        return {table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in TABLES}


@pytest.fixture(scope="module")
def demo_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo")


@pytest.fixture(scope="module")
def demo_runs(demo_workdir: Path) -> tuple[str, dict[str, int], str, dict[str, int]]:
    workdir = demo_workdir
    first = _run_demo(workdir)
    first_counts = _row_counts(workdir)
    second = _run_demo(workdir)
    return first, first_counts, second, _row_counts(workdir)


def test_demo_posts_budget_forecast_alert(demo_runs) -> None:
    output = demo_runs[0]
    # Planted: 70% spent and a 115% forecast on a $12,000 budget; the examples give 71% and 116%.
    assert "--- message to U0SEARCH1 ---" in output
    assert f"== Budget {cases.BUDGET_NAME}: 50% crossed, forecast past 100% ==" in output
    assert "*Spent* $8,462.56 of $12,000.00 | *Share used* 71% | *Forecast at reset* $13,944.36 (116%)" in output
    # The one alert goes to the owner and to the budget's channel.
    assert "4 budgets checked, 1 new alert queued as 2 messages: 1 owner DM, 1 channel post\n" in output


def test_demo_names_every_planted_case(demo_runs) -> None:
    output = demo_runs[0]
    expected = [
        # idle rented H100s: planted at 10% utilization, the four hosts come out at 8-11%
        "h100-idle-01 (1 x H100) averaged 9% utilization over 7 days",
        "h100-idle-03 (1 x H100) averaged 8% utilization over 7 days",
        # H100 where an A100 would do: planted at 42% and under 40 GiB of memory
        "h100-serve-01 ran 1 x H100 at 42% utilization with at most 32 GiB memory used",
        # premium overuse: planted at 78% of ticket-classifier's spend, 94% success before
        f"{cases.PREMIUM_FEATURE} spent $754 on premium models in 30 days, 78% of its spend",
        "its success rate on the cheaper lane before was 94%",
        # cost per success regression: planted +40%, the examples give $0.83 -> $1.17 (1.42x)
        f"{cases.REGRESSION_FEATURE} switched from gpt-5-mini to gpt-5-nano; cost per success went from $0.83 to $1.17",
        # retry spike: planted 3% -> 25%, the examples give 24%
        f"{cases.RETRY_FEATURE} retried 24% of its 309 requests in the last 7 days, against 3%",
        # spend spike: planted 2.5x
        f"{cases.SPIKE_FEATURE} spent $132 a day over the last 7 days, 2.5x its 28-day baseline",
        f"{cases.BATCHABLE_FEATURE} is not interactive, yet 100% of its $709 in 7 days ran on the standard tier",
        f"{cases.PRIORITY_FEATURE} is not interactive but paid $141 for the priority tier in 7 days",
    ]
    missing = [text for text in expected if text not in output]
    assert missing == []


def test_demo_posts_unallocated_spend_to_channel(demo_runs) -> None:
    output = demo_runs[0]
    # Planted: proj_unmapped carries 12% of OpenAI spend and is in no mapping entry.
    assert "--- message to #ai-costs ---" in output
    assert f"12% of openai spend in 30 days ($1,378) has no team or feature. Add {cases.UNMAPPED_PROJECT} to the mapping file" in output


def test_demo_links_guidance_pages(demo_runs) -> None:
    output = demo_runs[0]
    assert "https://aipromptgear.com/models-and-apis/model-routing/" in output
    assert "https://aipromptgear.com/models-and-apis/a100-vs-h100-economics-for-inference-products/" in output
    assert "https://aipromptgear.com/models-and-apis/llm-cost-allocation-showback-and-budget-ownership-for-ai-products/" in output


def test_demo_answers_sample_questions(demo_runs) -> None:
    output = demo_runs[0]
    assert output.count("\n> ") == 5
    assert "Everyone spent $29,792.32 last week." in output
    assert "h100-idle-04   H100      168.0         7.6%  $1,155.84  $1,068.02" in output


def test_demo_second_run_doubles_nothing(demo_runs) -> None:
    _, first_counts, second_output, second_counts = demo_runs
    assert second_counts == first_counts
    assert first_counts["budget_alert"] >= 1
    assert "nothing new to post" in second_output
    assert "4 budgets checked, 0 new alerts queued (1 already sent this period)\n" in second_output
    assert "imported 0, duplicate 840, rejected 0" in second_output


def test_demo_tenants_in_tokens_not_spend(demo_runs, demo_workdir) -> None:
    # As docs/questions.md states for the demo data, the OpenAI Costs API replaces the spend of the
    # tenants' API keys, so spend per tenant is all (unallocated), but tokens per tenant name them.
    env = {name: value for name, value in os.environ.items() if not name.startswith(("COSTBOT_", "SLACK_"))}
    env["DATABASE_URL"] = f"sqlite:///{demo_workdir / 'demo.db'}"

    def ask(question: str) -> str:
        result = subprocess.run([sys.executable, "-m", "bot", "ask", "--at", "2026-11-19T12:00Z", question],
                                cwd=demo_workdir, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    spend = ask("spend per tenant last week").splitlines()
    assert spend[0] == "Everyone spent $29,792.32 last week."
    table = spend[spend.index("-" * len(spend[2])) + 1:spend.index("", 3)]
    assert [line.split()[0] for line in table] == ["(unallocated)"]
    assert table[0].endswith("$29,792.32")

    tokens = ask("tokens per tenant last week")
    for tenant in ("acme", "globex", "initech"):
        assert f"\n{tenant} " in tokens


def test_demo_hides_database_password(monkeypatch, tmp_path) -> None:
    from sqlmodel import create_engine
    from typer.testing import CliRunner

    import bot.cli.demo
    from bot.cli import app
    from bot.settings import get_settings

    # Every step is replaced, so nothing connects to the PostgreSQL URL and only the printed lines count.
    for step in ("_import_examples", "_check_budgets", "_run_rules", "_deliver", "_answer_samples"):
        monkeypatch.setattr(bot.cli.demo, step, lambda *args: None)
    monkeypatch.setattr(bot.cli.demo.db, "upgrade", lambda url: None)
    monkeypatch.setattr(bot.cli.demo.db, "get_engine", lambda url: create_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    monkeypatch.setenv("DATABASE_URL", "postgresql://costbot:secret-pw@127.0.0.1:5432/costbot_demo")
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["demo"])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    assert "secret-pw" not in result.output
    assert "== Migrating postgresql://costbot:***@127.0.0.1:5432/costbot_demo" in result.output
    assert result.output.rstrip().endswith("database: postgresql://costbot:***@127.0.0.1:5432/costbot_demo")


def test_demo_with_tokens_starts_socket_mode(monkeypatch, tmp_path) -> None:
    from typer.testing import CliRunner

    import bot.cli.serve
    from bot.cli import app
    from bot.settings import get_settings

    started = []
    monkeypatch.setattr(bot.cli.serve, "run_socket_mode", lambda settings: started.append(settings))
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-test-token")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["demo"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert len(started) == 1
    assert started[0].slack_app_token.get_secret_value() == "xapp-test-token"
    assert not (tmp_path / "unused.db").exists()
