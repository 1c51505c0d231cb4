"""OpenAI Admin API exports: completions usage pages and Costs API pages, as saved JSON.

Both files are JSON arrays of pages, the way a script that follows `next_page` saves them.
Usage is grouped by project_id, model, service_tier, batch and api_key_id in daily buckets;
costs are grouped by project_id and line_item. Reported costs differ from list prices by up
to about 1.5% per project and day, as real invoices do.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bot.demo import cases
from bot.demo.ledger import Ledger
from bot.demo.pricing import line_prices
from bot.demo.workload import UsageRow, Workload, rng_for

USAGE_PAGE_BUCKETS = 31  # the API's maximum for 1d buckets
COSTS_PAGE_BUCKETS = 30
ORGANIZATION_ID = "org-Xq4m7TnB2cRk9sLw1vPz"
LINE_ITEM_PARTS = (("input", "input"), ("cached_input", "cached input"), ("output", "output"))


def _timestamp(day) -> int:
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp())


def _cursor(day) -> str:
    return "page_" + base64.b64encode(f"{_timestamp(day):016x}".encode()).decode()


def _usage_result(row: UsageRow) -> dict:
    tokens = row.tokens
    return {
        "object": "organization.usage.completions.result",
        "input_tokens": tokens.input,
        "input_cached_tokens": tokens.cached,
        "input_cache_write_tokens": 0,
        "input_uncached_tokens": tokens.input - tokens.cached,
        "output_tokens": tokens.output,
        "input_text_tokens": tokens.input,
        "output_text_tokens": tokens.output,
        "input_cached_text_tokens": tokens.cached,
        "input_audio_tokens": 0,
        "input_cached_audio_tokens": 0,
        "output_audio_tokens": 0,
        "input_image_tokens": 0,
        "input_cached_image_tokens": 0,
        "output_image_tokens": 0,
        "num_model_requests": row.requests,
        "project_id": row.feature.source_id,
        "user_id": None,
        "api_key_id": row.api_key,
        "model": row.model,
        "batch": row.batch,
        "service_tier": row.service_tier,
    }


def _pages(days: list, results_by_day: dict, per_page: int) -> list[dict]:
    pages = []
    for offset in range(0, len(days), per_page):
        chunk = days[offset : offset + per_page]
        following = days[offset + per_page] if offset + per_page < len(days) else None
        buckets = [
            {
                "object": "bucket",
                "start_time": _timestamp(day),
                "end_time": _timestamp(day + timedelta(days=1)),
                "results": results_by_day.get(day, []),
            }
            for day in chunk
        ]
        pages.append({
            "object": "page",
            "data": buckets,
            "has_more": following is not None,
            "next_page": _cursor(following) if following is not None else None,
        })
    return pages


def _line_item(row: UsageRow, part: str) -> str:
    if row.batch:
        return f"{row.model}, {part} (batch)"
    if row.service_tier == "priority":
        return f"{row.model}, {part} (priority)"
    return f"{row.model}, {part}"


def write_openai(workload: Workload, out_dir: Path, ledger: Ledger) -> list[Path]:
    """Write `openai/usage_completions.json` and `openai/costs.json`; add reported costs to `ledger`."""
    folder = out_dir / "openai"
    folder.mkdir(parents=True, exist_ok=True)
    rng = rng_for(workload.seed, "openai-costs")
    noise = cases.REPORTED_COST_NOISE

    usage_by_day: dict = {}
    for row in workload.openai_rows:
        usage_by_day.setdefault(row.day, []).append(_usage_result(row))

    costs_by_day: dict = {}
    for day in workload.days:
        rows = [row for row in workload.openai_rows if row.day == day]
        lines: dict[tuple[str, str], Decimal] = {}
        for row in rows:
            parts = line_prices("openai", row.model, row.service_tier, row.batch, day.isoformat(), row.tokens)
            for part, label in LINE_ITEM_PARTS:
                key = (row.feature.source_id, _line_item(row, label))
                lines[key] = lines.get(key, Decimal(0)) + parts[part]
        factors: dict[str, Decimal] = {}
        results = []
        for (project, line_item), list_usd in lines.items():
            if project not in factors:
                factors[project] = Decimal(str(round(rng.uniform(-noise, noise), 4))) + 1
            amount = (list_usd * factors[project]).quantize(Decimal("0.0000001"))
            if amount == 0:
                continue
            results.append({
                "object": "organization.costs.result",
                "amount": {"value": float(amount), "currency": "usd"},
                "line_item": line_item,
                "project_id": project,
                "api_key_id": None,
                "quantity": None,
                "quantity_unit": None,
                "organization_id": ORGANIZATION_ID,
            })
            feature = next(row.feature for row in rows if row.feature.source_id == project)
            ledger.add(day, feature.team, feature.name, "llm", amount)
        costs_by_day[day] = results

    usage_path = folder / "usage_completions.json"
    costs_path = folder / "costs.json"
    _write_json(usage_path, _pages(workload.days, usage_by_day, USAGE_PAGE_BUCKETS), indent=4)
    _write_json(costs_path, _pages(workload.days, costs_by_day, COSTS_PAGE_BUCKETS), indent=None)
    return [usage_path, costs_path]


def _write_json(path: Path, document, indent: int | None) -> None:
    """Write pretty-printed like `jq .` output when `indent` is set, else compact like the raw API."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        json.dump(document, handle, indent=indent, separators=(",", ": ") if indent else (",", ":"))
        handle.write("\n")
