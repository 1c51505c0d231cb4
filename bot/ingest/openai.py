"""OpenAI Admin API exports: the Usage API (`/organization/usage/*`) and the Costs API.

Model usage (completions, embeddings, moderations, images, audio) goes to LlmUsage; tool-like
usage (web search, file search, code interpreter sessions, vector store bytes) to ToolUsage;
cost lines to ReportedCost. Fields the parser does not use are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.ingest.base import ParseContext, Record, RowError, register
from bot.ingest.buckets import TimedBucket, iter_timed_buckets, mapped_dimensions, via_proxy
from bot.ingest.reading import (
    BadValue, FieldError, NATURAL_KEY_LENGTH, NULL_TEXTS, get_field, natural_key, parse_count,
    parse_decimal, parse_text,
)
from bot.models.usage import COST_PRICED, COST_UNPRICED, LlmUsage, ReportedCost, ToolUsage

SOURCE = "openai"
PROVIDER = "openai"

# Result object type -> (operation, fields that identify a group besides the bucket).
_LLM_RESULTS = {
    "organization.usage.completions.result": "completions",
    "organization.usage.embeddings.result": "embeddings",
    "organization.usage.moderations.result": "moderations",
    "organization.usage.images.result": "images",
    "organization.usage.audio_speeches.result": "audio_speeches",
    "organization.usage.audio_transcriptions.result": "audio_transcriptions",
}
# Result object type -> (tool, field counted as calls or None, quantity field, quantity unit).
_TOOL_RESULTS = {
    "organization.usage.web_searches.result": ("web_search", "num_requests", None, None),
    "organization.usage.file_searches.result": ("file_search", "num_requests", None, None),
    "organization.usage.code_interpreter_sessions.result": ("code_interpreter", "num_sessions", "num_sessions", "sessions"),
    "organization.usage.vector_stores.result": ("vector_store", None, "usage_bytes", "bytes"),
}
_COSTS_RESULT = "organization.costs.result"
# Fields that split usage into groups when a query groups by them; all are part of the key.
_GROUP_FIELDS = ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier", "size", "source",
                 "context_level", "vector_store_id")
_GROUP_PREFIXES = tuple((name, f"{name}=") for name in _GROUP_FIELDS)
# The table each kind of row goes to, for the series of an export (see bot.ingest.overlap).
_KIND_TABLES = {
    **{operation: LlmUsage.__tablename__ for operation in _LLM_RESULTS.values()},
    **{tool: ToolUsage.__tablename__ for tool, *_ in _TOOL_RESULTS.values()},
    "costs": ReportedCost.__tablename__,
}
# The API's service_tier values and the tier costbot stores.
_TIERS = {None: "standard", "default": "standard", "auto": "standard", "scale": "standard",
          "flex": "flex", "priority": "priority"}


def _text_head(head: bytes) -> str:
    return head.decode("utf-8", "ignore").lstrip("\ufeff \t\r\n")


def _sniff_usage(head: bytes, path: Path) -> bool:
    text = _text_head(head)
    return text[:1] in "{[" and '"organization.usage.' in text


def _sniff_costs(head: bytes, path: Path) -> bool:
    text = _text_head(head)
    return text[:1] in "{[" and f'"{_COSTS_RESULT}"' in text


@register("openai_usage", "OpenAI Usage API export (JSON page, array of pages, JSON Lines or buckets)", _sniff_usage)
def parse_usage(context: ParseContext) -> Iterator[Record | RowError]:
    return _parse_results(context, _usage_record)


@register("openai_costs", "OpenAI Costs API export (JSON page, array of pages, JSON Lines or buckets)", _sniff_costs)
def parse_costs(context: ParseContext) -> Iterator[Record | RowError]:
    return _parse_results(context, _cost_record)


def _parse_results(context: ParseContext, make_record) -> Iterator[Record | RowError]:
    """Turn each result of each bucket into a record with `make_record`, or a RowError naming its line."""
    path = str(context.path)
    rows = _Rows(context)
    for bucket in iter_timed_buckets(context, "start_time", "end_time"):
        if isinstance(bucket, RowError):
            yield bucket
            continue
        context.series.bucket(bucket.start, bucket.end, bucket.width)
        for line, result in bucket.results:
            try:
                yield make_record(rows, bucket, line, result)
            except FieldError as exc:
                yield RowError(path, line, exc.field, exc.value, exc.message, raw=result)


# Fast paths for the common, valid values; anything else goes through the strict parsers,
# which raise the error to report. They matter at a million rows per import.
def _text(result: dict, name: str) -> str | None:
    value = result.get(name)
    if value is None:
        return None
    if type(value) is str and 0 < len(value) <= 200 and value not in NULL_TEXTS and value.strip() == value:
        return value
    return get_field(result, name, parse_text)


def _count(result: dict, name: str, *, required: bool = False) -> int:
    value = result.get(name)
    if type(value) is int and value >= 0:
        return value
    if value is None and not required:
        return 0
    return get_field(result, name, parse_count, required=required) or 0


def _common(rows: _Rows, bucket: TimedBucket, result: dict, kind: str) -> dict[str, Any]:
    """Values every OpenAI row has: provenance, bucket, dimensions and its natural key."""
    project = _text(result, "project_id")
    api_key = _text(result, "api_key_id")
    user = _text(result, "user_id")
    values = rows.mapped(project, api_key)
    if project is not None:
        values["project"] = project
    if user is not None:
        values["user"] = user
    # The key part of each group field is "name=value", as str(value) writes the value.
    parts = [kind, bucket.key_text]
    get = result.get
    grouped_by = rows.series_fields(kind)
    for name, prefix in _GROUP_PREFIXES:
        value = get(name)
        if value is not None:
            parts.append(prefix + value if type(value) is str else f"{prefix}{value}")
            grouped_by.add(name)
    key = "|".join(parts)
    values["source"] = SOURCE
    values["natural_key"] = key if len(key) <= NATURAL_KEY_LENGTH else natural_key(*parts)
    values["start_time"] = bucket.start
    values["bucket_seconds"] = bucket.seconds
    return values


class _Rows:
    """Per-parse state for building rows: the pricer, and the mapping's dimensions of each
    (project, API key) pair, looked up once."""

    def __init__(self, context: ParseContext) -> None:
        self.context = context
        self.prices = context.prices
        self.found: dict[tuple[str | None, str | None], dict[str, str]] = {}
        self.grouped_by: dict[str, set[str]] = {}  # kind -> group-by fields seen with a value

    def series_fields(self, kind: str) -> set[str]:
        """Return the set of group-by fields seen in rows of `kind`, to add a row's fields to."""
        found = self.grouped_by.get(kind)
        if found is None:
            found = self.grouped_by[kind] = self.context.series.fields(_KIND_TABLES[kind], SOURCE, kind)
        return found

    def mapped(self, project: str | None, api_key: str | None) -> dict[str, Any]:
        """Return a new dict of the pair's mapped dimensions and via_proxy flag (empty without a mapping)."""
        if self.context.mapping is None:
            return {}
        found = self.found.get((project, api_key))
        if found is None:
            found = self.found[(project, api_key)] = mapped_dimensions(self.context, project=project, api_key=api_key)
            found["via_proxy"] = via_proxy(self.context, project=project, api_key=api_key)
        return dict(found)


