"""Pre-aggregated usage per UTC hour and per UTC day, so cost questions stay fast over
millions of usage rows.

The rollups are derived data: `costbot rollups rebuild` recreates them from the usage
tables, and the importer refreshes the days an import touched. Queries use them only
while `rollup_state` shows they cover every usage row (see bot.queries.rollups). The
user and tenant dimensions are left out, because their many values would leave little to
aggregate; questions about a user or tenant read the usage tables.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

from bot.types import Money, UTCDateTime


class UsageRollup(SQLModel, table=True):
    """Usage of one cost source in one UTC hour or day for one combination of dimension values."""

    __tablename__ = "usage_rollup"
    __table_args__ = (
        Index("ix_usage_rollup_bucket_start", "bucket_seconds", "start_time"),
        Index("ix_usage_rollup_source_bucket_start", "source", "bucket_seconds", "start_time"),
    )

    id: int | None = Field(default=None, primary_key=True)
    start_time: datetime = Field(sa_type=UTCDateTime)
    bucket_seconds: int = Field(default=3600)  # 3600 for an hour row, 86400 for a day row
    # The cost source: llm_usage, reported_cost, tool_usage, gpu_usage, outcome or cloud_cost:<kind>.
    source: str = Field(max_length=30)
    team: str | None = Field(default=None, max_length=200)
    feature: str | None = Field(default=None, max_length=200)
    project: str | None = Field(default=None, max_length=200)
    environment: str | None = Field(default=None, max_length=100)
    provider: str | None = Field(default=None, max_length=200)
    model: str | None = Field(default=None, max_length=200)
    service_tier: str | None = Field(default=None, max_length=30)
    tool: str | None = Field(default=None, max_length=50)
    host: str | None = Field(default=None, max_length=500)
    gpu_model: str | None = Field(default=None, max_length=100)
    # 1 for priced LLM rows whose provider reported its own cost for the same project and day.
    replaced: int = Field(default=0)
    # 1 for provider rows that repeat calls of the LiteLLM logs: counted in neither spend nor
    # traffic, and kept only so the rollups record their dimension values.
    proxied: int = Field(default=0)
    hourly_rate_usd: Decimal | None = Field(default=None, sa_type=Money)
    cost_usd: Decimal = Field(default=Decimal(0), sa_type=Money)
    rows: int = Field(default=0, sa_type=BigInteger)
    unpriced_rows: int = Field(default=0, sa_type=BigInteger)
    seconds: int = Field(default=0, sa_type=BigInteger)
    requests: int = Field(default=0, sa_type=BigInteger)
    input_tokens: int = Field(default=0, sa_type=BigInteger)
    cached_input_tokens: int = Field(default=0, sa_type=BigInteger)
    output_tokens: int = Field(default=0, sa_type=BigInteger)
    retries: int = Field(default=0, sa_type=BigInteger)
    failed_requests: int = Field(default=0, sa_type=BigInteger)


class RollupValue(SQLModel, table=True):
    """One stored value of a dimension or column, so questions can match names without
    scanning the usage tables."""

    __tablename__ = "rollup_value"

    dimension: str = Field(primary_key=True, max_length=30)
    value: str = Field(primary_key=True, max_length=500)


class RollupState(SQLModel, table=True):
    """How far the rollups cover one usage table: its largest row id and row count at the last refresh."""

    __tablename__ = "rollup_state"

    table_name: str = Field(primary_key=True, max_length=50)
    max_id: int = Field(default=0, sa_type=BigInteger)
    row_count: int = Field(default=0, sa_type=BigInteger)
    refreshed_at: datetime = Field(sa_type=UTCDateTime)
