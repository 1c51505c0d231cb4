"""LiteLLM proxy spend logs as a CSV dump of the `LiteLLM_SpendLogs` table, one row per request.

A retry is a second request of the same job: it shares the job's `session_id` and carries
`"attempted_retries": 1` in `metadata`. A first attempt that hit an API error has status
`failure`, no output tokens and zero spend.
"""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from bot.demo.catalog import EXTRACTION
from bot.demo.ledger import Ledger
from bot.demo.workload import Workload, rng_for

# Column order of the table (the LiteLLM Prisma schema).
COLUMNS = (
    "request_id", "call_type", "api_key", "spend", "total_tokens", "prompt_tokens",
    "completion_tokens", "startTime", "endTime", "request_duration_ms", "completionStartTime",
    "model", "model_id", "model_group", "custom_llm_provider", "api_base", "user", "metadata",
    "cache_hit", "cache_key", "request_tags", "team_id", "organization_id", "end_user",
    "requester_ip_address", "messages", "response", "session_id", "status",
    "mcp_namespaced_tool_name", "agent_id", "proxy_server_request",
)
MODEL_ID = "5b1f0c9e7d3a2b8c4e6f1a0d9c8b7a6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a"
SERVICE_USER = "svc-doc-extraction"
KEY_ALIAS = "doc-extraction-prod"


def _time(moment) -> str:
    """Format like PostgreSQL prints a timestamp(3) without time zone."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def write_litellm(workload: Workload, out_dir: Path, ledger: Ledger) -> list[Path]:
    """Write `litellm/spend_logs.csv` and add its spend to `ledger`."""
    folder = out_dir / "litellm"
    folder.mkdir(parents=True, exist_ok=True)
    rng = rng_for(workload.seed, "litellm-ids")
    api_key = EXTRACTION.keys[0][0]
    path = folder / "spend_logs.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for request in sorted(workload.requests, key=lambda item: item.start):
            end = request.start + timedelta(milliseconds=request.duration_ms)
            spend = round(float(request.list_usd), 9)
            status = "success" if request.succeeded else "failure"
            metadata = {
                "user_api_key_alias": KEY_ALIAS,
                "user_api_key_team_id": EXTRACTION.source_id,
                "attempted_retries": request.attempt,
                "status": status,
            }
            if not request.succeeded:
                metadata["error_information"] = {
                    "error_code": "529",
                    "error_class": "InternalServerError",
                    "llm_provider": "anthropic",
                }
            writer.writerow((
                f"chatcmpl-{UUID(int=rng.getrandbits(128), version=4)}",
                "acompletion",
                api_key,
                repr(spend),
                request.tokens.input + request.tokens.output,
                request.tokens.input,
                request.tokens.output,
                _time(request.start),
                _time(end),
                request.duration_ms,
                _time(end),
                EXTRACTION.model,
                MODEL_ID,
                EXTRACTION.model,
                "anthropic",
                "https://api.anthropic.com/v1/messages",
                SERVICE_USER,
                json.dumps(metadata, separators=(", ", ": ")),
                "False",
                "Cache OFF",
                json.dumps([f"app:{EXTRACTION.name}"]),
                EXTRACTION.source_id,
                "",
                "",
                "10.20.3.14",
                "{}",
                "{}",
                request.job_id,
                status,
                "",
                "",
                "{}",
            ))
            ledger.add(request.start.date(), EXTRACTION.team, EXTRACTION.name, "llm", Decimal(repr(spend)))
    return [path]
