"""Fields shared by the usage tables: where a row came from and who it is allocated to."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from bot.types import UTCDateTime

# The allocation dimensions, in the order reports list them. `feature` is the feature or
# workflow a cost belongs to; cost per success is computed per feature.
DIMENSIONS = ("team", "feature", "tenant", "user", "project", "environment")


class Dimensions(SQLModel):
    """Allocation dimensions; any of them may be unknown (NULL) when the source lacks it."""

    team: str | None = Field(default=None, index=True, max_length=200)
    feature: str | None = Field(default=None, index=True, max_length=200)
    tenant: str | None = Field(default=None, max_length=200)
    user: str | None = Field(default=None, max_length=200)
    project: str | None = Field(default=None, max_length=200)
    environment: str | None = Field(default=None, max_length=100)


class Imported(SQLModel):
    """Provenance of an imported row.

    `natural_key` identifies the usage within its source (for example bucket start, project,
    model and tier), so re-importing a file or an overlapping export updates the row instead
    of adding a second one.
    """

    source: str = Field(max_length=50)
    natural_key: str = Field(max_length=500)
    import_id: int | None = Field(default=None, foreign_key="import_run.id", index=True)


class Bucket(SQLModel):
    """A time bucket: its UTC start and its width in seconds (3600, 86400, or 0 for one event)."""

    start_time: datetime = Field(sa_type=UTCDateTime, index=True)
    bucket_seconds: int = Field(default=0, ge=0)
