"""Cost sources: the usage tables each kind of cost is read from, as grouped SQL.

Every cost kind is read from one or more sources. A source is one table with its time
column, the dimensions it can be filtered and grouped by, and how its cost is summed.
Each source yields one grouped SELECT; callers merge the few grouped rows per kind in
Python, which keeps the SQL identical on SQLite and PostgreSQL.

Attribution rules, which the rollups follow as well:
- LLM: priced usage rows are left out where the provider reported its own cost for the
  same provider, project and UTC day (reported_cost), so a day is never counted twice.
  Rows whose source reported the amount (LiteLLM spend, for example) count as they are.
  FOCUS rows of cost_kind "llm" count as LLM spend.
- Proxied calls: a provider usage report's row marked `via_proxy` (its API key or project
  is declared `via: litellm` in the mapping) repeats calls of the LiteLLM logs. It is left
  out of spend, tokens and requests on the UTC days where LiteLLM rows of the same provider
  exist; on other days (a gap in the logs) it counts. The same holds for its web search and
  file search tool rows, whose fees LiteLLM adds to the request's spend.
- GPU: FOCUS rows of cost_kind "gpu"; GPU samples with an hourly rate count only for
  hosts that have no FOCUS GPU row at all (matched on resource name or resource id).
- Tools: tool usage rows plus FOCUS rows of cost_kind "tool".
- Review: the review cost of outcome rows. Other: FOCUS rows of cost_kind "other".
A row belongs to the period that contains its start time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.visitors import InternalTraversal

from bot.models import DIMENSIONS, CloudCost, GpuUsage, LlmUsage, Outcome, ReportedCost, ToolUsage
from bot.models.usage import COST_PRICED

COST_KINDS = ("llm", "tools", "gpu", "review", "other")

# Columns beyond the allocation dimensions that filters and groupings may name.
EXTRA_COLUMNS = ("provider", "model", "service_tier", "tool", "host", "gpu_model")
GROUPABLE = (*DIMENSIONS, *EXTRA_COLUMNS)

# The cost kinds that can have each kind-specific column. Spend of any other kind lacks the
# column by nature (GPU time has no model), which answers tell apart from spend whose value
# is unknown (unallocated). Columns not listed here, such as team and feature, apply to every kind.
COLUMN_KINDS = {
    "model": ("llm",),
    "service_tier": ("llm",),
    "provider": ("llm", "tools", "gpu", "other"),
    "tool": ("tools",),
    "host": ("gpu",),
    "gpu_model": ("gpu",),
}

# cloud_cost.cost_kind values, by the cost kind they count towards.
FOCUS_KIND = {"llm": "llm", "tools": "tool", "gpu": "gpu", "other": "other"}

# The `source` of LiteLLM spend log rows (bot.ingest.litellm.SOURCE). Their `provider` is
# the upstream provider the proxy called.
LITELLM_SOURCE = "litellm"
# Tools whose fees LiteLLM's cost calculator (StandardBuiltInToolCostTracking in
# litellm/litellm_core_utils/llm_cost_calc/tool_call_cost_tracking.py) adds to a request's
# spend. It adds code interpreter and vector store fees only for Azure, so for OpenAI and
# Anthropic those tool rows are not in LiteLLM's spend and always count.
TOOLS_IN_PROXY_SPEND = ("web_search", "file_search")


class UnknownDimension(ValueError):
    """Raised when a filter or grouping names a column no cost source has."""


@dataclass(frozen=True)
class Source:
    """One table that contributes to a cost kind."""

    kind: str
    name: str
    table: type
    time_column: ColumnElement
    columns: Mapping[str, ColumnElement]
    where: Callable[[], ColumnElement] | None = None
    cost: Callable[[], ColumnElement] | None = None
    # Condition of rows that repeat calls which another source counts. Such rows are left out
    # of spend and of token and request counts, while `where` leaves rows out of spend alone.
    duplicate: Callable[[], ColumnElement] | None = None
    # GPU samples carry a rate, not an amount: the query sums seconds per hourly rate.
    rate_based: bool = False


def _dimension_columns(table) -> dict[str, ColumnElement]:
    return {name: getattr(table, name) for name in DIMENSIONS}


def utc_day(column: ColumnElement, dialect: str) -> ColumnElement:
    """Return the UTC calendar day of a UTCDateTime column, comparable across tables."""
    if dialect == "sqlite":
        return sa.func.substr(column, 1, 10)
    return sa.func.date_trunc("day", sa.func.timezone("UTC", column))


def utc_hour(column: ColumnElement, dialect: str) -> ColumnElement:
    """Return the UTC hour of a UTCDateTime column as text "YYYY-MM-DD HH" on both databases."""
    if dialect == "sqlite":
        return sa.func.substr(column, 1, 13)
    return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD HH24")


def _llm_not_reported(dialect: str) -> Callable[[], ColumnElement]:
    def condition() -> ColumnElement:
        covered = sa.exists().where(
            ReportedCost.provider == LlmUsage.provider,
            ReportedCost.project.is_not_distinct_from(LlmUsage.project),
            utc_day(ReportedCost.start_time, dialect) == utc_day(LlmUsage.start_time, dialect),
        )
        return sa.or_(LlmUsage.cost_origin != COST_PRICED, ~covered)

    return condition


def litellm_days(dialect: str) -> Select:
    """Select the distinct (provider, UTC day) pairs that have LiteLLM rows."""
    # NOTE: this reads every stored LiteLLM row, whatever the query's period. It runs once per
    # statement that meets a proxied row, which stays cheap until LiteLLM logs reach millions of rows.
    logged = aliased(LlmUsage, name="logged")
    day = utc_day(logged.start_time, dialect)
    return sa.select(logged.provider, day).where(logged.source == LITELLM_SOURCE).distinct()


def proxy_duplicate(table, dialect: str) -> ColumnElement:
    """Return the condition "the row is marked via_proxy and a LiteLLM row of its provider falls
    on its UTC day". `table` is LlmUsage or ToolUsage. The condition is never NULL, so its
    negation keeps every other row.

    The pairs are one uncorrelated subquery, which both databases evaluate once per query
    and only when a marked row comes up.
    """
    key = sa.tuple_(table.provider, utc_day(table.start_time, dialect))
    return sa.and_(table.via_proxy == sa.true(), table.provider.is_not(None), key.in_(litellm_days(dialect)))


def _gpu_host_without_focus() -> ColumnElement:
    focus_hosts = sa.select(CloudCost.id).where(
        CloudCost.cost_kind == "gpu",
        sa.or_(CloudCost.resource_name == GpuUsage.host, CloudCost.resource_id == GpuUsage.host),
    )
    return ~sa.exists(focus_hosts)


def sources(dialect: str) -> list[Source]:
    """Return every cost source, in the order of COST_KINDS."""
    llm_columns = {
        **_dimension_columns(LlmUsage),
        "provider": LlmUsage.provider,
        "model": LlmUsage.model,
        "service_tier": LlmUsage.service_tier,
    }
    reported_columns = {
        **_dimension_columns(ReportedCost),
        "provider": ReportedCost.provider,
        "model": ReportedCost.model,
        "service_tier": ReportedCost.service_tier,
    }
    focus_columns = {
        **_dimension_columns(CloudCost),
        "provider": CloudCost.provider_name,
        "model": CloudCost.model,
    }
    focus_gpu_columns = {**focus_columns, "host": CloudCost.resource_name}
    result = [
        Source("llm", "llm_usage", LlmUsage, LlmUsage.start_time, llm_columns,
               where=_llm_not_reported(dialect), cost=lambda: LlmUsage.cost_usd,
               duplicate=lambda: proxy_duplicate(LlmUsage, dialect)),
        Source("llm", "reported_cost", ReportedCost, ReportedCost.start_time, reported_columns,
               cost=lambda: ReportedCost.amount_usd),
        Source("tools", "tool_usage", ToolUsage, ToolUsage.start_time,
               {**_dimension_columns(ToolUsage), "provider": ToolUsage.provider, "tool": ToolUsage.tool},
               cost=lambda: ToolUsage.cost_usd,
               duplicate=lambda: sa.and_(ToolUsage.tool.in_(TOOLS_IN_PROXY_SPEND), proxy_duplicate(ToolUsage, dialect))),
        Source("gpu", "gpu_usage", GpuUsage, GpuUsage.sampled_at,
               {**_dimension_columns(GpuUsage), "host": GpuUsage.host, "gpu_model": GpuUsage.gpu_model},
               where=_gpu_host_without_focus, rate_based=True),
        Source("review", "outcome", Outcome, Outcome.start_time, _dimension_columns(Outcome),
               cost=lambda: Outcome.review_cost_usd),
    ]
    for kind, focus_kind in FOCUS_KIND.items():
        result.append(
            Source(kind, f"cloud_cost:{focus_kind}", CloudCost, CloudCost.charge_period_start,
                   focus_gpu_columns if kind == "gpu" else focus_columns,
                   where=lambda focus_kind=focus_kind: CloudCost.cost_kind == focus_kind,
                   cost=lambda: CloudCost.billed_cost_usd)
        )
    return result


def kind_has(kind: str, column: str) -> bool:
    """Return whether spend of cost kind `kind` can have a value in `column` (see COLUMN_KINDS)."""
    return kind in COLUMN_KINDS.get(column, COST_KINDS)


def check_names(filters: Mapping[str, Sequence[str]] | None, group_by: Sequence[str]) -> None:
    """Raise UnknownDimension for a filter or grouping name that no source has."""
    for name in [*(filters or {}), *group_by]:
        if name not in GROUPABLE:
            raise UnknownDimension(
                f"unknown dimension {name!r}; use one of: {', '.join(GROUPABLE)}"
            )


def applies(source: Source, filters: Mapping[str, Sequence[str]] | None) -> bool:
    """Return False when a filter names a column this source lacks, so none of its rows match."""
    return all(name in source.columns for name in (filters or {}))


# Above this many values, "column is one of values" binds the values as one JSON array instead
# of one parameter each: a budget check may filter by thousands of tenants, and SQLite accepts
# at most 32,766 bound parameters in a statement.
JSON_LIST_VALUES = 200


class _InJsonList(ColumnElement):
    """The condition "column is one of the strings of a JSON array bound as one parameter"."""

    inherit_cache = True
    type = sa.types.NullType()  # a Boolean type would make SQLite compare the condition with 1
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement), ("values", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnElement, values: Sequence[str]) -> None:
        self.column = column
        self.values = sa.bindparam(None, json.dumps(list(values)), type_=sa.String(), unique=True)


@compiles(_InJsonList, "sqlite")
def _in_json_list_sqlite(element: _InJsonList, compiler, **options) -> str:
    column, values = compiler.process(element.column, **options), compiler.process(element.values, **options)
    return f"{column} IN (SELECT value FROM json_each({values}))"


@compiles(_InJsonList, "postgresql")
def _in_json_list_postgresql(element: _InJsonList, compiler, **options) -> str:
    column, values = compiler.process(element.column, **options), compiler.process(element.values, **options)
    return f"{column} = ANY(ARRAY(SELECT json_array_elements_text(CAST({values} AS json))))"


def matches(column: ColumnElement, values: Sequence[str | None]) -> ColumnElement:
    """Return the condition "column is one of values"; None in values accepts NULL (unallocated)."""
    known = [value for value in values if value is not None]
    condition = _InJsonList(column, known) if len(known) > JSON_LIST_VALUES else column.in_(known)
    if len(known) < len(values):
        condition = sa.or_(condition, column.is_(None))
    return condition


def filtered_select(
    source: Source,
    measures: Sequence[ColumnElement],
    *,
    start: datetime,
    end: datetime,
    filters: Mapping[str, Sequence[str]] | None,
    group_by: Sequence[str],
    hourly: bool,
    dialect: str,
    extra_group: Sequence[ColumnElement] = (),
) -> Select:
    """Build the grouped SELECT of one source: the group columns (g0, g1, …, then "hour"
    when `hourly`), followed by `measures`."""
    group_exprs: list[ColumnElement] = []
    labelled: list[ColumnElement] = []
    for index, name in enumerate(group_by):
        column = source.columns.get(name)
        if column is None:
            labelled.append(sa.literal(None, sa.String).label(f"g{index}"))
        else:
            group_exprs.append(column)
            labelled.append(column.label(f"g{index}"))
    if hourly:
        hour = utc_hour(source.time_column, dialect)
        group_exprs.append(hour)
        labelled.append(hour.label("hour"))

    group_exprs.extend(extra_group)
    query = sa.select(*labelled, *extra_group, *measures).where(
        source.time_column >= start, source.time_column < end
    )
    if source.where is not None:
        query = query.where(source.where())
    if source.duplicate is not None:
        query = query.where(sa.not_(source.duplicate()))
    for name, values in (filters or {}).items():
        query = query.where(matches(source.columns[name], values))
    if group_exprs:
        query = query.group_by(*group_exprs)
    return query
