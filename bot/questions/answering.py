"""Run a parsed question's queries and turn the result into a presentation and plain data.

One function per intent. Each returns (presentation, result data, chart points or None).
Every answer states its period, filters, time zone and how fresh the data is.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from bot import messages
from bot.answers import Presentation
from bot.answers.format import count, escape, money, percent, signed_money
from bot.models import DIMENSIONS, CloudCost, GpuUsage
from bot.queries.gpu import gpu_utilization
from bot.queries.outcomes import cost_per_success
from bot.queries.sources import kind_has
from bot.queries.spend import TIME_GRAINS, ZERO, SpendRow, spend_by
from bot.queries.trends import change_between, largest_named_row, month_end_forecast, top_spenders
from bot.queries.usage import retry_overhead, tier_mix, traffic_by
from bot.questions.parser import Query

logger = logging.getLogger(__name__)

KIND_LABELS = {"llm": "LLM", "tools": "tools", "gpu": "GPU", "review": "review", "other": "other"}
DIMENSION_LABELS = {"service_tier": "tier", "gpu_model": "GPU model", "feature": "feature"}


def label(dimension: str) -> str:
    return DIMENSION_LABELS.get(dimension, dimension)


def scope_text(query: Query) -> str:
    """Return the filters as words ("team search, model gpt-5"), or "all spend".

    Values that only a did-you-mean's corrected question names are left out, because the
    answer computed nothing for them.
    """
    parts = []
    for name, values in query.filters.items():
        matched = [str(value) for value in values if value not in query.guessed_filters.get(name, [])]
        if matched:
            parts.append(f"{label(name)} {' or '.join(matched)}")
    if query.kinds:
        parts.append(" and ".join(KIND_LABELS[kind] for kind in query.kinds) + " spend only")
    return ", ".join(parts) or messages.NO_FILTERS


def headline_scope(query: Query) -> str:
    """Return the escaped subject of a headline: "Team search", or "Everyone" without filters."""
    if not query.filters:
        return "Everyone"
    text = escape(scope_text(query))
    # Upper-case only the first letter: str.capitalize() would lower-case "GPU model A100" or "AWS".
    return text[:1].upper() + text[1:] if not query.kinds else text


def not_applicable_name(dimension: str, kinds: Sequence[str]) -> str:
    """Name the spend of `kinds` that cannot have `dimension`: "no model: tools, GPU, review"."""
    return messages.NOT_APPLICABLE.format(dimension=label(dimension), kinds=", ".join(KIND_LABELS[k] for k in kinds))


def _spend_row_name(row: SpendRow) -> str:
    """Name a spend row's group: its values, "(unallocated)" or the kinds that lack a dimension."""
    spent = [kind for kind, amount in row.by_kind.items() if amount]
    names = []
    for dimension, value in row.group.items():
        if dimension in row.not_applicable:
            # A row with only unpriced usage has no amounts that show its kinds.
            kinds = [kind for kind in spent if not kind_has(kind, dimension)] or \
                [kind for kind in row.by_kind if not kind_has(kind, dimension)]
            names.append(not_applicable_name(dimension, kinds))
        else:
            names.append(messages.UNALLOCATED if value is None else str(value))
    return " / ".join(names)


def period_phrase(label: str) -> str:
    """Return a period label as it follows a verb: "last week", "in October 2026", "on 2026-11-12"."""
    if label.startswith(("last", "this", "since")) or label in ("today", "yesterday"):
        return label
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", label):
        return f"on {label}"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}", label):
        return f"from {label}"
    return f"in {label}"


