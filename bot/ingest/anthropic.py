"""Anthropic Admin API exports: the messages usage report and the cost report.

Usage rows go to LlmUsage (server-side web search requests to ToolUsage); cost rows go to
ReportedCost. Fields the parser does not use are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.ingest.base import ParseContext, Record, RowError, register
from bot.ingest.buckets import TimedBucket, iter_timed_buckets, mapped_dimensions, via_proxy
from bot.ingest.fields import RequiredFields
from bot.ingest.reading import (
    BadValue, FieldError, get_field, natural_key, parse_count, parse_decimal, parse_text,
)
from bot.models.usage import COST_PRICED, COST_UNPRICED, LlmUsage, ReportedCost, ToolUsage

SOURCE = "anthropic"
PROVIDER = "anthropic"

# The report's service_tier values and the tier costbot stores.
_TIERS = {None: "standard", "standard": "standard", "batch": "batch", "priority": "priority",
          "priority_on_demand": "priority", "flex": "flex", "flex_discount": "flex"}
# Fields that split usage into groups when a report groups by them; all are part of the key.
_USAGE_GROUPS = ("workspace_id", "api_key_id", "model", "service_tier", "context_window", "inference_geo")
_COST_GROUPS = ("workspace_id", "description", "cost_type", "context_window", "model", "service_tier",
                "token_type", "inference_geo")

# Keys of a report page and its buckets, which both reports share.
_PAGE_KEYS = frozenset({"data", "has_more", "next_page"})
USAGE_FIELDS = RequiredFields(
    "key", ("starting_at", "ending_at", "results", "uncached_input_tokens", "output_tokens"),
    _PAGE_KEYS | set(_USAGE_GROUPS) | {
        "cache_creation", "ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens", "cache_read_input_tokens",
        "server_tool_use", "web_search_requests",
    },
)  # fmt: skip
COST_FIELDS = RequiredFields(
    "key", ("starting_at", "ending_at", "results", "amount", "currency"), _PAGE_KEYS | set(_COST_GROUPS)
)


def _text_head(head: bytes) -> str:
    return head.decode("utf-8", "ignore").lstrip("\ufeff \t\r\n")


def _has_key(text: str, name: str) -> bool:
    return re.search(rf'"{name}"\s*:', text) is not None


def _sniff_usage(head: bytes, path: Path) -> bool:
    text = _text_head(head)
    return text[:1] in "{[" and _has_key(text, "starting_at") and _has_key(text, "uncached_input_tokens")


def _sniff_costs(head: bytes, path: Path) -> bool:
    text = _text_head(head)
    return (
        text[:1] in "{["
        and _has_key(text, "starting_at")
        and _has_key(text, "amount")
        and _has_key(text, "currency")
        and not _has_key(text, "uncached_input_tokens")
    )


@register(
    "anthropic_usage", "Anthropic usage report for messages (Admin API JSON)", _sniff_usage,
    label="Anthropic usage report", fields=USAGE_FIELDS,
)  # fmt: skip
def parse_usage(context: ParseContext) -> Iterator[Record | RowError]:
    yield from _parse(context, _usage_records)


@register(
    "anthropic_costs", "Anthropic cost report (Admin API JSON, amounts in cents)", _sniff_costs,
    label="Anthropic cost report", fields=COST_FIELDS,
)  # fmt: skip
def parse_costs(context: ParseContext) -> Iterator[Record | RowError]:
    yield from _parse(context, _cost_records)


def _parse(context: ParseContext, build) -> Iterator[Record | RowError]:
    path = str(context.path)
    for bucket in iter_timed_buckets(context, "starting_at", "ending_at"):
        if isinstance(bucket, RowError):
            yield bucket
            continue
        context.series.bucket(bucket.start, bucket.end, bucket.width)
        for line, result in bucket.results:
            try:
                if not isinstance(result, dict):
                    raise FieldError("results", result, "expected a result object")
                yield from build(context, bucket, line, result)
            except FieldError as exc:
                yield RowError(path, line, exc.field, exc.value, exc.message, raw=result)


def _common(context: ParseContext, bucket: TimedBucket, result: dict, kind: str, groups: tuple[str, ...],
            table: str) -> dict[str, Any]:
    workspace = get_field(result, "workspace_id", parse_text)  # None is the default workspace
    api_key = get_field(result, "api_key_id", parse_text)  # None is Console usage
    values: dict[str, Any] = mapped_dimensions(context, project=workspace, api_key=api_key)
    values["via_proxy"] = via_proxy(context, project=workspace, api_key=api_key)
    if workspace is not None:
        values["project"] = workspace
    present = [name for name in groups if result.get(name) is not None]
    context.series.fields(table, SOURCE, kind).update(present)
    group = [f"{name}={result[name]}" for name in present]
    values.update(
        source=SOURCE,
        natural_key=natural_key(kind, bucket.key_text, *group),
        start_time=bucket.start,
        bucket_seconds=bucket.seconds,
    )
    return values


def _tier(result: dict) -> str:
    tier = result.get("service_tier")
    if tier not in _TIERS:
        raise FieldError("service_tier", tier, f"unknown service tier; expected one of {', '.join(t for t in _TIERS if t)}")
    return _TIERS[tier]


def _usage_records(context: ParseContext, bucket: TimedBucket, line: int, result: dict) -> Iterator[Record]:
    cache_creation = result.get("cache_creation") or {}
    if not isinstance(cache_creation, dict):
        raise FieldError("cache_creation", cache_creation, "expected an object with ephemeral_5m/1h_input_tokens")
    uncached = get_field(result, "uncached_input_tokens", parse_count)
    try:
        write_5m = parse_count(cache_creation.get("ephemeral_5m_input_tokens"), required=False) or 0
        write_1h = parse_count(cache_creation.get("ephemeral_1h_input_tokens"), required=False) or 0
    except BadValue as exc:
        raise FieldError("cache_creation", cache_creation, str(exc)) from None
    cache_read = get_field(result, "cache_read_input_tokens", parse_count, required=False) or 0
    server_tools = result.get("server_tool_use") or {}
    if not isinstance(server_tools, dict):
        raise FieldError("server_tool_use", server_tools, "expected an object with web_search_requests")
    try:
        searches = parse_count(server_tools.get("web_search_requests"), required=False)
    except BadValue as exc:
        raise FieldError("server_tool_use.web_search_requests", server_tools.get("web_search_requests"), str(exc)) from None
    tier = _tier(result)
    values = _common(context, bucket, result, "messages", _USAGE_GROUPS, LlmUsage.__tablename__)
    values.update(
        provider=PROVIDER,
        model=get_field(result, "model", parse_text),
        service_tier=tier,
        operation="messages",
        api_key_id=get_field(result, "api_key_id", parse_text),
        # Total input is every input token: uncached, both cache-write lifetimes and cache reads.
        input_tokens=uncached + write_5m + write_1h + cache_read,
        cached_input_tokens=cache_read,
        cache_write_tokens=write_5m + write_1h,
        output_tokens=get_field(result, "output_tokens", parse_count),
    )
    # NOTE: the usage report has no request count, so LlmUsage.requests stays 0.
    if context.prices is not None:
        context.prices.price_row(values, cache_write_1h_tokens=write_1h)
    yield Record(table=LlmUsage, values=values, line=line, raw=result, key_time=bucket.key_start)

    if searches:
        tool_values = _common(context, bucket, result, "web_search", _USAGE_GROUPS, ToolUsage.__tablename__)
        cost = None
        if context.prices is not None:
            cost = context.prices.price_tool_calls(PROVIDER, values["model"], "web_search", bucket.start.date(), searches)
        tool_values.update(
            provider=PROVIDER, tool="web_search", calls=searches, cost_usd=cost,
            cost_origin=COST_PRICED if cost is not None else COST_UNPRICED,
        )
        yield Record(table=ToolUsage, values=tool_values, line=line, raw=result, key_time=bucket.key_start)


def _cost_records(context: ParseContext, bucket: TimedBucket, line: int, result: dict) -> Iterator[Record]:
    currency = result.get("currency")
    if currency != "USD":
        raise FieldError("currency", currency, "unsupported currency; costbot stores USD amounts only")
    cents = get_field(result, "amount", parse_decimal, allow_negative=True)
    if not isinstance(result.get("amount"), str):
        raise FieldError("amount", result.get("amount"), "expected a decimal string in cents, e.g. \"123.45\"")
    values = _common(context, bucket, result, "costs", _COST_GROUPS, ReportedCost.__tablename__)
    values.update(
        provider=PROVIDER,
        line_item=get_field(result, "description", parse_text, max_length=300),
        model=get_field(result, "model", parse_text),
        service_tier=_tier(result) if result.get("service_tier") is not None else None,
        cost_type=get_field(result, "cost_type", parse_text, max_length=50),
        amount_usd=cents / Decimal(100),  # the amount is in the lowest currency unit: cents
    )
    yield Record(table=ReportedCost, values=values, line=line, raw=result, key_time=bucket.key_start)
