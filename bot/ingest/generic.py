"""costbot's own CSV formats for what no vendor exports: workflow outcomes and tool calls.

`outcomes_csv` rows count workflow runs that succeeded, failed or escalated, with the human
review time and cost they needed. `tools_csv` rows count tool calls (web search, retrieval,
vector stores, …) and their cost. docs/formats.md documents both with examples.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from bot.ingest.base import ImportFailed, ParseContext, Record, RowError, register
from bot.ingest.csvrows import CsvRow, ValueProblem, natural_key, parse_count, parse_decimal, parse_money, parse_utc_time, read_rows, sniff_header
from bot.ingest.fields import RequiredFields, closest_name
from bot.mapping import Mapping, merge_dimensions
from bot.models.base import DIMENSIONS
from bot.models.usage import COST_REPORTED, COST_UNPRICED, Outcome, ToolUsage

logger = logging.getLogger(__name__)

OUTCOME_COLUMNS = ("start_time", "workflow", "succeeded", "failed", "escalated", "review_minutes", "review_cost_usd")
OUTCOME_OPTIONAL = ("bucket_seconds", "team", "tenant", "user", "project", "environment")
TOOL_COLUMNS = ("start_time", "tool", "provider", "calls", "cost_usd")
TOOL_OPTIONAL = ("quantity", "quantity_unit", "bucket_seconds", "workflow", "team", "tenant", "user", "project", "environment")
TOOLS = ("web_search", "file_search", "retrieval", "vector_store", "storage", "code_interpreter", "other")
DAY_SECONDS = 86400


class _CellProblems(Exception):
    """The bad cells of one row as (column, message) pairs, raised after the whole row was read."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{column}: {message}" for column, message in problems))
        self.problems = problems


class _Cells:
    """Reads the cells of one row and collects every bad one, so that one run reports them all.

    Each reader returns None for a bad cell. `check` raises `_CellProblems` once the row is read.
    """

    def __init__(self, row: CsvRow) -> None:
        self.row = row
        self.problems: list[tuple[str, str]] = []

    def problem(self, column: str, message: str) -> None:
        self.problems.append((column, message))

    def check(self) -> None:
        if self.problems:
            raise _CellProblems(self.problems)

    def required(self, column: str) -> str | None:
        value = self.row.values.get(column)
        if value is None:
            self.problem(column, "missing value")
        return value

    def number(self, column: str, parse: Callable[[str], Any], *, required: bool = True) -> Any:
        text = self.required(column) if required else self.row.values.get(column)
        if text is None:
            return None
        try:
            return parse(text)
        except ValueProblem as exc:
            self.problem(column, str(exc))
            return None


def _sniffer(required: tuple[str, ...]) -> Callable[[bytes, Path], bool]:
    def sniff(head: bytes, path: Path) -> bool:
        return set(required) <= set(sniff_header(head))

    return sniff


@register(
    "outcomes_csv", "costbot outcomes CSV: workflow runs succeeded/failed/escalated and review labor",
    _sniffer(OUTCOME_COLUMNS), label="outcomes CSV",
    fields=RequiredFields("column", OUTCOME_COLUMNS, frozenset(OUTCOME_OPTIONAL)),
)  # fmt: skip
def parse_outcomes(context: ParseContext) -> Iterator[Record | RowError]:
    """Parse an outcomes CSV into Outcome records, one per row."""
    yield from _parse(context, OUTCOME_COLUMNS, OUTCOME_OPTIONAL, "outcomes CSV", _outcome)


@register(
    "tools_csv", "costbot tools CSV: tool calls (search, retrieval, vector stores, …) and their cost",
    _sniffer(TOOL_COLUMNS), label="tools CSV",
    fields=RequiredFields("column", TOOL_COLUMNS, frozenset(TOOL_OPTIONAL)),
)  # fmt: skip
def parse_tools(context: ParseContext) -> Iterator[Record | RowError]:
    """Parse a tools CSV into ToolUsage records, one per row."""
    yield from _parse(context, TOOL_COLUMNS, TOOL_OPTIONAL, "tools CSV", _tool)


def _parse(context, required, optional, what, build) -> Iterator[Record | RowError]:
    mapping: Mapping = context.mapping or Mapping()
    known = set(required) | set(optional)
    rows = 0
    header_checked = False
    for item in read_rows(context, required=required, what=what, optional=optional):
        if isinstance(item, RowError):
            yield item
            continue
        if not header_checked:
            header_checked = True
            unknown = [column for column in item.raw if column not in known]
            if unknown:
                raise ImportFailed([_unknown_column(context.path, column, required, optional, what) for column in unknown])
        rows += 1
        try:
            table, values = build(item, mapping)
        except _CellProblems as bad:
            yield RowError.of_row([item.error(context.path, column, message) for column, message in bad.problems])
            continue
        # Keys name the exact start, so a row with the same key starts at the same time.
        yield Record(table, values, line=item.line, raw=item.raw, key_time=values["start_time"])
    logger.info("%s parsed: path=%s rows=%d", what, context.path, rows)


