"""LLM traffic: tokens and requests, retry overhead and failure cost, service tier mix and
what batch or flex would have saved."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

import sqlalchemy as sa
from sqlmodel import Session

from bot.models import LlmUsage, UsageRollup
from bot.queries import rollups
from bot.queries.sources import Source, applies, check_names, filtered_select, sources
from bot.queries.spend import ZERO, check_period

_CENT = Decimal("0.01")
# Batch and flex are billed at 50% of the standard price (OpenAI and Anthropic batch APIs;
# OpenAI flex processing uses batch rates).
BATCH_DISCOUNT = Decimal("0.5")
# Priority costs 1.75x to 2.5x standard (OpenAI: GPT-4.1 1.75x, GPT-5.4 2x, GPT-5.5 2.5x).
# The lowest multiplier gives the smallest, safest saving estimate.
PRIORITY_MIN_MULTIPLIER = Decimal("1.75")


@dataclass
class TrafficRow:
    """Token and request counts of one group of LLM usage rows."""

    group: dict[str, str | None]
    requests: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    retries: int = 0
    failed_requests: int = 0
    cost: Decimal = ZERO
    unpriced_rows: int = 0


def _llm_source(dialect: str) -> Source:
    source = next(source for source in sources(dialect) if source.name == "llm_usage")
    # Tokens and requests count on every row except duplicates (Source.duplicate), and only
    # the cost column follows the reported-cost rule.
    return replace(source, where=None)


def traffic_by(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]] | None = None,
    group_by: Sequence[str] = (),
) -> list[TrafficRow]:
    """Return requests, tokens, retries and failed requests of LLM usage per group, most
    requests first. `cost` is the rows' own cost (priced or reported) before the
    reported-cost replacement that spend_by applies."""
    check_period(start, end)
    check_names(filters, group_by)
    dialect = session.get_bind().dialect.name
    source = _llm_source(dialect)
    if not applies(source, filters):
        return []

    counted = ("requests", "input_tokens", "cached_input_tokens", "output_tokens", "retries", "failed_requests")
    rollup_measures = [sa.func.sum(getattr(UsageRollup, name)).label(name) for name in counted]
    rollup_measures.append(sa.func.sum(UsageRollup.cost_usd).label("cost"))
    rollup_measures.append(sa.func.sum(UsageRollup.unpriced_rows).label("unpriced"))
    query = rollups.traffic_select(source, rollup_measures, start=start, end=end, filters=filters,
                                   group_by=group_by, session=session)
    if query is None:
        measures = [sa.func.sum(getattr(LlmUsage, name)).label(name) for name in counted]
        measures.append(sa.func.sum(LlmUsage.cost_usd).label("cost"))
        measures.append(sa.func.sum(sa.case((LlmUsage.cost_usd.is_(None), 1), else_=0)).label("unpriced"))
        query = filtered_select(source, measures, start=start, end=end, filters=filters, group_by=group_by,
                                hourly=False, dialect=dialect)

    result = []
    for row in session.execute(query):
        values = row._mapping
        result.append(TrafficRow(
            group={name: values[f"g{index}"] for index, name in enumerate(group_by)},
            requests=int(values["requests"] or 0),
            input_tokens=int(values["input_tokens"] or 0),
            cached_input_tokens=int(values["cached_input_tokens"] or 0),
            output_tokens=int(values["output_tokens"] or 0),
            retries=int(values["retries"] or 0),
            failed_requests=int(values["failed_requests"] or 0),
            cost=values["cost"] or ZERO,
            unpriced_rows=int(values["unpriced"] or 0),
        ))
    result.sort(key=lambda row: (-row.requests, str(row.group)))
    return result


def share(part: Decimal | int, whole: Decimal | int) -> Decimal:
    """Return part / whole, or 0 when whole is 0."""
    return Decimal(part) / Decimal(whole) if whole else ZERO


def retry_overhead(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]] | None = None,
    group_by: Sequence[str] = ("feature",),
) -> list[dict]:
    """Estimate the spend on retried and on failed requests per group.

    A retried or failed request is assumed to cost the group's average per request, so
    retry cost = cost x retries / requests (requests include the retries). Groups are
    also split by provider and model, whose prices differ, before the estimate is summed.
    """
    split = [*group_by, *[name for name in ("provider", "model") if name not in group_by]]
    totals: dict[tuple, dict] = {}
    for row in traffic_by(session, start=start, end=end, filters=filters, group_by=split):
        key = tuple(row.group[name] for name in group_by)
        entry = totals.setdefault(key, {"group": {name: row.group[name] for name in group_by}, "requests": 0,
                                        "retries": 0, "failed_requests": 0, "tokens": 0, "cost": ZERO,
                                        "retry_cost": ZERO, "failure_cost": ZERO})
        entry["requests"] += row.requests
        entry["retries"] += row.retries
        entry["failed_requests"] += row.failed_requests
        entry["tokens"] += row.input_tokens + row.output_tokens
        entry["cost"] += row.cost
        entry["retry_cost"] += (row.cost * share(row.retries, row.requests)).quantize(_CENT, ROUND_HALF_EVEN)
        entry["failure_cost"] += (row.cost * share(row.failed_requests, row.requests)).quantize(_CENT, ROUND_HALF_EVEN)
    result = list(totals.values())
    for entry in result:
        entry["retry_rate"] = share(entry["retries"], entry["requests"])
        entry["retry_share_of_cost"] = share(entry["retry_cost"], entry["cost"])
    result.sort(key=lambda entry: (-entry["retry_cost"], str(entry["group"])))
    return result


def tier_mix(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]] | None = None,
    non_interactive: Sequence[str] | None = None,
) -> dict:
    """Return LLM usage cost and requests per service tier and the estimated saving of moving
    eligible traffic to batch (or flex, billed at batch rates).

    The cost is each usage row's own priced or reported cost, because provider cost
    reports that replace priced usage in spend carry no tier. Unpriced rows add requests
    but no cost. Eligible is standard and priority traffic of the features in
    `non_interactive`; when that is None, every feature counts, which gives an upper
    bound. "eligible_features" lists the features of `non_interactive` that spent on standard
    or priority, so a GPU-only or batch-only feature is not named. Standard moves at 50% off. Priority is assumed to cost at least 1.75x standard,
    so moving it saves at least 1 - 0.5 / 1.75 (about 71%) of its cost.
    """
    rows = traffic_by(session, start=start, end=end, filters=filters, group_by=("service_tier", "feature"))
    tiers: dict[str, dict] = {}
    saving = ZERO
    eligible_spend = ZERO
    moved_features: set[str] = set()
    for row in rows:
        tier = row.group["service_tier"] or "unknown"
        entry = tiers.setdefault(tier, {"tier": tier, "cost": ZERO, "requests": 0, "unpriced_rows": 0})
        entry["cost"] += row.cost
        entry["requests"] += row.requests
        entry["unpriced_rows"] += row.unpriced_rows
        eligible = non_interactive is None or row.group["feature"] in non_interactive
        if not eligible:
            continue
        if tier in ("standard", "priority") and row.cost and row.group["feature"] is not None:
            moved_features.add(row.group["feature"])
        if tier == "standard":
            eligible_spend += row.cost
            saving += row.cost * BATCH_DISCOUNT
        elif tier == "priority":
            eligible_spend += row.cost
            saving += row.cost * (1 - BATCH_DISCOUNT / PRIORITY_MIN_MULTIPLIER)
    total = sum((entry["cost"] for entry in tiers.values()), ZERO)
    rows = sorted(tiers.values(), key=lambda entry: -entry["cost"])
    for entry in rows:
        entry["share"] = share(entry["cost"], total)
    return {
        "tiers": rows,
        "total": total,
        "eligible_spend": eligible_spend,
        "batch_saving": saving.quantize(_CENT, ROUND_HALF_EVEN),
        "eligible_features": None if non_interactive is None else sorted(moved_features),
    }
