"""LiteLLM proxy spend logs (`LiteLLM_SpendLogs`): CSV database dumps and `/spend/logs` JSON.

Each row is one request, keyed by its `request_id`. `spend` is the USD cost LiteLLM computed,
stored as reported. `team_id`, `api_key`, `request_tags` and `metadata` are looked up in the
mapping. `user` is stored as the user and `end_user` (the proxy caller's own customer) as the
tenant, and both win over mapped values.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.ingest.base import ParseContext, Record, RowError, register
from bot.ingest.buckets import mapped_dimensions
from bot.ingest.fields import RequiredFields, describe_missing, missing_column_errors, near_misses
from bot.ingest.jsonstream import JsonWalker, iter_rows
from bot.ingest.reading import (
    BadValue, FieldError, get_field, is_null, parse_count, parse_decimal, parse_text,
    parse_timestamp,
)
from bot.models.usage import COST_REPORTED, LlmUsage

SOURCE = "litellm"
REQUIRED_COLUMNS = ("request_id", "startTime", "model", "spend", "prompt_tokens", "completion_tokens")
# The columns of the LiteLLM_SpendLogs table (the proxy's Prisma schema) that are not required.
# A missing required column is never matched to one of these.
OPTIONAL_COLUMNS = frozenset({
    "call_type", "api_key", "total_tokens", "endTime", "request_duration_ms", "completionStartTime",
    "model_id", "model_group", "custom_llm_provider", "api_base", "user", "metadata", "cache_hit",
    "cache_key", "request_tags", "team_id", "organization_id", "end_user", "requester_ip_address",
    "messages", "response", "session_id", "status", "mcp_namespaced_tool_name", "agent_id",
    "proxy_server_request",
})
CSV_FIELDS = RequiredFields("column", REQUIRED_COLUMNS, OPTIONAL_COLUMNS)
JSON_FIELDS = RequiredFields("key", REQUIRED_COLUMNS, OPTIONAL_COLUMNS)


def _text_head(head: bytes) -> str:
    return head.decode("utf-8", "ignore").lstrip("\ufeff \t\r\n")


def _mentions_columns(text: str) -> bool:
    return all(name in text for name in ("request_id", "spend", "startTime"))


def _sniff_csv(head: bytes, path: Path) -> bool:
    text = _text_head(head)
    return text[:1] not in "{[" and _mentions_columns(text.split("\n", 1)[0])


def _sniff_json(head: bytes, path: Path) -> bool:
    text = _text_head(head)
    return text[:1] in "{[" and all(re.search(rf'"{name}"\s*:', text) for name in ("request_id", "spend", "startTime"))


@register(
    "litellm_csv", "LiteLLM spend logs as a CSV dump of LiteLLM_SpendLogs", _sniff_csv,
    label="LiteLLM spend log CSV", fields=CSV_FIELDS,
)  # fmt: skip
def parse_csv(context: ParseContext) -> Iterator[Record | RowError]:
    path = str(context.path)
    with context.open_text(newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None:
            return
        _check_header(path, header)
        for cells in reader:
            line = reader.line_num
            if not cells or cells == [""]:
                continue
            if len(cells) != len(header):
                yield RowError(path, line, "row", len(cells), f"expected {len(header)} columns like the header, found {len(cells)}", raw=cells)
                continue
            row = dict(zip(header, cells, strict=True))
            yield _record_or_error(context, line, row)


def _check_header(path: str, header: list[str]) -> None:
    from bot.ingest.base import ImportFailed

    names = [name.strip() for name in header]
    if len(names) == 1:
        for delimiter, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if delimiter in names[0]:
                raise ImportFailed([RowError(path, 1, "header", names[0][:60], f"the file separates columns with {label}; export it with commas")])
    errors = missing_column_errors(path, names, CSV_FIELDS, "LiteLLM spend log CSV")
    if errors:
        raise ImportFailed(errors)
    header[:] = names


@register(
    "litellm_json", "LiteLLM spend logs as /spend/logs JSON (array, {data: [...]} or JSON Lines)", _sniff_json,
    label="LiteLLM spend log JSON", fields=JSON_FIELDS,
)  # fmt: skip
def parse_json(context: ParseContext) -> Iterator[Record | RowError]:
    path = str(context.path)
    with context.open_text() as stream:
        for line, row in iter_rows(JsonWalker(stream)):
            if not isinstance(row, dict):
                yield RowError(path, line, "row", str(row)[:40], "expected a spend log object", raw=row)
                continue
            missing = JSON_FIELDS.missing(row)
            if missing:
                matches = near_misses(missing, list(row), JSON_FIELDS)
                described = describe_missing(missing, matches, "key")
                yield RowError(path, line, missing[0], None, described, raw=row)
                continue
            yield _record_or_error(context, line, row)


def _record_or_error(context: ParseContext, line: int, row: dict) -> Record | RowError:
    try:
        return _record(context, line, row)
    except FieldError as exc:
        return RowError(str(context.path), line, exc.field, exc.value, exc.message, raw=row)


def _json_field(row: dict, name: str, default: Any) -> Any:
    """Read a JSON column: an object, or a JSON string of one (as database dumps write it)."""
    value = row.get(name)
    if is_null(value):
        return default
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise FieldError(name, value[:60], "invalid JSON in this column") from None
    return value


def _tags(request_tags: Any, metadata: Any) -> dict[str, str]:
    """Collect scalar metadata values and `key:value` (or `key=value`) request tags as key -> value."""
    tags: dict[str, str] = {}
    tag_list = list(request_tags) if isinstance(request_tags, list) else []
    if isinstance(metadata, dict):
        for source in (metadata, metadata.get("requester_metadata")):
            if isinstance(source, dict):
                tags.update({key: str(value) for key, value in source.items() if isinstance(value, str | int)})
        if isinstance(metadata.get("tags"), list):
            tag_list += metadata["tags"]
    for tag in tag_list:
        if isinstance(tag, str) and re.match(r"^[^:=]+[:=]", tag):
            key, value = re.split(r"[:=]", tag, maxsplit=1)
            tags[key.strip()] = value.strip()
    return tags


def _operation(call_type: str | None) -> str:
    kind = (call_type or "").lower()
    for marker, operation in (("embedding", "embeddings"), ("image", "images"), ("transcription", "audio_transcriptions"),
                              ("speech", "audio_speeches"), ("moderation", "moderations")):
        if marker in kind:
            return operation
    return "completions"


def _record(context: ParseContext, line: int, row: dict) -> Record:
    request_id = get_field(row, "request_id", parse_text, required=True, max_length=400)
    start = get_field(row, "startTime", parse_timestamp, naive_is_utc=True)  # LiteLLM writes UTC
    end = get_field(row, "endTime", parse_timestamp, naive_is_utc=True) if not is_null(row.get("endTime")) else None
    model = get_field(row, "model", parse_text) or get_field(row, "model_group", parse_text)
    if model is None:
        raise FieldError("model", row.get("model"), "missing; every request needs a model")
    spend = get_field(row, "spend", parse_decimal)  # Decimal from the text, never through float
    prompt = get_field(row, "prompt_tokens", parse_count)
    completion = get_field(row, "completion_tokens", parse_count)
    metadata = _json_field(row, "metadata", {})
    request_tags = _json_field(row, "request_tags", [])
    provider = get_field(row, "custom_llm_provider", parse_text) or (model.split("/", 1)[0] if "/" in model else "litellm")
    model = _without_provider_prefix(model, provider)
    duration = get_field(row, "request_duration_ms", parse_count, required=False)
    if duration is None and end is not None and end >= start:
        duration = int((end - start).total_seconds() * 1000)
    cached = _cached_tokens(metadata)
    if cached > prompt:
        cached = 0  # a usage object that disagrees with prompt_tokens is not trusted

    team = get_field(row, "team_id", parse_text)
    api_key = get_field(row, "api_key", parse_text, max_length=200)
    project = metadata.get("project_id") if isinstance(metadata, dict) and isinstance(metadata.get("project_id"), str) else None
    values: dict[str, Any] = mapped_dimensions(context, project=project, team=team, api_key=api_key, tags=_tags(request_tags, metadata))
    for dimension, field in (("user", "user"), ("tenant", "end_user")):
        explicit = get_field(row, field, parse_text)
        if explicit is not None:
            values[dimension] = explicit
    if project is not None:
        values["project"] = project

    status = (get_field(row, "status", parse_text) or "").lower()
    values.update(
        source=SOURCE,
        natural_key=f"request|{request_id}",
        start_time=start,
        bucket_seconds=0,
        provider=provider,
        model=model,
        service_tier="standard",
        operation=_operation(get_field(row, "call_type", parse_text)),
        api_key_id=api_key,
        requests=1,
        input_tokens=prompt,
        cached_input_tokens=cached,
        output_tokens=completion,
        failed_requests=1 if status == "failure" else 0,
        # LiteLLM counts the retries the proxy made for a request in metadata.attempted_retries.
        retries=1 if isinstance(metadata, dict) and str(metadata.get("attempted_retries") or "0").strip() not in ("", "0") else 0,
        total_latency_ms=duration,
        cost_usd=spend,
        cost_origin=COST_REPORTED,
    )
    cache_hit = str(row.get("cache_hit") or "").strip().lower() == "true"
    if spend == 0 and not cache_hit and status != "failure" and prompt + completion > 0 and context.prices is not None:
        # LiteLLM writes 0.0 when it has no price for the model: price it here, or mark it unpriced.
        context.prices.price_row(values)
    return Record(table=LlmUsage, values=values, line=line, raw=row)


def _without_provider_prefix(model: str, provider: str) -> str:
    """Drop the row's own provider prefix ("openai/gpt-5-mini" from openai is "gpt-5-mini").

    The provider's own export names the model without it, so both sources then group as one model.
    A prefix of another provider ("openai/gpt-4o" served by azure) is part of the name and stays.
    """
    prefix, slash, rest = model.partition("/")
    if slash and rest and prefix.lower() == provider.lower():
        return rest
    return model


def _cached_tokens(metadata: Any) -> int:
    """Read cached prompt tokens from the usage object LiteLLM keeps in metadata, if present."""
    if not isinstance(metadata, dict):
        return 0
    usage = metadata.get("usage_object")
    details = usage.get("prompt_tokens_details") if isinstance(usage, dict) else None
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    try:
        return parse_count(cached, required=False) or 0
    except BadValue:
        return 0