def _unknown_column(path: Path, column: str, required: tuple[str, ...], optional: tuple[str, ...], what: str) -> RowError:
    close = closest_name(column, required + optional)
    hint = f' (did you mean "{close}"?)' if close is not None else ""
    return RowError(
        str(path), 1, column, column,
        f"unknown column of the {what}{hint}; expected {', '.join(required)} and optionally {', '.join(optional)}",
    )


def _bucket(cells: _Cells) -> tuple[datetime | None, int | None]:
    """Read start_time and bucket_seconds; a date alone means that UTC day and a 86400 s bucket."""
    start, date_only = None, False
    text = cells.required("start_time")
    if text is not None and "/" in text:
        cells.problem("start_time", "unknown time format; expected RFC 3339 such as 2026-11-19T14:00:00Z or a date YYYY-MM-DD")
    elif text is not None:
        try:
            start, date_only = parse_utc_time(text, naive_is_utc=False)
        except ValueProblem as exc:
            cells.problem("start_time", str(exc))
    bucket = cells.number("bucket_seconds", parse_count, required=False)
    if bucket is None:
        bucket = DAY_SECONDS if date_only else 0
    return start, bucket


def _dimensions(row: CsvRow, mapping: Mapping) -> dict[str, str]:
    """Return the row's own dimensions, completed from the mapping (project, then workflow's team)."""
    explicit = {dimension: row.values.get(dimension) for dimension in DIMENSIONS if dimension != "feature"}
    explicit["feature"] = row.values.get("workflow")
    feature_team = {"team": mapping.feature(explicit["feature"]).get("team")}
    return merge_dimensions(explicit, mapping.for_project(explicit.get("project")), feature_team)


def _key(start: datetime, dimensions: dict[str, str], *extra: object) -> str:
    """Key a row by its start, its dimensions and `extra`, but not its width. For one key the
    loader keeps the row that covers more of the bucket (the later one on a tie)."""
    return natural_key(start, *extra, *(dimensions.get(dimension) for dimension in DIMENSIONS))


def _outcome(row: CsvRow, mapping: Mapping) -> tuple[type, dict[str, Any]]:
    cells = _Cells(row)
    start, bucket = _bucket(cells)
    cells.required("workflow")
    succeeded = cells.number("succeeded", parse_count)
    failed = cells.number("failed", parse_count)
    escalated = cells.number("escalated", parse_count)
    minutes = cells.number("review_minutes", parse_decimal)
    review_cost = cells.number("review_cost_usd", parse_money)
    cells.check()

    dimensions = _dimensions(row, mapping)
    values: dict[str, Any] = {
        "source": "outcomes_csv",
        "start_time": start,
        "bucket_seconds": bucket,
        "succeeded": succeeded,
        "failed": failed,
        "escalated": escalated,
        # Review time is stored in whole seconds, rounded half to even.
        "review_seconds": int((minutes * 60).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)),
        "review_cost_usd": review_cost,
        **dimensions,
    }
    values["natural_key"] = _key(start, dimensions)
    return Outcome, values


def _tool(row: CsvRow, mapping: Mapping) -> tuple[type, dict[str, Any]]:
    cells = _Cells(row)
    start, bucket = _bucket(cells)
    tool = cells.required("tool")
    if tool is not None and tool not in TOOLS:
        cells.problem("tool", "unknown tool; expected one of " + ", ".join(TOOLS))
    calls = cells.number("calls", parse_count)
    cost = cells.number("cost_usd", parse_money, required=False)
    quantity = cells.number("quantity", parse_decimal, required=False)
    cells.check()

    dimensions = _dimensions(row, mapping)
    provider = row.values.get("provider")
    unit = row.values.get("quantity_unit")
    values: dict[str, Any] = {
        "source": "tools_csv",
        "start_time": start,
        "bucket_seconds": bucket,
        "provider": provider,
        "tool": tool,
        "calls": calls,
        "quantity": float(quantity) if quantity is not None else None,
        "quantity_unit": unit,
        "cost_usd": cost,
        # An empty cost_usd means the cost is not known, which is not the same as free.
        "cost_origin": COST_REPORTED if cost is not None else COST_UNPRICED,
        **dimensions,
    }
    values["natural_key"] = _key(start, dimensions, tool, provider, unit)
    return ToolUsage, values