def _usage_record(rows: _Rows, bucket: TimedBucket, line: int, result: Any) -> Record:
    if not isinstance(result, dict):
        raise FieldError("results", result, "expected a result object")
    kind = result.get("object")
    if kind in _LLM_RESULTS:
        return _llm_record(rows, bucket, line, result, _LLM_RESULTS[kind])
    if kind in _TOOL_RESULTS:
        return _tool_record(rows, bucket, line, result, *_TOOL_RESULTS[kind])
    raise FieldError("object", kind, "unknown usage result type; expected an organization.usage.*.result object")


def _llm_record(rows: _Rows, bucket: TimedBucket, line: int, result: dict, operation: str) -> Record:
    values = _common(rows, bucket, result, operation)
    tier = result.get("service_tier")
    if tier not in _TIERS:
        raise FieldError("service_tier", tier, f"unknown service tier; expected one of {', '.join(t for t in _TIERS if t)} or null")
    batch = result.get("batch")
    if batch not in (None, True, False):
        raise FieldError("batch", batch, "expected true, false or null")
    input_tokens = _count(result, "input_tokens")
    cached = _count(result, "input_cached_tokens")
    cache_write = _count(result, "input_cache_write_tokens")
    if cached + cache_write > input_tokens:
        raise FieldError("input_cached_tokens", cached, "larger than input_tokens, which already includes cached tokens")
    values.update(
        provider=PROVIDER,
        model=_text(result, "model"),
        service_tier="batch" if batch else _TIERS[tier],
        operation=operation,
        api_key_id=_text(result, "api_key_id"),
        requests=_count(result, "num_model_requests", required=True),
        input_tokens=input_tokens,  # already includes the cached tokens: never add them again
        cached_input_tokens=cached,
        cache_write_tokens=cache_write,
        output_tokens=_count(result, "output_tokens"),
    )
    # NOTE: images, speech characters and transcription seconds have no column in LlmUsage;
    # those rows keep their request counts and stay unpriced.
    if rows.prices is not None:
        rows.prices.price_row(values)
    return Record(table=LlmUsage, values=values, line=line, raw=result, key_time=bucket.key_start)


