"""The generic CSVs: workflow outcomes with review labor, and tool calls with their cost."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from bot.demo.catalog import DIGEST, DRAFTS, EXTRACTION
from bot.demo.ledger import Ledger
from bot.demo.workload import Workload, rng_for

OUTCOME_COLUMNS = ("start_time", "workflow", "succeeded", "failed", "escalated", "review_minutes",
                   "review_cost_usd", "team")
TOOL_COLUMNS = ("start_time", "tool", "provider", "calls", "cost_usd", "quantity", "quantity_unit",
                "workflow", "team")
WEB_SEARCH_USD = Decimal("0.010")  # per call
RERANK_USD = Decimal("0.002")  # per search
S3_GB_MONTH_USD = Decimal("0.023")
CENT = Decimal("0.01")


def write_outcomes(workload: Workload, out_dir: Path, ledger: Ledger) -> list[Path]:
    """Write `outcomes.csv`: one row per workflow and UTC day; add review labor to `ledger`."""
    path = out_dir / "outcomes.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(OUTCOME_COLUMNS)
        for outcome in workload.outcomes:
            feature = outcome.feature
            writer.writerow((outcome.day.isoformat(), feature.name, outcome.succeeded, outcome.failed,
                             outcome.escalated, outcome.review_minutes, outcome.review_usd, feature.team))
            if outcome.review_usd:
                ledger.add(outcome.day, feature.team, feature.name, "review", outcome.review_usd)
    return [path]


def write_tools(workload: Workload, out_dir: Path, ledger: Ledger) -> list[Path]:
    """Write `tools.csv`: daily web searches, reranking calls and document storage."""
    rng = rng_for(workload.seed, "tools")
    runs = {(outcome.day, outcome.feature.name): outcome.succeeded + outcome.failed + outcome.escalated
            for outcome in workload.outcomes}
    path = out_dir / "tools.csv"
    stored_gb = Decimal("480")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(TOOL_COLUMNS)
        for day in workload.days:
            searches = round(runs[(day, DIGEST.name)] * 0.08 * rng.uniform(0.9, 1.1))
            rerank = round(runs[(day, DRAFTS.name)] * rng.uniform(0.97, 1.03))
            stored_gb += Decimal(str(round(runs[(day, EXTRACTION.name)] * 0.012, 2)))
            rows = (
                ("web_search", "openai", searches, (searches * WEB_SEARCH_USD).quantize(CENT), "", "", DIGEST),
                ("retrieval", "cohere", rerank, (rerank * RERANK_USD).quantize(CENT), "", "", DRAFTS),
                ("storage", "aws", 0, (stored_gb * S3_GB_MONTH_USD / 30).quantize(CENT), stored_gb, "GB",
                 EXTRACTION),
            )
            for tool, provider, calls, cost, quantity, unit, feature in rows:
                writer.writerow((day.isoformat(), tool, provider, calls, cost, quantity, unit, feature.name,
                                 feature.team))
                ledger.add(day, feature.team, feature.name, "tools", cost)
    return [path]
