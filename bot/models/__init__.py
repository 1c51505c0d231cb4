"""All SQLModel tables; importing this package registers them on `SQLModel.metadata`."""

from bot.models.base import DIMENSIONS
from bot.models.rollups import RollupState, RollupValue, UsageRollup
from bot.models.operations import BudgetAlert, BudgetSnooze, Finding, JobLease, OutboxMessage, SlackEventSeen
from bot.models.usage import (
    COST_PRICED,
    COST_REPORTED,
    COST_UNPRICED,
    SERVICE_TIERS,
    CloudCost,
    GpuUsage,
    ImportRun,
    ImportSeries,
    LlmUsage,
    Outcome,
    ReportedCost,
    ToolUsage,
)

__all__ = [
    "DIMENSIONS",
    "COST_PRICED",
    "COST_REPORTED",
    "COST_UNPRICED",
    "SERVICE_TIERS",
    "BudgetAlert",
    "BudgetSnooze",
    "CloudCost",
    "Finding",
    "GpuUsage",
    "ImportRun",
    "ImportSeries",
    "JobLease",
    "LlmUsage",
    "Outcome",
    "OutboxMessage",
    "ReportedCost",
    "RollupState",
    "RollupValue",
    "SlackEventSeen",
    "ToolUsage",
    "UsageRollup",
]
