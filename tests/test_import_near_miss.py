"""Files with a misspelt or missing required column: the errors name it and a similar column."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bot.ingest import focus, litellm
from bot.ingest.base import ImportFailed
from bot.ingest.fields import closest_name
from bot.ingest.loader import import_file

SAMPLES = Path(__file__).resolve().parent / "fixtures" / "formats"



def _import_errors(engine, tmp_path: Path, name: str, text: str, format_name: str) -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        import_file(path, engine=engine, format_name=format_name)
    return [str(error) for error in caught.value.errors]


def test_focus_spec_column_not_suggested(engine, tmp_path):
    # ChargeFrequency is a FOCUS column of its own, however close it is to ChargePeriodEnd.
    text = "BilledCost,ChargePeriodStart,ChargeFrequency\n1.00,2026-11-19,Usage-Based\n"
    errors = _import_errors(engine, tmp_path, "focus.csv", text, "focus")
    assert errors == [
        f"{tmp_path}/focus.csv:1: ChargePeriodEnd: '': missing required column of the FOCUS export; "
        "the header has: BilledCost, ChargePeriodStart, ChargeFrequency"
    ]


def test_format_option_names_each_near_miss(engine, tmp_path):
    header = "start_time,workflow,succeeded,faild,escalations,review_minutes,review_cost_usd"
    errors = _import_errors(engine, tmp_path, "outcomes.csv", f"{header}\n", "outcomes_csv")
    assert errors == [
        f"{tmp_path}/outcomes.csv:1: failed: 'faild': missing required column of the outcomes CSV; "
        'found "faild" (did you mean "failed"?); rename it in the header',
        f"{tmp_path}/outcomes.csv:1: escalated: 'escalations': missing required column of the outcomes CSV; "
        'found "escalations" (did you mean "escalated"?); rename it in the header',
    ]


def test_format_option_lists_missing_columns(engine, tmp_path):
    errors = _import_errors(engine, tmp_path, "notes.csv", "start_time,note\n2026-11-19,x\n", "tools_csv")
    assert errors == [
        f"{tmp_path}/notes.csv:1: header: 'start_time,note': missing required columns of the tools CSV: "
        "tool, provider, calls, cost_usd; the header has: start_time, note"
    ]


def test_format_option_litellm_csv_case(engine, tmp_path):
    header = "request_id,StartTime,model,spend,prompt_tokens,completion_tokens"
    errors = _import_errors(engine, tmp_path, "spend.csv", f"{header}\n", "litellm_csv")
    assert errors == [
        f"{tmp_path}/spend.csv:1: startTime: 'StartTime': missing required column of the LiteLLM spend log CSV; "
        'found "StartTime" (did you mean "startTime"?); rename it in the header'
    ]


def test_format_option_litellm_json_row(engine, tmp_path):
    row = {"request_id": "r1", "start_time": "2026-11-19T10:00:00Z", "model": "gpt-4o", "spend": 0.01,
           "prompt_tokens": 100, "completion_tokens": 20}
    errors = _import_errors(engine, tmp_path, "spend.json", json.dumps([row]) + "\n", "litellm_json")
    assert errors == [
        f'{tmp_path}/spend.json:1: startTime: None: key "startTime" is missing; '
        'found "start_time" (did you mean "startTime"?)'
    ]


def test_tools_unknown_column_suggests_dimension(engine, tmp_path):
    text = "start_time,tool,provider,calls,cost_usd,team_id\n2026-11-19,web_search,openai,3,0.03,search\n"
    errors = _import_errors(engine, tmp_path, "tools.csv", text, "tools_csv")
    assert errors == [
        f"{tmp_path}/tools.csv:1: team_id: 'team_id': unknown column of the tools CSV (did you mean \"team\"?); "
        "expected start_time, tool, provider, calls, cost_usd and optionally quantity, quantity_unit, "
        "bucket_seconds, workflow, team, tenant, user, project, environment"
    ]


@pytest.mark.parametrize(
    ("name", "candidates", "expected"),
    [
        ("succeeded", ["succeded", "notes"], "succeded"),
        ("team", ["team_id"], "team_id"),
        ("calls", ["tool_calls"], None),
        ("request_id", ["id"], None),
        ("model", ["model_name", "modle"], "modle"),
    ],
)
def test_closest_name_cutoff(name, candidates, expected):
    assert closest_name(name, candidates) == expected


def test_known_columns_cover_published_lists():
    # A column of the published lists must never be offered as a misspelt required column.
    with open(SAMPLES / "focus" / "focus_columns_v1.0_v1.1_v1.2.csv", encoding="utf-8") as stream:
        focus_columns = {row["column_id"] for row in csv.DictReader(stream)}
    assert focus_columns - focus.SPEC_COLUMNS == set()
    with open(SAMPLES / "litellm" / "LiteLLM_SpendLogs.columns.csv", encoding="utf-8") as stream:
        litellm_columns = {row["column"] for row in csv.DictReader(stream)}
    assert litellm_columns - litellm.OPTIONAL_COLUMNS - set(litellm.REQUIRED_COLUMNS) == set()
