"""The budgets file: every mistake reported as FILE:LINE: budget NAME: …, and the last good set kept."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.budgets.config import BudgetFileError, BudgetRegistry, load_budgets, parse_budgets
from bot.cli import app

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "budgets.yml"

VALID = """\
budgets:
  - name: search-monthly
    scope: {team: [search]}
    period: monthly
    amount_usd: "12000"
    thresholds: [50, 80, 100]
    forecast_alerts: true
    owner: U0SEARCH1
    channel: C0SEARCHCOST
    kinds: [llm, tools, gpu, review]
  - name: everything
    period: quarterly
    amount_usd: 250000.50
    owner: U0FINOPS1
"""


def _errors(text: str) -> list[str]:
    with pytest.raises(BudgetFileError) as caught:
        parse_budgets(text, Path("budgets.yml"))
    return caught.value.errors


def test_valid_file_parsed():
    budgets = parse_budgets(VALID, Path("budgets.yml"))

    first, second = budgets.budgets
    assert first.name == "search-monthly"
    assert first.scope == {"team": ("search",)}
    assert first.amount_usd == Decimal("12000")
    assert first.thresholds == (50, 80, 100)
    assert first.kinds == ("llm", "tools", "gpu", "review")
    assert first.channel == "C0SEARCHCOST"
    assert first.line == 2
    assert second.scope == {}
    assert second.amount_usd == Decimal("250000.50")
    assert second.thresholds == (50, 80, 100)
    assert second.forecast_alerts is True
    assert second.kinds == ("llm", "tools", "gpu", "review", "other")


def test_example_file_valid():
    budgets = load_budgets(EXAMPLE)

    assert [budget.name for budget in budgets.budgets] == [
        "search-monthly", "support-classifier-weekly", "gpu-quarterly", "all-ai-spend",
    ]


def test_every_mistake_reported_with_line():
    text = """\
budgets:
  - name: search-monthly
    scope: {team: [search], colour: [red]}
    period: montly
    amount_usd: "-5"
    thresholds: [80, 50]
    owner: U0SEARCH1
    budget_owner: U0SEARCH1
  - name: weekly
    period: weekly
    amount_usd: "100"
    owner: someone
    kinds: [llm, coffee]
"""
    assert _errors(text) == [
        "budgets.yml:8: budget search-monthly: unknown key 'budget_owner'; known keys are name, scope, period, "
        "amount_usd, thresholds, forecast_alerts, owner, channel, kinds",
        "budgets.yml:4: budget search-monthly: bad period 'montly'; use one of daily, weekly, monthly, quarterly",
        "budgets.yml:5: budget search-monthly: negative amount_usd -5; an amount must be greater than 0",
        "budgets.yml:3: budget search-monthly: unknown dimension 'colour' in scope; use team, feature, tenant, "
        "user, project, environment",
        "budgets.yml:6: budget search-monthly: thresholds out of order: 50 follows 80; list them strictly ascending",
        "budgets.yml:12: budget weekly: owner 'someone' is not a Slack user id; use an id such as U0SEARCH1",
        "budgets.yml:13: budget weekly: unknown cost kind 'coffee'; use llm, tools, gpu, review, other",
    ]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("amount_usd: \"0\"", "budgets.yml:4: budget b: amount_usd is 0; an amount must be greater than 0"),
        ("amount_usd: lots", "budgets.yml:4: budget b: amount_usd 'lots' is not a number; write a decimal such as \"12000\""),
        ("amount_usd: \"10\"\n    thresholds: [50, 50]", "budgets.yml:5: budget b: thresholds out of order: 50 follows 50; list them strictly ascending"),
        ("amount_usd: \"10\"\n    thresholds: [50.5]", "budgets.yml:5: budget b: threshold '50.5' is not a whole percentage; use integers such as 80"),
        ("amount_usd: \"10\"\n    thresholds: [0, 80]", "budgets.yml:5: budget b: threshold 0 is out of range; use a percentage from 1 to 1000"),
        ("amount_usd: \"10\"\n    forecast_alerts: maybe", "budgets.yml:5: budget b: forecast_alerts must be true or false, not 'maybe'"),
        ("amount_usd: \"10\"\n    channel: general", "budgets.yml:5: budget b: channel 'general' is not a Slack channel; use an id such as C0SEARCHCOST or #name"),
        ("amount_usd: \"10\"\n    scope: {team: []}", "budgets.yml:5: budget b: scope team needs at least one non-empty value"),
    ],
)
def test_single_mistake_message(entry, expected):
    text = f"budgets:\n  - name: b\n    period: daily\n    {entry}\n    owner: U0OWNER01\n"

    assert _errors(text) == [expected]


def test_missing_keys_and_duplicates():
    text = """\
