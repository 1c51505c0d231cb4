"""The `costbot rules` commands as an admin runs them."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.models import GpuUsage
from bot.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
END = datetime(2026, 11, 20, tzinfo=timezone.utc)


@pytest.fixture
def rules_dir(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", folder)
    monkeypatch.setenv("COSTBOT_RULES_DIR", str(folder))
    monkeypatch.setenv("COSTBOT_MAPPING_FILE", str(tmp_path / "mapping.yml"))
    monkeypatch.setenv("COSTBOT_BUDGETS_FILE", str(tmp_path / "budgets.yml"))
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def invoke(*args: str):
    return CliRunner().invoke(app, ["rules", *args])


def test_validate_ok(rules_dir: Path):
    result = invoke("validate")
    assert result.exit_code == 0
    assert result.stdout == "ok: 9 rules in 4 files\n"


def test_validate_typo_exits_1(rules_dir: Path):
    path = rules_dir / "gpus.yml"
    path.write_text(path.read_text().replace("utilization_pct: {lt: 30}", "utilisation_pct: {lt: 30}"))
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{path}:11: rule idle-rented-gpus: metric gpu_utilization has no field 'utilisation_pct'")
    assert lines[1] == "1 error"


def test_fixtures_pass_and_fail(rules_dir: Path):
    result = invoke("test")
    assert result.exit_code == 0
    assert result.stdout == "11 passed, 0 failed\n"
    fixture = rules_dir / "tests" / "builtin.yml"
    fixture.write_text(fixture.read_text().replace("{spend_usd: 150, premium_share: 0.9", "{spend_usd: 1500, premium_share: 0.9"))
    result = invoke("test")
    assert result.exit_code == 1
    assert "premium shift below the minimum spend stays quiet: rule premium-model-overuse expected to quiet but it fired" in result.stderr


def test_docs_check(rules_dir: Path):
    result = invoke("docs", "--check")
    assert result.exit_code == 0
    assert result.stdout.endswith("rules.md is current\n")


def test_run_explain_backtest(rules_dir: Path, db_url: str, session, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    for hour in range(10 * 24):
        session.add(GpuUsage(source="test", natural_key=f"h{hour}", sampled_at=END - timedelta(hours=hour + 1),
                             interval_seconds=3600, host="h100-idle-01", gpu_model="H100", utilization_pct=10.0,
                             memory_used_mib=1024, memory_total_mib=81920, hourly_rate_usd=Decimal("6.88")))
    session.commit()

    result = invoke("run", "--dry-run", "--at", "2026-11-20T00:00Z")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("idle-rented-gpus host=h100-idle-01: h100-idle-01 (1 x H100) averaged 10%")
    assert result.stdout.splitlines()[-1] == "rules at 2026-11-20T00:00:00+00:00: 1 match, would post 1"

    result = invoke("explain", "idle-rented-gpus", "--at", "2026-11-20T00:00Z")
    assert result.exit_code == 0, result.stderr
    assert "fires when: utilization_pct < 30 and spend >= $200" in result.stdout
    assert "  MATCH host=h100-idle-01: cost_usd=$1,155.84, utilization_pct=10" in result.stdout
    assert "1 scope at 2026-11-20T00:00:00+00:00, 1 match:\n" in result.stdout

    # The samples start on 2026-11-10, so the window before 2026-11-01 has no scope.
    result = invoke("explain", "idle-rented-gpus", "--at", "2026-11-01T00:00Z")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "0 scopes at 2026-11-01T00:00:00+00:00, 0 matches"

    # Samples start on 2026-11-10, so on 2026-11-12 the window contains 48 h x $6.88 = $330 (over $200).
    # The 7-day cooldown keeps the next days quiet until 2026-11-19.
    result = invoke("backtest", "--from", "2026-11-12", "--to", "2026-11-20")
    assert result.exit_code == 0, result.stderr
    days = [line.split()[0] for line in result.stdout.splitlines()[:-1]]
    assert days == ["2026-11-12", "2026-11-19"]
    assert result.stdout.splitlines()[-1] == "2 findings would have been posted from 2026-11-12 to 2026-11-20"

    result = invoke("explain", "no-such-rule")
    assert result.exit_code == 2
    assert "unknown rule 'no-such-rule'" in result.stderr

    result = invoke("explain", "idle-rented-gpu")
    assert result.exit_code == 2
    assert "unknown rule 'idle-rented-gpu'; did you mean 'idle-rented-gpus'?" in result.stderr


def test_run_rejects_naive_time(rules_dir: Path):
    result = invoke("run", "--dry-run", "--at", "2026-11-20T00:00")
    assert result.exit_code == 2
    # Typer's error box wraps the message at 80 columns, so compare it with the box lines joined.
    message = " ".join(result.stderr.replace("│", " ").split())
    assert "'2026-11-20T00:00' has no time zone; add Z or an offset such as +01:00" in message


def test_schema_lists_metrics(rules_dir: Path):
    import json

    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$defs"]["rule"]["properties"]["metric"]["enum"] == [
        "cost_per_success", "gpu_utilization", "model_mix", "retry_rate", "review_share",
        "spend_change", "tier_mix", "unallocated_share",
    ]


def test_list_prints_each_rule(rules_dir: Path):
    path = rules_dir / "tiers.yml"
    path.write_text(path.read_text().replace(
        "  - id: priority-nobody-waits-for\n", "  - id: priority-nobody-waits-for\n    enabled: false\n"
    ))
    result = invoke("list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "metric", "severity", "window", "description"]
    assert len(lines) == 10
    idle = next(line for line in lines if line.startswith("idle-rented-gpus "))
    assert idle.split(None, 4) == ["idle-rented-gpus", "gpu_utilization", "warning", "7d", "Rented GPUs that mostly sit idle"]
    priority = next(line for line in lines if line.startswith("priority-nobody-waits-for "))
    assert priority.endswith("Priority tier on work no user waits for (disabled)")


def test_list_json(rules_dir: Path):
    import json

    result = invoke("list", "--json")
    assert result.exit_code == 0
    rules = json.loads(result.stdout)
    assert len(rules) == 9
    assert rules[0] == {
        "id": "idle-rented-gpus",
        "metric": "gpu_utilization",
        "severity": "warning",
        "window_days": 7,
        "description": "Rented GPUs that mostly sit idle",
        "enabled": True,
        "file": str(rules_dir / "gpus.yml"),
        "line": 3,
    }
