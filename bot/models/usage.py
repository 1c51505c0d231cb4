"""Usage tables, one per kind of cost. Each row is an imported fact with its provenance."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.models.base import Bucket, Dimensions, Imported
from bot.types import Money, UTCDateTime

# How a row's cost_usd was obtained.
COST_REPORTED = "reported"  # the source stated the amount
COST_PRICED = "priced"  # computed here from tokens and the price list
COST_UNPRICED = "unpriced"  # no price known; cost_usd is NULL, never $0

SERVICE_TIERS = ("standard", "batch", "flex", "priority")


class LlmUsage(Imported, Bucket, Dimensions, table=True):
    """Model calls: tokens, requests, retries and failures per bucket, provider and model."""

    __tablename__ = "llm_usage"
    __table_args__ = (UniqueConstraint("source", "natural_key", name="uq_llm_usage_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=50, index=True)
    model: str | None = Field(default=None, max_length=200, index=True)
    service_tier: str = Field(default="standard", max_length=30)
    operation: str = Field(default="completions", max_length=50)
    api_key_id: str | None = Field(default=None, max_length=200)
    requests: int = Field(default=0, ge=0)
    input_tokens: int = Field(default=0, ge=0)  # all input tokens, cached ones included
    cached_input_tokens: int = Field(default=0, ge=0)
    cache_write_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    retries: int = Field(default=0, ge=0)
    failed_requests: int = Field(default=0, ge=0)
    total_latency_ms: int | None = Field(default=None, ge=0)  # summed over the requests
    cost_usd: Decimal | None = Field(default=None, sa_type=Money)
    cost_origin: str = Field(default=COST_UNPRICED, max_length=20)
    # True on a provider usage report's row whose API key or project the mapping declares
    # `via: litellm`: the same calls may be in the LiteLLM logs (see bot.queries.sources).
    via_proxy: bool = Field(default=False)


class ReportedCost(Imported, Bucket, Dimensions, table=True):
    """Provider-stated cost lines (OpenAI Costs API, Anthropic cost report)."""

    __tablename__ = "reported_cost"
    __table_args__ = (UniqueConstraint("source", "natural_key", name="uq_reported_cost_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=50, index=True)
    line_item: str | None = Field(default=None, max_length=300)
    model: str | None = Field(default=None, max_length=200)
    service_tier: str | None = Field(default=None, max_length=30)
    cost_type: str | None = Field(default=None, max_length=50)
    amount_usd: Decimal = Field(sa_type=Money)


class ToolUsage(Imported, Bucket, Dimensions, table=True):
    """Tool calls: web search, file search and retrieval, vector stores, storage, code execution."""

    __tablename__ = "tool_usage"
    __table_args__ = (UniqueConstraint("source", "natural_key", name="uq_tool_usage_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str | None = Field(default=None, max_length=50)
    tool: str = Field(max_length=50, index=True)
    calls: int = Field(default=0, ge=0)
    quantity: float | None = Field(default=None)
    quantity_unit: str | None = Field(default=None, max_length=50)
    cost_usd: Decimal | None = Field(default=None, sa_type=Money)
    cost_origin: str = Field(default=COST_UNPRICED, max_length=20)
    # Set like LlmUsage.via_proxy, on tool rows of a provider usage report.
    via_proxy: bool = Field(default=False)


class GpuUsage(Imported, Dimensions, table=True):
    """GPU samples: one GPU on one host at one time, covering `interval_seconds`."""

    __tablename__ = "gpu_usage"
    __table_args__ = (UniqueConstraint("source", "natural_key", name="uq_gpu_usage_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    sampled_at: datetime = Field(sa_type=UTCDateTime, index=True)
    interval_seconds: int = Field(default=60, gt=0)
    host: str = Field(max_length=200, index=True)
    gpu_index: int | None = Field(default=None, ge=0)
    gpu_uuid: str | None = Field(default=None, max_length=100)
    gpu_model: str = Field(max_length=100)  # normalised class: A100, H100, L4, … or the raw name
    gpu_name: str | None = Field(default=None, max_length=200)  # as the tool printed it
    utilization_pct: float | None = Field(default=None, ge=0, le=100)
    memory_used_mib: float | None = Field(default=None, ge=0)
    memory_total_mib: float | None = Field(default=None, ge=0)
    power_w: float | None = Field(default=None, ge=0)
    hourly_rate_usd: Decimal | None = Field(default=None, sa_type=Money)


class Outcome(Imported, Bucket, Dimensions, table=True):
    """Workflow runs and their results, with the human review they needed."""

    __tablename__ = "outcome"
    __table_args__ = (UniqueConstraint("source", "natural_key", name="uq_outcome_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    succeeded: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0)
    escalated: int = Field(default=0, ge=0)
    review_seconds: int = Field(default=0, ge=0)
    review_cost_usd: Decimal = Field(default=Decimal(0), sa_type=Money)


class CloudCost(Imported, Dimensions, table=True):
    """A FinOps FOCUS cost row (rented GPU instances, vector stores, AI token billing, …)."""

    __tablename__ = "cloud_cost"
    __table_args__ = (UniqueConstraint("source", "natural_key", name="uq_cloud_cost_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    charge_period_start: datetime = Field(sa_type=UTCDateTime, index=True)
    charge_period_end: datetime = Field(sa_type=UTCDateTime)
    billed_cost_usd: Decimal = Field(sa_type=Money)
    effective_cost_usd: Decimal | None = Field(default=None, sa_type=Money)
    list_cost_usd: Decimal | None = Field(default=None, sa_type=Money)
    billing_currency: str = Field(default="USD", max_length=10)
    # What the row pays for, as costbot reports it: llm, tool, gpu or other.
    cost_kind: str = Field(default="other", max_length=20, index=True)
    provider_name: str | None = Field(default=None, max_length=200)
    service_name: str | None = Field(default=None, max_length=200)
    service_category: str | None = Field(default=None, max_length=100)
    charge_category: str | None = Field(default=None, max_length=50)
    charge_description: str | None = Field(default=None, max_length=1000)
    resource_id: str | None = Field(default=None, max_length=500)
    resource_name: str | None = Field(default=None, max_length=500)
    resource_type: str | None = Field(default=None, max_length=200)
    sku_id: str | None = Field(default=None, max_length=200)
    region_id: str | None = Field(default=None, max_length=100)
    sub_account_id: str | None = Field(default=None, max_length=200)
    consumed_quantity: float | None = Field(default=None)
    consumed_unit: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=200)
    token_direction: str | None = Field(default=None, max_length=50)
    tags: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class ImportRun(SQLModel, table=True):
    """One `costbot import` of one file, with its counts."""

    __tablename__ = "import_run"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    path: str = Field(max_length=1000)
    format: str = Field(max_length=50)
    rows_read: int = 0
    rows_imported: int = 0
    rows_duplicate: int = 0
    rows_rejected: int = 0
    status: str = Field(default="running", max_length=20)  # running, done, failed


class ImportSeries(SQLModel, table=True):
    """A series one import wrote: the rows of one table, source and scope (the operation of LLM
    rows, the tool of tool rows) at one bucket width and grouping, over the time the export's
    buckets cover. Imports compare their series with these to find one usage exported twice
    at another width or grouping (`bot.ingest.overlap`)."""

    __tablename__ = "import_series"
    __table_args__ = (Index("ix_import_series_table_source_scope", "table_name", "source", "scope", "start_time"),)

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = Field(foreign_key="import_run.id", index=True)
    table_name: str = Field(max_length=50)
    source: str = Field(max_length=50)
    scope: str = Field(max_length=100)
    bucket_width: int  # seconds: 60, 3600 or 86400
    group_fields: str = Field(max_length=500)  # the group-by fields with a value, sorted, comma-separated
    overlap: str = Field(default="fail", max_length=10)  # the import's --overlap policy
    start_time: datetime = Field(sa_type=UTCDateTime)
    end_time: datetime = Field(sa_type=UTCDateTime)