budgets:
  - name: a
    period: daily
    amount_usd: "1"
    owner: U0OWNER01
  - name: a
    period: daily
    amount_usd: "2"
    owner: U0OWNER01
  - scope: {}
"""
    assert _errors(text) == [
        "budgets.yml:6: budget a: duplicate name, first used on line 2; give each budget its own name",
        "budgets.yml:10: budget #3: missing required key 'name'",
        "budgets.yml:10: budget #3: missing required key 'period'",
        "budgets.yml:10: budget #3: missing required key 'amount_usd'",
        "budgets.yml:10: budget #3: missing required key 'owner'",
    ]


def test_invalid_yaml_and_top_level():
    (syntax,) = _errors("budgets:\n  - name: [unclosed\n")
    # libyaml and the pure-Python parser word the problem differently.
    assert syntax.startswith("budgets.yml:3: invalid YAML: ")
    assert "expected ',' or ']'" in syntax
    assert _errors("budget:\n  - name: a\n") == [
        "budgets.yml:1: unknown top-level key 'budget'; the only key is 'budgets'"
    ]
    assert _errors("") == ["budgets.yml:1: the file is empty; it needs a top-level 'budgets:' list"]


def test_registry_keeps_last_good_set(tmp_path, caplog):
    path = tmp_path / "budgets.yml"
    path.write_text(VALID)
    registry = BudgetRegistry(path)
    assert [budget.name for budget in registry.budgets().budgets] == ["search-monthly", "everything"]

    path.write_text(VALID.replace("period: quarterly", "period: yearly"))
    with caplog.at_level(logging.ERROR, logger="bot.budgets.config"):
        kept = registry.budgets()
        registry.budgets()  # unchanged bad file: logged once

    assert [budget.name for budget in kept.budgets] == ["search-monthly", "everything"]
    assert registry.last_error is not None
    assert registry.last_error.errors == [
        f"{path}:12: budget everything: bad period 'yearly'; use one of daily, weekly, monthly, quarterly"
    ]
    assert len([record for record in caplog.records if "budgets file rejected" in record.message]) == 1

    path.write_text(VALID.replace('amount_usd: "12000"', 'amount_usd: "15000"'))
    reloaded = registry.budgets()
    assert reloaded.get("search-monthly").amount_usd == Decimal("15000")
    assert registry.last_error is None


def test_registry_without_good_set_raises(tmp_path):
    path = tmp_path / "budgets.yml"
    path.write_text("budgets:\n  - name: a\n")
    registry = BudgetRegistry(path)

    with pytest.raises(BudgetFileError) as caught:
        registry.budgets()
    assert caught.value.errors[0] == f"{path}:2: budget a: missing required key 'period'"


def test_cli_validate_reports_errors(tmp_path):
    path = tmp_path / "budgets.yml"
    path.write_text("budgets:\n  - name: a\n    period: hourly\n    amount_usd: \"5\"\n    owner: U0OWNER01\n")
    runner = CliRunner()

    bad = runner.invoke(app, ["budgets", "validate", str(path)])
    good = runner.invoke(app, ["budgets", "validate", str(EXAMPLE)])

    assert bad.exit_code == 1
    assert bad.stderr == (
        "costbot: 1 error in the budgets file:\n"
        f"{path}:3: budget a: bad period 'hourly'; use one of daily, weekly, monthly, quarterly\n"
    )
    assert good.exit_code == 0
    assert good.stdout == f"{EXAMPLE}: 4 budgets, valid\n"


def test_registry_missing_file_means_no_budgets(tmp_path) -> None:
    registry = BudgetRegistry(tmp_path / "budgets.yml")
    budgets = registry.budgets()
    assert len(budgets.budgets) == 0
    assert registry.last_error is None


def test_registry_keeps_last_good_when_file_removed(tmp_path) -> None:
    path = tmp_path / "budgets.yml"
    path.write_text("budgets:\n  - name: all-monthly\n    period: monthly\n    amount_usd: '100'\n    owner: U0OWNER01\n")
    registry = BudgetRegistry(path)
    assert [budget.name for budget in registry.budgets().budgets] == ["all-monthly"]
    path.unlink()
    assert [budget.name for budget in registry.budgets().budgets] == ["all-monthly"]
    assert "budgets file not found; the last good budgets stay in force" in str(registry.last_error)


def test_duplicate_name_reported_with_other_mistakes():
    # The second "a" also has a bad amount: both mistakes come in one run.
    text = """\
budgets:
  - name: a
    period: daily
    amount_usd: "1"
    owner: U0OWNER01
  - name: a
    period: daily
    amount_usd: "-2"
    owner: U0OWNER01
"""
    errors = _errors(text)
    assert errors[0] == "budgets.yml:6: budget a: duplicate name, first used on line 2; give each budget its own name"
    assert len(errors) == 2
    assert errors[1] == "budgets.yml:8: budget a: negative amount_usd -2; an amount must be greater than 0"