def _tool_record(rows: _Rows, bucket: TimedBucket, line: int, result: dict,
                 tool: str, calls_field: str | None, quantity_field: str | None, unit: str | None) -> Record:
    values = _common(rows, bucket, result, tool)
    calls = get_field(result, calls_field, parse_count) if calls_field else 0
    quantity = get_field(result, quantity_field, parse_count) if quantity_field else None
    model = get_field(result, "model", parse_text)
    cost = None
    if rows.prices is not None:
        cost = rows.prices.price_tool_calls(PROVIDER, model, tool, bucket.start.date(), calls)
    values.update(
        provider=PROVIDER,
        tool=tool,
        calls=calls,
        quantity=float(quantity) if quantity is not None else None,
        quantity_unit=unit,
        cost_usd=cost,
        cost_origin=COST_PRICED if cost is not None else COST_UNPRICED,
    )
    return Record(table=ToolUsage, values=values, line=line, raw=result, key_time=bucket.key_start)


def _cost_record(rows: _Rows, bucket: TimedBucket, line: int, result: Any) -> Record:
    if not isinstance(result, dict):
        raise FieldError("results", result, "expected a cost result object")
    if result.get("object") != _COSTS_RESULT:
        raise FieldError("object", result.get("object"), f"unknown cost result type; expected {_COSTS_RESULT}")
    amount = result.get("amount")
    if not isinstance(amount, dict):
        raise FieldError("amount", amount, "missing; expected {value, currency}")
    currency = amount.get("currency")
    if not isinstance(currency, str) or currency.lower() != "usd":
        raise FieldError("amount.currency", currency, "unsupported currency; costbot stores USD amounts only")
    try:
        value = parse_decimal(amount.get("value"), allow_negative=True)  # credits are negative
    except BadValue as exc:
        raise FieldError("amount.value", amount.get("value"), str(exc)) from None
    values = _common(rows, bucket, result, "costs")
    line_item = get_field(result, "line_item", parse_text, max_length=300)
    if line_item is not None:
        # Grouped by line item, the same costs take other rows than in an export without that grouping.
        rows.series_fields("costs").add("line_item")
    values.update(provider=PROVIDER, line_item=line_item, amount_usd=value)
    values["natural_key"] = natural_key(values["natural_key"], f"line_item={line_item}")
    return Record(table=ReportedCost, values=values, line=line, raw=result, key_time=bucket.key_start)

