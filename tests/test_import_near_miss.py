"""Files with a misspelt or missing required column: detection names the closest format and the fix."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bot.ingest import focus, litellm
from bot.ingest.base import ImportFailed
from bot.ingest.detect import choose_format
from bot.ingest.fields import closest_name
from bot.ingest.loader import import_file

SAMPLES = Path(__file__).resolve().parent / "fixtures" / "formats"

ALL_FORMATS = (
    "anthropic_costs", "anthropic_usage", "dcgm", "focus", "litellm_csv", "litellm_json", "nvidia_smi",
    "openai_costs", "openai_usage", "outcomes_csv", "tools_csv",
)  # fmt: skip
OUTCOME_COLUMNS = "start_time, workflow, succeeded, failed, escalated, review_minutes, review_cost_usd"
LITELLM_COLUMNS = "request_id, startTime, model, spend, prompt_tokens, completion_tokens"


def _others(name: str) -> str:
    return ", ".join(format_name for format_name in ALL_FORMATS if format_name != name)


def _detection_error(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        choose_format(path, path.read_bytes(), None)
    [error] = caught.value.errors
    return str(error)


def _import_errors(engine, tmp_path: Path, name: str, text: str, format_name: str) -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        import_file(path, engine=engine, format_name=format_name)
    return [str(error) for error in caught.value.errors]


def test_outcomes_typo_names_column(tmp_path):
    header = "start_time,workflow,succeded,failed,escalated,review_minutes,review_cost_usd"
    error = _detection_error(tmp_path, "outcomes.csv", f"{header}\n2026-11-18,triage,9,1,0,5,2.50\n")
    assert error == (
        f"{tmp_path}/outcomes.csv:1: format: '{header[:60]}': looks like the outcomes CSV (outcomes_csv), "
        'but column "succeeded" is missing; found "succeded" (did you mean "succeeded"?). '
        f"Columns it needs: {OUTCOME_COLUMNS}. If the file is in that format, rename the column; "
        f"otherwise pass --format with its format: {_others('outcomes_csv')}"
    )


def test_outcomes_plural_typo_suggested(tmp_path):
    header = "start_time,workflow,sucesses,failed,escalated,review_minutes,review_cost_usd"
    error = _detection_error(tmp_path, "outcomes.csv", f"{header}\n")
    assert 'column "succeeded" is missing; found "sucesses" (did you mean "succeeded"?).' in error


def test_outcomes_renamed_and_absent(tmp_path):
    header = "start_time,workflow,succeeded,faild,review_minutes,review_cost_usd,team"
    error = _detection_error(tmp_path, "outcomes.csv", f"{header}\n")
    assert (
        'looks like the outcomes CSV (outcomes_csv), but columns "failed" and "escalated" are missing; '
        'found "faild" (did you mean "failed"?). '
        f"Columns it needs: {OUTCOME_COLUMNS}. If the file is in that format, rename or add the columns;"
    ) in error


def test_tools_typo_names_column(tmp_path):
    header = "start_time,tool,provider,cals,cost_usd"
    error = _detection_error(tmp_path, "tools.csv", f"{header}\n2026-11-19,web_search,openai,1200,12.00\n")
    assert error == (
        f"{tmp_path}/tools.csv:1: format: '{header}': looks like the tools CSV (tools_csv), "
        'but column "calls" is missing; found "cals" (did you mean "calls"?). '
        "Columns it needs: start_time, tool, provider, calls, cost_usd. "
        f"If the file is in that format, rename the column; otherwise pass --format with its format: {_others('tools_csv')}"
    )


def test_litellm_csv_typo_names_column(tmp_path):
    header = "request_id,call_type,startTime,model,spent,prompt_tokens,completion_tokens,team_id"
    error = _detection_error(tmp_path, "spend.csv", f"{header}\n")
    assert error == (
        f"{tmp_path}/spend.csv:1: format: '{header[:60]}': looks like the LiteLLM spend log CSV (litellm_csv), "
        'but column "spend" is missing; found "spent" (did you mean "spend"?). '
        f"Columns it needs: {LITELLM_COLUMNS}. If the file is in that format, rename the column; "
        f"otherwise pass --format with its format: {_others('litellm_csv')}"
    )


def test_focus_typo_names_column(tmp_path):
    header = "ChargePeriodStart,ChargePeriodEnd,BiledCost,BillingCurrency"
    error = _detection_error(tmp_path, "focus.csv", f"{header}\n2026-11-19,2026-11-20,1.00,USD\n")
    assert error == (
        f"{tmp_path}/focus.csv:1: format: '{header[:60]}': looks like the FOCUS export (focus), "
        'but column "BilledCost" is missing; found "BiledCost" (did you mean "BilledCost"?). '
        "Columns it needs: ChargePeriodStart, ChargePeriodEnd, BilledCost. "
        f"If the file is in that format, rename the column; otherwise pass --format with its format: {_others('focus')}"
    )


def test_focus_spec_column_not_suggested(engine, tmp_path):
    # ChargeFrequency is a FOCUS column of its own, however close it is to ChargePeriodEnd.
    text = "BilledCost,ChargePeriodStart,ChargeFrequency\n1.00,2026-11-19,Usage-Based\n"
    errors = _import_errors(engine, tmp_path, "focus.csv", text, "focus")
    assert errors == [
        f"{tmp_path}/focus.csv:1: ChargePeriodEnd: '': missing required column of the FOCUS export; "
        "the header has: BilledCost, ChargePeriodStart, ChargeFrequency"
    ]


def test_litellm_json_key_names_key(tmp_path):
    row = {"request_id": "r1", "start_time": "2026-11-19T10:00:00Z", "model": "gpt-4o", "spend": 0.01,
           "prompt_tokens": 100, "completion_tokens": 20}
    error = _detection_error(tmp_path, "spend.json", json.dumps([row]) + "\n")
    assert error.endswith(
        ': looks like the LiteLLM spend log JSON (litellm_json), but key "startTime" is missing; '
        'found "start_time" (did you mean "startTime"?). '
        f"Keys it needs: {LITELLM_COLUMNS}. If the file is in that format, rename the key; "
        f"otherwise pass --format with its format: {_others('litellm_json')}"
    )


def test_anthropic_usage_key_names_key(tmp_path):
    page = {"data": [{"starting_at": "2026-11-19T00:00:00Z", "ending_at": "2026-11-20T00:00:00Z", "results": [
        {"uncached_input": 10, "output_tokens": 5, "model": "claude-sonnet-4-5"}]}], "has_more": False}
    error = _detection_error(tmp_path, "usage.json", json.dumps(page))
    assert (
        ': looks like the Anthropic usage report (anthropic_usage), but key "uncached_input_tokens" is missing; '
        'found "uncached_input" (did you mean "uncached_input_tokens"?). '
        "Keys it needs: starting_at, ending_at, results, uncached_input_tokens, output_tokens."
    ) in error


def test_few_columns_keep_plain_message(tmp_path):
    # Three of the outcomes CSV's seven columns are too few to name that format.
    error = _detection_error(tmp_path, "notes.csv", "start_time,workflow,failed,notes\n")
    assert error == (
        f"{tmp_path}/notes.csv:1: format: 'start_time,workflow,failed,notes': format not recognised: not a "
        f"usage, cost or GPU export that costbot reads; pass --format with one of: {', '.join(ALL_FORMATS)}"
    )


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
