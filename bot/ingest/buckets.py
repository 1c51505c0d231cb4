"""Time buckets of the OpenAI and Anthropic usage and cost APIs, read from any export shape."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.ingest.base import ParseContext, RowError
from bot.ingest.jsonstream import JsonWalker, iter_buckets
from bot.ingest.reading import BadValue, aligned_bucket, infer_bucket_width, parse_timestamp
from bot.models.base import DIMENSIONS

# Buckets read ahead to find one full bucket, whose span is the query's bucket width.
_LOOKAHEAD = 64


@dataclass
class TimedBucket:
    """A bucket with its real span and the aligned bucket it belongs to."""

    line: int
    start: datetime
    end: datetime
    key_start: datetime  # aligned start: the same for a partial and a full bucket of one period
    width: int
    results: list[tuple[int, Any]]

    def __post_init__(self) -> None:
        self.seconds = int((self.end - self.start).total_seconds())
        # The bucket part of natural keys: aligned start and width, e.g. "2026-11-01T00:00:00+00:00|86400".
        self.key_text = f"{self.key_start.isoformat()}|{self.width}"


def iter_timed_buckets(context: ParseContext, start_key: str, end_key: str) -> Iterator[TimedBucket | RowError]:
    """Yield each bucket with parsed times, or a RowError for a bucket whose times are bad."""
    path = str(context.path)
    pending: list[tuple[int, datetime, datetime, list[tuple[int, Any]]]] = []
    width: int | None = None
    with context.open_text() as stream:
        for line, fields, results in iter_buckets(JsonWalker(stream)):
            try:
                start = parse_timestamp(fields.get(start_key))
                end = parse_timestamp(fields.get(end_key))
            except BadValue as exc:
                bad_key = start_key if start_key not in fields or _bad(fields.get(start_key)) else end_key
                yield RowError(path, line, bad_key, fields.get(bad_key), str(exc), raw=fields)
                continue
            if end <= start:
                yield RowError(path, line, end_key, fields.get(end_key), f"must be after {start_key}", raw=fields)
                continue
            if width is None:
                pending.append((line, start, end, results))
                spans = [int((b_end - b_start).total_seconds()) for _, b_start, b_end, _ in pending]
                if len(pending) < _LOOKAHEAD and not any(span in (60, 3600, 86400) for span in spans):
                    continue
                width = infer_bucket_width(spans)
                for item in pending:
                    yield _timed(item, width)
                pending.clear()
            else:
                yield _timed((line, start, end, results), width)
        if pending:
            width = infer_bucket_width([int((end - start).total_seconds()) for _, start, end, _ in pending])
            for item in pending:
                yield _timed(item, width)


def _bad(value: Any) -> bool:
    try:
        parse_timestamp(value)
    except BadValue:
        return True
    return False


def _timed(item: tuple[int, datetime, datetime, list[tuple[int, Any]]], width: int) -> TimedBucket:
    line, start, end, results = item
    # A partial bucket (the first or last of an export) lies inside one period: key it by that period.
    key_start = aligned_bucket(start, width)
    return TimedBucket(line=line, start=start, end=end, key_start=key_start, width=width, results=results)


def mapped_dimensions(context: ParseContext, *, project: str | None = None, api_key: str | None = None,
                      team: str | None = None, tags: dict[str, str] | None = None) -> dict[str, str]:
    """Look source ids up in the mapping; later, more specific lookups win over earlier ones.

    Order: project, then LiteLLM team, then API key, then tags. Explicit dimensions of the row
    must be applied by the caller after this, because they win over mapped ones.
    """
    mapping = context.mapping
    found: dict[str, str] = {}
    if mapping is None:
        return found
    if project:
        found.update(mapping.for_project(project))
    if team:
        found.update(mapping.for_team(team))
    if api_key:
        found.update(mapping.for_api_key(api_key))
    if tags:
        found.update(mapping.from_tags(tags))
    return {key: value for key, value in found.items() if key in DIMENSIONS and value is not None}


def via_proxy(context: ParseContext, *, project: str | None, api_key: str | None) -> bool:
    """Return the `via_proxy` flag of a provider usage report's row (see LlmUsage.via_proxy)."""
    return context.mapping is not None and context.mapping.via_proxy(project, api_key)
