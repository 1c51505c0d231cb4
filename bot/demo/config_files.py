"""The mapping file and the budgets file that go with the demo exports."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from bot.demo import cases
from bot.demo.catalog import (
    ALL_FEATURES,
    EXTRACTION,
    GPU_FEATURE_DESCRIPTIONS,
    GPU_SUB_ACCOUNT,
    HOSTS,
    TEAM_CHANNELS,
    TEAM_OWNERS,
    VECTOR_SUB_ACCOUNT,
)
from bot.demo.ledger import Ledger
from bot.demo.workload import Workload


def _flow(values: dict[str, object]) -> str:
    """Return `values` as a YAML flow mapping; money and text with spaces or colons are quoted."""
    parts = []
    for key, value in values.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif value is None:
            text = "null"
        elif isinstance(value, Decimal) or any(char in str(value) for char in " :"):
            text = json.dumps(str(value))
        else:
            text = str(value)
        parts.append(f"{key}: {text}")
    return "{" + ", ".join(parts) + "}"


def mapping_text() -> str:
    """Return the mapping YAML: every demo id except the unmapped OpenAI project and its key."""
    lines = [
        "# Maps the ids in the example exports to team, feature (workflow), tenant and owner.",
        f"# {cases.UNMAPPED_PROJECT} and its key {cases.UNMAPPED_API_KEY} are left out on purpose:",
        "# their spend shows up as unallocated.",
        "projects:  # OpenAI projects, Anthropic workspaces, FOCUS sub-accounts",
    ]
    for feature in ALL_FEATURES:
        if feature.provider in ("openai", "anthropic"):
            dims = {"team": feature.team, "feature": feature.name, "tenant": None, "environment": "prod"}
            lines.append(f"  {feature.source_id}: {_flow(dims)}")
    for account, _name, team in (GPU_SUB_ACCOUNT, VECTOR_SUB_ACCOUNT):
        lines.append(f'  "{account}": {_flow({"team": team, "environment": "prod"})}')
    lines.append("api_keys:  # OpenAI and Anthropic API key ids, LiteLLM hashed virtual keys")
    for feature in ALL_FEATURES:
        for key, _share, tenant in feature.keys:
            dims = {"team": feature.team, "feature": feature.name}
            if tenant:
                dims["tenant"] = tenant
            lines.append(f"  {key}: {_flow(dims)}")
    lines += [
        "  # Add via: litellm to a key or project that the LiteLLM proxy calls OpenAI or Anthropic with,",
        "  # so its calls count once (the demo's proxy uses a separate Anthropic organization):",
        "  # key_example_proxy: {team: data, via: litellm}",
    ]
    lines.append("teams:  # LiteLLM team_id")
    lines.append(f"  {EXTRACTION.source_id}: {_flow({'team': EXTRACTION.team})}")
    lines.append("hosts:  # GPU hosts: nvidia-smi file names and FOCUS ResourceName; clocks in UTC")
    for host in HOSTS:
        values = {"team": host.team, "feature": host.feature, "gpu_model": host.gpu_model,
                  "hourly_rate_usd": host.hourly_usd, "timezone": "UTC"}
        lines.append(f"  {host.name}: {_flow(values)}")
    lines += [
        "tag_keys:  # LiteLLM request tags (key:value) and FOCUS Tags",
        "  cost-center: team",
        "  app: feature",
        "features:",
    ]
    for feature in ALL_FEATURES:
        values = {"team": feature.team, "interactive": feature.interactive, "owner": TEAM_OWNERS[feature.team],
                  "description": feature.description}
        lines.append(f"  {feature.name}: {_flow(values)}")
    for feature, description in GPU_FEATURE_DESCRIPTIONS.items():
        team = next(host.team for host in HOSTS if host.feature == feature)
        values = {"team": team, "interactive": feature != "fine-tuning",
                  "owner": TEAM_OWNERS[team], "description": description}
        lines.append(f"  {feature}: {_flow(values)}")
    lines.append("owners:")
    lines.append("  team:")
    for team, user in TEAM_OWNERS.items():
        lines.append(f"    {team}: {user}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class BudgetSpec:
    """One budget of the demo file; `amount` None means sized from the data."""

    name: str
    period: str
    owner: str
    team: str | None = None
    feature: str | None = None
    kinds: tuple[str, ...] | None = None
    thresholds: tuple[int, ...] = (50, 80, 100)
    channel: str | None = None
    amount: Decimal | None = None


BUDGETS = (
    BudgetSpec(cases.BUDGET_NAME, "monthly", TEAM_OWNERS["search"], team="search",
               channel=TEAM_CHANNELS["search"], amount=cases.BUDGET_AMOUNT_USD),
    BudgetSpec("support-classifier-weekly", "weekly", TEAM_OWNERS["support"], feature="ticket-classifier",
               kinds=("llm", "tools", "review")),
    BudgetSpec("gpu-quarterly", "quarterly", TEAM_OWNERS["ml-platform"], team="ml-platform", kinds=("gpu",),
               thresholds=(80, 100, 120)),
    BudgetSpec("all-ai-spend", "monthly", "U0FINOPS1", thresholds=(80, 100)),
)


def period_bounds(period: str, now: date) -> tuple[date, date]:
    """Return the UTC days [first, reset) of the budget period holding `now`; weeks start on Monday."""
    if period == "weekly":
        first = now - timedelta(days=now.weekday())
        return first, first + timedelta(days=7)
    if period == "monthly":
        first = now.replace(day=1)
        return first, (first + timedelta(days=32)).replace(day=1)
    first = date(now.year, 3 * ((now.month - 1) // 3) + 1, 1)
    return first, (first + timedelta(days=92)).replace(day=1)


def forecast(ledger: Ledger, spec: BudgetSpec, now: date) -> tuple[Decimal, Decimal]:
    """Return (spend so far, forecast) of a budget at `now` (a UTC midnight, exclusive).

    The forecast adds the last 7 days' daily rate for each day left in the period.
    """
    first, reset = period_bounds(spec.period, now)
    filters = {"team": spec.team, "feature": spec.feature, "kinds": spec.kinds}
    spent = ledger.total(start=first, end=now, **filters)
    rate = ledger.total(start=now - timedelta(days=7), end=now, **filters) / 7
    return spent, spent + rate * (reset - now).days


def budget_amounts(workload: Workload, ledger: Ledger) -> dict[str, Decimal]:
    """Return each budget's amount: fixed for search-monthly, else the forecast / QUIET_BUDGET_FORECAST_SHARE."""
    amounts = {}
    for spec in BUDGETS:
        if spec.amount is not None:
            amounts[spec.name] = spec.amount
            continue
        _spent, expected = forecast(ledger, spec, workload.end.date())
        step = 10 if spec.period == "weekly" else 100
        share = Decimal(str(cases.QUIET_BUDGET_FORECAST_SHARE))
        amounts[spec.name] = (expected / share / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step
    return amounts


def budgets_text(workload: Workload, ledger: Ledger) -> str:
    """Return the budgets YAML."""
    amounts = budget_amounts(workload, ledger)
    lines = [
        "# Budgets checked by `costbot worker` (hourly by default) and `costbot budgets check`.",
        "# Amounts are USD; thresholds are percent of the amount, ascending. Periods start at local",
        "# midnight in COSTBOT_TIMEZONE; weeks start on Monday.",
        "# With the example data, search-monthly is on course to break this month. The others are",
        "# sized so that their forecast at the end of the data stays near 70% of the amount.",
        "budgets:",
    ]
    for spec in BUDGETS:
        lines.append(f"  - name: {spec.name}")
        if spec.team or spec.feature:
            dimension, value = ("team", spec.team) if spec.team else ("feature", spec.feature)
            lines.append(f"    scope: {{{dimension}: [{value}]}}")
        lines += [
            f"    period: {spec.period}",
            f'    amount_usd: "{amounts[spec.name]}"',
            f"    thresholds: [{', '.join(str(pct) for pct in spec.thresholds)}]",
            "    forecast_alerts: true",
            f"    owner: {spec.owner}",
        ]
        if spec.channel:
            lines.append(f"    channel: {spec.channel}")
        if spec.kinds:
            lines.append(f"    kinds: [{', '.join(spec.kinds)}]")
        lines.append("")
    return "\n".join(lines)


def write_config_files(workload: Workload, out_dir: Path, ledger: Ledger) -> list[Path]:
    """Write `mapping.yml` and `budgets.yml`."""
    mapping = out_dir / "mapping.yml"
    budgets = out_dir / "budgets.yml"
    mapping.write_text(mapping_text(), encoding="utf-8")
    budgets.write_text(budgets_text(workload, ledger), encoding="utf-8")
    return [mapping, budgets]
