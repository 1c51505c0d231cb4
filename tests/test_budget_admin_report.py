"""Admin edits of the budgets file from Slack, the budgets overview and `costbot budgets` commands."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.budgets.admin import parse_assignments, remove_budget, update_budget
from bot.budgets.config import BudgetFileError, load_budgets
from bot.budgets.report import budgets_message
from bot.clock import FixedClock
from bot.models import LlmUsage
from bot.settings import load_settings

UTC = timezone.utc
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "budgets.yml"


@pytest.fixture
def settings(tmp_path):
    path = tmp_path / "budgets.yml"
    path.write_text(EXAMPLE.read_text())
    return load_settings(budgets_file=path, timezone="UTC")


def test_parse_assignments():
    assert parse_assignments('amount_usd=15000 "thresholds=[50, 90]"') == {"amount_usd": "15000", "thresholds": "[50, 90]"}
    with pytest.raises(ValueError, match=r"'amount' is not key=value; for example amount_usd=15000"):
        parse_assignments("amount")
    with pytest.raises(ValueError, match=r"unknown budget key 'budget'; use scope, period"):
        parse_assignments("budget=5")


def test_admin_updates_and_adds_budget(settings):
    changed = update_budget(settings, name="search-monthly", fields={"amount_usd": "15000", "thresholds": "[50, 90]"},
                            user_id="U0ADMIN01", is_admin=True)
    added = update_budget(settings, name="data-weekly",
                          fields=parse_assignments('period=weekly amount_usd=250.50 owner=U0DATA001 "scope={team: [data]}"'),
                          user_id="U0ADMIN01", is_admin=True)

    assert changed == "<@U0ADMIN01> updated budget search-monthly: amount_usd=15000, thresholds=[50, 90]."
    assert added.startswith("<@U0ADMIN01> added budget data-weekly: period=weekly")
    budgets = load_budgets(settings.budgets_file)
    assert budgets.get("search-monthly").amount_usd == Decimal("15000")
    assert budgets.get("search-monthly").thresholds == (50, 90)
    assert budgets.get("data-weekly").amount_usd == Decimal("250.50")
    assert budgets.get("data-weekly").scope == {"team": ("data",)}


def test_invalid_edit_leaves_file_unchanged(settings):
    before = settings.budgets_file.read_text()

    with pytest.raises(BudgetFileError) as caught:
        update_budget(settings, name="search-monthly", fields={"thresholds": "[80, 50]"}, user_id="U0ADMIN01", is_admin=True)

    assert caught.value.errors == [
        f"edit rejected, {settings.budgets_file} unchanged: budget search-monthly: thresholds out of order: "
        "50 follows 80; list them strictly ascending"
    ]
    assert settings.budgets_file.read_text() == before


def test_non_admin_cannot_edit(settings):
    with pytest.raises(PermissionError, match=r"only admins can change budgets; <@U0SEARCH1> is not an admin"):
        update_budget(settings, name="search-monthly", fields={"amount_usd": "1"}, user_id="U0SEARCH1", is_admin=False)
    with pytest.raises(PermissionError, match="only admins can remove budgets"):
        remove_budget(settings, name="search-monthly", user_id="U0SEARCH1", is_admin=False)


def test_admin_removes_budget(settings):
    text = remove_budget(settings, name="gpu-quarterly", user_id="U0ADMIN01", is_admin=True)

    assert text == "<@U0ADMIN01> removed budget gpu-quarterly."
    assert load_budgets(settings.budgets_file).get("gpu-quarterly") is None
    with pytest.raises(LookupError, match="budget 'gpu-quarterly' is not in"):
        remove_budget(settings, name="gpu-quarterly", user_id="U0ADMIN01", is_admin=True)


def test_budgets_message_lists_user_budgets_first(session, settings):
    session.add(LlmUsage(source="test", natural_key="k1", start_time=datetime(2026, 11, 2, tzinfo=UTC), bucket_seconds=3600,
                         provider="openai", model="gpt-5", team="search", feature="semantic-search",
                         cost_usd=Decimal("6000"), cost_origin="reported"))
    session.commit()
    clock = FixedClock(datetime(2026, 11, 16, tzinfo=UTC))

    text, blocks = budgets_message(session, settings=settings, clock=clock, user_id="U0MLPLAT1")

    lines = text.splitlines()
    assert lines[0].startswith("*gpu-quarterly* (team ml-platform, quarterly): $0.00 of $110,400.00 (0%)")
    assert lines[0].endswith(" · yours")
    # 6000 of 12000 is 50%; nothing in the last 7 days, so the forecast stays at 50%.
    assert lines[1] == ("*search-monthly* (team search, monthly): $6,000.00 of $12,000.00 (50%), forecast 50%, "
                        "resets 2026-12-01")
    assert blocks[0]["text"]["text"] == "Budgets (4)"
    assert len(blocks) == 5


def test_budgets_message_invalid_file(session, tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("budgets:\n  - name: x\n")
    settings = load_settings(budgets_file=path)

    text, _ = budgets_message(session, settings=settings, clock=FixedClock(datetime(2026, 11, 16, tzinfo=UTC)))

    assert text.startswith(f"The budgets file is invalid, so no budgets are in force:\n{path}:2: budget x: missing required key 'period'")


def test_cli_check_dry_run_and_list(engine, session, tmp_path, monkeypatch, db_url):
    from bot import settings as settings_module
    from bot.cli import app

    path = tmp_path / "budgets.yml"
    path.write_text(EXAMPLE.read_text())
    session.add(LlmUsage(source="test", natural_key="k1", start_time=datetime(2026, 11, 2, tzinfo=UTC), bucket_seconds=3600,
                         provider="openai", model="gpt-5", team="search", feature="semantic-search",
                         cost_usd=Decimal("10000"), cost_origin="reported"))
    session.commit()
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("COSTBOT_BUDGETS_FILE", str(path))
    monkeypatch.setenv("COSTBOT_TIMEZONE", "UTC")
    settings_module.get_settings.cache_clear()
    try:
        runner = CliRunner()
        dry = runner.invoke(app, ["budgets", "check", "--dry-run", "--at", "2026-11-03T00:00Z"])
        runner.invoke(app, ["budgets", "check", "--at", "2026-11-03T00:00Z"])
        listed = runner.invoke(app, ["budgets", "list", "--at", "2026-11-03T00:00Z"])
        naive = runner.invoke(app, ["budgets", "check", "--at", "2026-11-03T00:00"])
    finally:
        settings_module.get_settings.cache_clear()

    assert dry.exit_code == 0, dry.output
    # 10000 of 12000 = 83%: one alert naming 80%, covering 50%; the forecast adds 10000/7 a day for 28 days.
    assert dry.stdout.splitlines()[0] == (
        "search-monthly: actual 80% would send to U0SEARCH1, C0SEARCHCOST — spent $10,000.00 (83%), "
        "forecast $50,000.00 (417%), resets 2026-12-01"
    )
    assert dry.stdout.splitlines()[1] == "  covers actual 50%, forecast 100%"
    assert listed.exit_code == 0
    assert "search-monthly (team search, monthly, owner U0SEARCH1): $10,000.00 of $12,000.00 (83%)" in listed.stdout
    assert ("drivers: feature semantic-search $10,000.00; alerts this period: actual 50% (in the 80% alert), "
            "actual 80%, forecast 100% (in the 80% alert)") in listed.stdout
    assert naive.exit_code == 2
    # The same usage error as every other command's --at.
    assert naive.stderr.endswith(
        "Error: Invalid value for --at: '2026-11-03T00:00' has no time zone; add Z or an offset such as +01:00\n"
    )


def test_cli_check_counts_alerts_already_sent(engine, session, tmp_path, monkeypatch, db_url):
    import re

    from bot import settings as settings_module
    from bot.cli import app

    path = tmp_path / "budgets.yml"
    path.write_text(EXAMPLE.read_text())
    session.add(LlmUsage(source="test", natural_key="k1", start_time=datetime(2026, 11, 2, tzinfo=UTC), bucket_seconds=3600,
                         provider="openai", model="gpt-5", team="search", feature="semantic-search",
                         cost_usd=Decimal("10000"), cost_origin="reported"))
    session.commit()
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("COSTBOT_BUDGETS_FILE", str(path))
    monkeypatch.setenv("COSTBOT_TIMEZONE", "UTC")
    settings_module.get_settings.cache_clear()
    try:
        runner = CliRunner()
        first = runner.invoke(app, ["budgets", "check", "--at", "2026-11-03T00:00Z"])
        again = runner.invoke(app, ["budgets", "check", "--dry-run", "--at", "2026-11-03T00:00Z"])
        now = runner.invoke(app, ["budgets", "check", "--dry-run"])
    finally:
        settings_module.get_settings.cache_clear()

    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    # The 80% alert covers 50% and the forecast's 100%, so it is one alert, sent once.
    assert again.stdout == "4 budgets checked at 2026-11-03T00:00:00+00:00; no new alerts due (1 already sent this period)\n"
    assert now.exit_code == 0, now.output
    assert re.match(r"4 budgets checked at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00; ", now.stdout), now.stdout


def test_cli_check_hints_where_usage_ends(engine, session, tmp_path, monkeypatch, db_url):
    from bot import settings as settings_module
    from bot.cli import app

    path = tmp_path / "budgets.yml"
    path.write_text(EXAMPLE.read_text())
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("COSTBOT_BUDGETS_FILE", str(path))
    monkeypatch.setenv("COSTBOT_TIMEZONE", "UTC")
    settings_module.get_settings.cache_clear()
    try:
        runner = CliRunner()
        nothing_stored = runner.invoke(app, ["budgets", "check", "--dry-run", "--at", "2027-01-05T00:00Z"])
        session.add(LlmUsage(source="test", natural_key="k1", start_time=datetime(2026, 11, 2, tzinfo=UTC),
                             bucket_seconds=3600, provider="openai", model="gpt-5", team="search",
                             cost_usd=Decimal("10"), cost_origin="reported"))
        session.commit()
        all_empty = runner.invoke(app, ["budgets", "check", "--dry-run", "--at", "2027-01-05T00:00Z"])
        some_empty = runner.invoke(app, ["budgets", "check", "--dry-run", "--at", "2026-12-02T00:00Z"])
    finally:
        settings_module.get_settings.cache_clear()

    # An empty database gets no hint: there is no stored usage to point at.
    assert nothing_stored.exit_code == 0, nothing_stored.output
    assert nothing_stored.stdout == "4 budgets checked at 2027-01-05T00:00:00+00:00; no new alerts due\n"
    # The only row is the hourly bucket of Nov 2 00:00, so the stored usage ends Nov 2 01:00.
    # On Jan 5, 2027 the month (Jan), the week (from Mon Jan 4) and the quarter (Q1 2027) are all empty.
    assert all_empty.exit_code == 0, all_empty.output
    assert all_empty.stdout == (
        "4 budgets checked at 2027-01-05T00:00:00+00:00; no new alerts due\n"
        "No usage is stored for this period. The latest stored usage ends 2026-11-02 01:00.\n"
        "To check as of another moment, add --at TIME, such as --at 2026-11-02T01:00Z.\n"
    )
    # On Dec 2 the quarter (Oct to Dec) contains the Nov 2 row, so the hint names the other three budgets.
    assert some_empty.exit_code == 0, some_empty.output
    assert some_empty.stdout == (
        "4 budgets checked at 2026-12-02T00:00:00+00:00; no new alerts due\n"
        "search-monthly, support-classifier-weekly, all-ai-spend: No usage is stored for this period. "
        "The latest stored usage ends 2026-11-02 01:00.\n"
        "To check as of another moment, add --at TIME, such as --at 2026-11-02T01:00Z.\n"
    )
