"""Anthropic Admin API exports: the messages usage report (hourly) and the cost report (daily).

Both are JSON arrays of pages, compact as the API sends them. Cost amounts are decimal strings in cents, as the API returns
them ("123.45" is $1.2345), and differ from list prices by up to about 1.5% per workspace and day.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bot.demo import cases
from bot.demo.ledger import Ledger
from bot.demo.pricing import line_prices
from bot.demo.workload import UsageRow, Workload, rng_for

USAGE_PAGE_BUCKETS = 168  # the API's maximum for 1h buckets
COST_PAGE_BUCKETS = 31
DISPLAY_NAMES = {
    "claude-sonnet-4-6": "Claude Sonnet 4.6",
    "claude-haiku-4-5": "Claude Haiku 4.5",
    "claude-opus-4-5": "Claude Opus 4.5",
}
# token_type -> (the price part it is billed at, description suffix)
TOKEN_TYPES = (
    ("uncached_input_tokens", "input", "Input Tokens"),
    ("cache_read_input_tokens", "cached_input", "Cache Read Input Tokens"),
    ("cache_creation.ephemeral_5m_input_tokens", "cache_write", "5m Cache Write Input Tokens"),
    ("output_tokens", "output", "Output Tokens"),
)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _cursor(moment: datetime) -> str:
    return "page_" + base64.b64encode(_iso(moment).encode()).decode()


def _usage_result(row: UsageRow) -> dict:
    tokens = row.tokens
    return {
        "uncached_input_tokens": tokens.input - tokens.cached - tokens.cache_write,
        "cache_creation": {
            "ephemeral_1h_input_tokens": 0,
            "ephemeral_5m_input_tokens": tokens.cache_write,
        },
        "cache_read_input_tokens": tokens.cached,
        "output_tokens": tokens.output,
        "server_tool_use": {"web_search_requests": 0},
        "api_key_id": row.api_key,
        "workspace_id": row.feature.source_id,
        "model": row.model,
        "service_tier": row.service_tier,
        "context_window": "0-200k",
    }


def _pages(starts: list[datetime], width: timedelta, results: dict, per_page: int) -> list[dict]:
    pages = []
    for offset in range(0, len(starts), per_page):
        chunk = starts[offset : offset + per_page]
        following = starts[offset + per_page] if offset + per_page < len(starts) else None
        pages.append({
            "data": [
                {"starting_at": _iso(start), "ending_at": _iso(start + width), "results": results.get(start, [])}
                for start in chunk
            ],
            "has_more": following is not None,
            "next_page": _cursor(following) if following is not None else None,
        })
    return pages


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


def write_anthropic(workload: Workload, out_dir: Path, ledger: Ledger) -> list[Path]:
    """Write `anthropic/usage_report_messages.json` and `anthropic/cost_report.json`."""
    folder = out_dir / "anthropic"
    folder.mkdir(parents=True, exist_ok=True)
    rng = rng_for(workload.seed, "anthropic-costs")
    noise = cases.REPORTED_COST_NOISE

    hours = [_midnight(workload.days[0]) + timedelta(hours=index) for index in range(24 * len(workload.days))]
    usage: dict[datetime, list] = {}
    for row in workload.anthropic_rows:
        usage.setdefault(_midnight(row.day) + timedelta(hours=row.hour), []).append(_usage_result(row))

    costs: dict[datetime, list] = {}
    for day in workload.days:
        lines: dict[tuple, Decimal] = {}
        features = {}
        for row in workload.anthropic_rows:
            if row.day != day:
                continue
            parts = line_prices("anthropic", row.model, row.service_tier, False, day.isoformat(), row.tokens)
            for token_type, part, _suffix in TOKEN_TYPES:
                key = (row.feature.source_id, row.model, row.service_tier, token_type)
                lines[key] = lines.get(key, Decimal(0)) + parts[part]
            features[row.feature.source_id] = row.feature
        factors: dict[str, Decimal] = {}
        results = []
        for (workspace, model, tier, token_type), list_usd in lines.items():
            if workspace not in factors:
                factors[workspace] = Decimal(str(round(rng.uniform(-noise, noise), 4))) + 1
            cents = (list_usd * factors[workspace] * 100).quantize(Decimal("0.00001"))
            if cents == 0:
                continue
            suffix = next(text for name, _, text in TOKEN_TYPES if name == token_type)
            results.append({
                "currency": "USD",
                "amount": str(cents),
                "workspace_id": workspace,
                "description": f"{DISPLAY_NAMES[model]} Usage - {suffix}",
                "cost_type": "tokens",
                "context_window": "0-200k",
                "model": model,
                "service_tier": tier,
                "token_type": token_type,
            })
            feature = features[workspace]
            ledger.add(day, feature.team, feature.name, "llm", cents / 100)
        costs[_midnight(day)] = results

    usage_path = folder / "usage_report_messages.json"
    cost_path = folder / "cost_report.json"
    _write_json(usage_path, _pages(hours, timedelta(hours=1), usage, USAGE_PAGE_BUCKETS))
    _write_json(cost_path, _pages([_midnight(day) for day in workload.days], timedelta(days=1), costs,
                                  COST_PAGE_BUCKETS))
    return [usage_path, cost_path]


def _write_json(path: Path, document) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        json.dump(document, handle, separators=(",", ":"))
        handle.write("\n")