def jsonable(value: Any) -> Any:
    """Convert Decimals, dates and dataclass-like rows into JSON-ready values (Decimals as strings)."""
    if isinstance(value, Decimal):
        # Exact, without the nano-dollar padding: 13.450000000 -> "13.45", 1.715 stays "1.715".
        text = format(value.normalize(), "f")
        whole, _, fraction = text.partition(".")
        return f"{whole}.{fraction.ljust(2, '0')}"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if hasattr(value, "__dataclass_fields__"):
        return {name: jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    return value


def _kinds(query: Query) -> tuple[str, ...]:
    from bot.queries.spend import COST_KINDS

    return tuple(query.kinds) or COST_KINDS


def _unpriced_line(rows: int) -> list[str]:
    if not rows:
        return []
    return [messages.UNPRICED_ROWS.format(count=count(rows))]


def _no_spend(query: Query, period_text: str) -> str:
    if not query.filters and not query.kinds:
        return messages.NO_SPEND_AT_ALL.format(period=period_text)
    return messages.NO_SPEND.format(scope=escape(scope_text(query)), period=period_text)


def answer_spend(session: Session, query: Query, *, tz, period_text: str):
    start, end = query.period.bounds(tz)
    kinds = _kinds(query)
    rows = spend_by(session, start=start, end=end, filters=query.filters, group_by=query.group_by, kinds=kinds, tz=tz,
                    split_not_applicable=True)
    total = sum((row.total for row in rows), ZERO)
    unpriced = sum(row.unpriced_rows for row in rows)
    headline = messages.SPEND_HEADLINE.format(scope=headline_scope(query), total=money(total), period=period_text)
    grain = next((name for name in query.group_by if name in TIME_GRAINS), None)
    table = None
    shown_kinds = [kind for kind in kinds if any(row.by_kind.get(kind) for row in rows)]
    if query.group_by and rows:
        header = [" / ".join(label(name) for name in query.group_by), *[KIND_LABELS[k] for k in shown_kinds], "total"]
        table = [header]
        for row in rows:
            name = _spend_row_name(row)
            # A group with only unpriced rows has no amount to show, and $0.00 would read as free.
            total_cell = messages.UNPRICED_CELL if row.unpriced_rows and not row.total else money(row.total)
            table.append([name, *[money(row.by_kind[k]) for k in shown_kinds], total_cell])
    elif rows:
        table = [["kind", "spend", "share"]]
        for kind in shown_kinds:
            table.append([KIND_LABELS[kind], money(rows[0].by_kind[kind]), percent(rows[0].by_kind[kind] / total if total else 0)])
    lines = _unpriced_line(unpriced)
    if not rows:
        headline = _no_spend(query, period_text)
        lines += _replaced_usage_lines(session, query, start, end)
        lines += _focus_gpu_lines(session, query, start, end)
    points = [(row.group[grain], row.total) for row in rows] if grain and len(query.group_by) == 1 else None
    data = {"total": total, "unpriced_rows": unpriced,
            "rows": [{"group": row.group, "by_kind": row.by_kind, "total": row.total, "unpriced_rows": row.unpriced_rows,
                      "not_applicable": list(row.not_applicable)} for row in rows]}
    return Presentation(headline, table, lines), data, points


def _replaced_usage_lines(session: Session, query: Query, start: datetime, end: datetime) -> list[str]:
    """Explain an empty filtered spend answer whose LLM usage is stored but replaced in spend by a
    provider cost report that lacks the filtered dimension (the OpenAI Costs API has no model)."""
    if not query.filters:
        return []
    rows = traffic_by(session, start=start, end=end, filters=query.filters)
    requests = sum(row.requests for row in rows)
    cost = sum((row.cost for row in rows), ZERO)
    if not requests and not cost:
        return []
    return [messages.SPEND_IN_COST_REPORT.format(requests=count(requests), cost=money(cost))]


def _focus_gpu_lines(session: Session, query: Query, start: datetime, end: datetime) -> list[str]:
    """Explain an empty answer filtered by GPU model whose hosts are billed through FOCUS rows.

    FOCUS rows carry no GPU model, so the host's model comes from its nvidia-smi or DCGM samples
    at any time. Other filters that FOCUS rows have (team, feature, ...) still apply.
    """
    models = query.filters.get("gpu_model")
    if not models:
        return []
    other_filters = {name: values for name, values in query.filters.items() if name != "gpu_model"}
    if any(name not in DIMENSIONS for name in other_filters):
        return []
    hosts = session.execute(
        sa.select(GpuUsage.host).where(GpuUsage.gpu_model.in_(models), GpuUsage.host.is_not(None)).distinct()
    ).scalars().all()
    if not hosts:
        return []
    conditions = [CloudCost.cost_kind == "gpu", CloudCost.charge_period_start >= start, CloudCost.charge_period_start < end,
                  sa.or_(CloudCost.resource_name.in_(hosts), CloudCost.resource_id.in_(hosts))]
    conditions += [getattr(CloudCost, name).in_(values) for name, values in other_filters.items()]
    host = sa.func.coalesce(CloudCost.resource_name, CloudCost.resource_id)
    billed = session.execute(
        sa.select(host, sa.func.sum(CloudCost.billed_cost_usd)).where(*conditions).group_by(host)
    ).all()
    if not billed:
        return []
    cost = sum((amount or ZERO for _, amount in billed), ZERO)
    names = sorted(str(name) for name, _ in billed)
    return [messages.GPU_SPEND_WITHOUT_MODEL.format(hosts=", ".join(names), cost=money(cost))]


def answer_top(session: Session, query: Query, *, tz, period_text: str):
    start, end = query.period.bounds(tz)
    dimension = query.group_by[0]
    result = top_spenders(session, start=start, end=end, dimension=dimension, limit=query.top or 5,
                          filters=query.filters, kinds=_kinds(query))
    if not result["rows"]:
        return Presentation(_no_spend(query, period_text), None, _unpriced_line(result["unpriced_rows"])), result, None
    headline = messages.TOP_HEADLINE.format(count=len(result["rows"]), dimension=_plural(dimension) if len(result["rows"]) > 1 else label(dimension),
                                            period=period_text, total=money(result["total"]))
    table = [[label(dimension), "spend", "share"]]
    for row in result["rows"]:
        cost = messages.UNPRICED_CELL if row["unpriced_rows"] and not row["cost"] else money(row["cost"])
        table.append(["(unallocated)" if row["value"] is None else row["value"], cost, percent(row["share"])])
    others = result["others"]["groups"]
    if others:
        table.append([f"{others} other{'s' if others > 1 else ''}", money(result["others"]["cost"]),
                      percent(result["others"]["cost"] / result["total"] if result["total"] else 0)])
    return Presentation(headline, table, _unpriced_line(result["unpriced_rows"])), result, None


def answer_compare(session: Session, query: Query, *, tz, period_text: str):
    current = query.period.bounds(tz)
    previous = query.compare_to.bounds(tz)
    result = change_between(session, current=current, previous=previous, filters=query.filters, kinds=_kinds(query))
    previous_text = query.compare_to.describe()
    if not query.compare_to.label.endswith(" before"):
        # "from $5.00 in Q3 2026 (…)", but "from $5.00 the week before (…)".
        previous_text = period_phrase(previous_text)
    if result["previous"]:
        direction = "unchanged,"
        if result["change"] > 0:
            direction = "up"
        elif result["change"] < 0:
            direction = "down"
        headline = messages.COMPARE_HEADLINE.format(
            scope=headline_scope(query), current=money(result["current"]), period=period_text, direction=direction,
            change=money(abs(result["change"])), percent=f"{result['change_pct']:+.1f}%",
            previous=money(result["previous"]), previous_period=previous_text)
    else:
        headline = messages.COMPARE_NO_BASE.format(scope=headline_scope(query), current=money(result["current"]),
                                                   period=period_text, previous_period=previous_text)
    drivers = result["drivers"]
    table = _driver_table(drivers[0], result) if drivers else None
    lines = []
    if drivers:
        leading = largest_named_row(drivers[0])
        reason = messages.COMPARE_SPLIT_REASON.format(value=escape(leading["value"])) if leading else ""
        text = messages.COMPARE_SPLITS if len(drivers) > 1 else messages.COMPARE_SPLIT_ONE
        lines.append(text.format(dimension=label(drivers[0]["dimension"]), reason=reason,
                                 change=signed_money(result["change"])))
    lines.extend(_driver_line(entry) for entry in drivers[1:])
    kinds = ", ".join(f"{KIND_LABELS[kind]} {signed_money(change)}" for kind, change in result["by_kind"].items() if change)
    if kinds:
        lines.append(f"By kind: {kinds}.")
    return Presentation(headline, table, lines), result, None


def _value_name(value: str | None) -> str:
    return "(unallocated)" if value is None else str(value)


def _plural(dimension: str) -> str:
    name = label(dimension)
    return name if name.endswith("s") else name + "s"


def _driver_table(entry: dict, result: dict) -> list[list[str]]:
    """Lay out one dimension's split of the change, with a total row that equals the change."""
    table = [[label(entry["dimension"]), "before", "after", "change"]]
    for row in entry["rows"]:
        table.append([_value_name(row["value"]), money(row["before"]), money(row["after"]), signed_money(row["change"])])
    others, outside = entry["others"], entry["outside"]
    if others["groups"]:
        name = _plural(entry["dimension"]) if others["groups"] > 1 else label(entry["dimension"])
        table.append([f"{others['groups']} other {name}", money(others["before"]),
                      money(others["after"]), signed_money(others["change"])])
    if outside["before"] or outside["after"]:
        table.append([not_applicable_name(entry["dimension"], outside["kinds"]), money(outside["before"]), money(outside["after"]),
                      signed_money(outside["change"])])
    table.append(["total", money(result["previous"]), money(result["current"]), signed_money(result["change"])])
    return table


def _driver_line(entry: dict, listed: int = 2) -> str:
    """Summarise one dimension's split of the change in a line: the largest changes, then the rest."""
    parts = [f"{escape(_value_name(row['value']))} {signed_money(row['change'])}" for row in entry["rows"][:listed]]
    rest = entry["rows"][listed:]
    groups = len(rest) + entry["others"]["groups"]
    if groups:
        change = sum((row["change"] for row in rest), entry["others"]["change"])
        parts.append(f"{groups} other {_plural(entry['dimension']) if groups > 1 else label(entry['dimension'])} "
                     f"{signed_money(change)}")
    if entry["outside"]["change"]:
        parts.append(f"{not_applicable_name(entry['dimension'], entry['outside']['kinds'])} "
                     f"{signed_money(entry['outside']['change'])}")
    return f"By {label(entry['dimension'])}: {', '.join(parts)}."


def answer_cost_per_success(session: Session, query: Query, *, tz, period_text: str):
    start, end = query.period.bounds(tz)
    rows = cost_per_success(session, start=start, end=end, filters=query.filters)
    rows = [row for row in rows if row.runs or row.spend]
    headline = messages.COST_PER_SUCCESS_HEADLINE.format(period=period_text)
    table = [["workflow", "spend", "successes", "success rate", "per success"]]
    for row in rows:
        table.append(["(unallocated)" if row.group["feature"] is None else row.group["feature"], money(row.spend),
                      count(row.succeeded), percent(row.success_rate), money(row.cost_per_success)])
    lines = ["Workflows without outcome rows show n/a: import outcomes with the outcomes CSV to see their cost per success."] \
        if any(row.cost_per_success is None for row in rows) else []
    return Presentation(headline, table if rows else None, lines), {"rows": rows}, None


def answer_retries(session: Session, query: Query, *, tz, period_text: str):
    start, end = query.period.bounds(tz)
    group_by = [name for name in query.group_by if name not in TIME_GRAINS] or ["feature"]
    rows = retry_overhead(session, start=start, end=end, filters=query.filters, group_by=group_by)
    retry_cost = sum((row["retry_cost"] for row in rows), ZERO)
    failure_cost = sum((row["failure_cost"] for row in rows), ZERO)
    cost = sum((row["cost"] for row in rows), ZERO)
    headline = messages.RETRIES_HEADLINE.format(retry_cost=money(retry_cost), share=percent(retry_cost / cost if cost else 0),
                                                period=period_text, failure_cost=money(failure_cost))
    table = [[" / ".join(label(name) for name in group_by), "requests", "retry rate", "retry cost", "failed cost"]]
    uncounted = 0
    for row in rows:
        name = " / ".join("(unallocated)" if value is None else str(value) for value in row["group"].values())
        # NOTE: a group that mixes counted and uncounted usage shows the rate of the counted part only.
        if not row["requests"] and (row["tokens"] or row["cost"]):
            uncounted += 1
            table.append([name, *[messages.RETRIES_NO_COUNT_CELL] * 4])
            continue
        table.append([name, count(row["requests"]), percent(row["retry_rate"]), money(row["retry_cost"]), money(row["failure_cost"])])
    lines = [messages.RETRIES_ESTIMATE]
    if uncounted:
        lines.append(messages.RETRIES_NO_COUNT)
    result = {"retry_cost": retry_cost, "failure_cost": failure_cost, "llm_cost": cost, "rows": rows}
    return Presentation(headline, table if rows else None, lines), result, None


def _non_interactive_features(mapping_file: Path | None) -> list[str] | None:
    """Return features marked interactive: false in the mapping file, or None when none are."""
    try:
        from bot.mapping import MappingError, load_mapping
    except ImportError:  # NOTE: the mapping module is optional in a partial installation
        return None
    try:
        mapping = load_mapping(mapping_file)
    except MappingError as exc:
        logger.warning("mapping file %s is invalid, tier savings assume every feature could wait: %s", mapping_file, exc)
        return None
    names = sorted(name for name, attributes in mapping.features.items() if attributes.get("interactive") is False)
    return names or None


def answer_tiers(session: Session, query: Query, *, tz, period_text: str, mapping_file: Path | None):
    start, end = query.period.bounds(tz)
    eligible = _non_interactive_features(mapping_file)
    result = tier_mix(session, start=start, end=end, filters=query.filters, non_interactive=eligible)
    headline = messages.TIERS_HEADLINE.format(period=period_text, saving=money(result["batch_saving"]))
    table = [["tier", "requests", "spend", "share"]]
    for row in result["tiers"]:
        table.append([row["tier"], count(row["requests"]), money(row["cost"]), percent(row["share"])])
    if eligible is None:
        lines = [messages.TIERS_ELIGIBLE_ALL]
    elif result["eligible_features"]:
        features = ", ".join(escape(name) for name in result["eligible_features"])
        lines = [messages.TIERS_ELIGIBLE_SOME.format(features=features)]
    else:
        lines = [messages.TIERS_ELIGIBLE_NONE]
    return Presentation(headline, table if result["tiers"] else None, lines), result, None


def answer_gpu(session: Session, query: Query, *, tz, period_text: str):
    start, end = query.period.bounds(tz)
    rows = gpu_utilization(session, start=start, end=end, filters=query.filters)
    if not rows:
        return Presentation(messages.GPU_NONE.format(period=period_text)), {"rows": []}, None
    cost = sum((row["cost"] for row in rows), ZERO)
    idle = sum((row["idle_cost"] or ZERO for row in rows), ZERO)
    headline = messages.GPU_HEADLINE.format(period=period_text, cost=money(cost), idle=money(idle))
    table = [["host", "GPU", "GPU-hours", "utilization", "cost", "idle cost"]]
    for row in rows:
        utilization = "n/a" if row["utilization_pct"] is None else f"{row['utilization_pct']:.1f}%"
        table.append([row["host"], row["gpu_model"], f"{row['gpu_hours']:.1f}", utilization, money(row["cost"]),
                      money(row["idle_cost"])])
    unpriced = sum(row["unpriced_samples"] for row in rows)
    lines = ["Idle cost = cost × (1 − mean utilization); utilization is time-weighted over the samples.",
             *_unpriced_line(unpriced)]
    return Presentation(headline, table, lines), {"cost": cost, "idle_cost": idle, "rows": rows}, None


def answer_forecast(session: Session, query: Query, *, tz, today: date):
    result = month_end_forecast(session, today=today, tz=tz, filters=query.filters, kinds=_kinds(query))
    month = date.fromisoformat(result["month"] + "-01").strftime("%B %Y")
    headline = messages.FORECAST_HEADLINE.format(
        scope=headline_scope(query), forecast=money(result["forecast"]), month=month,
        actual=money(result["actual_to_yesterday"]), rate=money(result["run_rate_per_day"]),
        days=result["run_rate_days"], left=result["days_left"])
    lines = [messages.FORECAST_METHOD]
    points = [(day.isoformat(), amount) for day, amount in result["daily"]]
    if not any(amount for _, amount in points):
        # A chart of zero-height bars would only repeat that nothing was spent.
        lines.append(messages.FORECAST_NO_CHART.format(days=result["run_rate_days"]))
        points = None
    return Presentation(headline, None, lines), result, points


def answer_tokens(session: Session, query: Query, *, tz, period_text: str):
    start, end = query.period.bounds(tz)
    group_by = [name for name in query.group_by if name not in TIME_GRAINS]
    rows = traffic_by(session, start=start, end=end, filters=query.filters, group_by=group_by)
    totals = {name: sum(getattr(row, name) for row in rows)
              for name in ("requests", "input_tokens", "cached_input_tokens", "output_tokens", "retries")}
    headline = messages.TOKENS_HEADLINE.format(scope=headline_scope(query), requests=count(totals["requests"]),
                                               period=period_text, input=count(totals["input_tokens"]),
                                               cached=count(totals["cached_input_tokens"]),
                                               output=count(totals["output_tokens"]))
    table = None
    lines: list[str] = []
    if group_by and rows:
        table = [[" / ".join(label(name) for name in group_by), "requests", "input", "cached", "output"]]
        for row in rows:
            name = " / ".join("(unallocated)" if value is None else str(value) for value in row.group.values())
            # NOTE: a group that mixes counted and uncounted usage shows the counted requests only.
            uncounted = not row.requests and (row.input_tokens or row.output_tokens)
            requests = messages.RETRIES_NO_COUNT_CELL if uncounted else count(row.requests)
            table.append([name, requests, count(row.input_tokens), count(row.cached_input_tokens),
                          count(row.output_tokens)])
        if any(row.requests == 0 and (row.input_tokens or row.output_tokens) for row in rows):
            lines.append(messages.TOKENS_NO_COUNT)
    return Presentation(headline, table, lines), {"totals": totals, "rows": rows}, None
