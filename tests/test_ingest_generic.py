"""The outcomes and tools CSVs: documented columns, mapping, re-imports and bad input."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bot.clock import FixedClock
from bot.ingest.base import ImportFailed
from bot.ingest.loader import import_file
from bot.mapping import load_mapping
from bot.models.usage import Outcome, ToolUsage

MAPPING = load_mapping(Path(__file__).parent / "fixtures" / "mapping.yml")
CLOCK = FixedClock(datetime(2026, 12, 1, tzinfo=timezone.utc))
UTC = timezone.utc
D = Decimal

OUTCOMES = """start_time,workflow,succeeded,failed,escalated,review_minutes,review_cost_usd,team,project
2026-11-18,ticket-classifier,940,35,25,120,60.00,,
2026-11-19T00:00:00Z,nightly-enrichment,300,2,0,0,0,,
2026-11-19T14:00:00+02:00,code-review-bot,50,5,3,7.5,3.75,platform,proj_search
"""

TOOLS = """start_time,tool,provider,calls,cost_usd,quantity,quantity_unit,workflow,team
2026-11-19,web_search,openai,1200,12.00,,,semantic-search,search
2026-11-19,vector_store,openai,0,0.30,3.0,GB-day,semantic-search,search
2026-11-19T10:00:00Z,retrieval,pinecone,5000,,,,doc-extraction,
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def run_import(engine: sa.Engine, path: Path, **options):
    return import_file(path, engine=engine, mapping=MAPPING, clock=CLOCK, **options)


def rows_of(engine: sa.Engine, model):
    with Session(engine) as session:
        return list(session.exec(select(model).order_by(model.start_time, model.id)))


def failure(engine: sa.Engine, path: Path, **options) -> list[str]:
    with pytest.raises(ImportFailed) as caught:
        run_import(engine, path, **options)
    return [str(error) for error in caught.value.errors]


def test_outcomes_import(engine: sa.Engine, tmp_path: Path) -> None:
    summary = run_import(engine, write(tmp_path / "outcomes.csv", OUTCOMES))
    assert (summary.format, summary.rows_read, summary.rows_imported) == ("outcomes_csv", 3, 3)
    day, nightly, review = rows_of(engine, Outcome)

    # A date alone is that UTC day, 86400 s; a time without bucket_seconds is a single event (0 s).
    assert (day.start_time, day.bucket_seconds) == (datetime(2026, 11, 18, tzinfo=UTC), 86400)
    assert (nightly.start_time, nightly.bucket_seconds) == (datetime(2026, 11, 19, tzinfo=UTC), 0)
    assert review.start_time == datetime(2026, 11, 19, 12, tzinfo=UTC)  # 14:00+02:00
    # 940 + 300 + 50 = 1290; 35 + 2 + 5 = 42; 25 + 0 + 3 = 28
    assert sum(row.succeeded for row in (day, nightly, review)) == 1290
    assert sum(row.failed for row in (day, nightly, review)) == 42
    assert sum(row.escalated for row in (day, nightly, review)) == 28
    # 120 min = 7200 s; 7.5 min = 450 s
    assert [row.review_seconds for row in (day, nightly, review)] == [7200, 0, 450]
    # 60.00 + 0 + 3.75 = 63.75
    assert sum(row.review_cost_usd for row in (day, nightly, review)) == D("63.75")

    assert (day.feature, day.team) == ("ticket-classifier", None)
    # nightly-enrichment has team data in the mapping's features.
    assert (nightly.feature, nightly.team) == ("nightly-enrichment", "data")
    # The row's own team wins over proj_search's team; the project mapping adds the environment.
    assert (review.feature, review.team, review.project, review.environment) == (
        "code-review-bot", "platform", "proj_search", "prod"
    )


def test_tools_import(engine: sa.Engine, tmp_path: Path) -> None:
    summary = run_import(engine, write(tmp_path / "tools.csv", TOOLS))
    assert (summary.format, summary.rows_imported) == ("tools_csv", 3)
    search, store, retrieval = rows_of(engine, ToolUsage)

    assert (search.tool, search.provider, search.calls, search.cost_usd) == ("web_search", "openai", 1200, D("12.00"))
    assert (store.quantity, store.quantity_unit, store.cost_usd) == (3.0, "GB-day", D("0.30"))
    assert {(row.feature, row.team) for row in (search, store)} == {("semantic-search", "search")}
    assert search.bucket_seconds == 86400
    # An empty cost_usd is an unknown cost, stored as NULL and marked unpriced, never $0.
    assert (retrieval.cost_usd, retrieval.cost_origin) == (None, "unpriced")
    assert {search.cost_origin, store.cost_origin} == {"reported"}
    # 12.00 + 0.30 = 12.30 known; 1200 + 0 + 5000 = 6200 calls
    assert sum(row.cost_usd for row in (search, store)) == D("12.30")
    assert sum(row.calls for row in (search, store, retrieval)) == 6200


def test_reimport_counts_once(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "tools.csv", TOOLS)
    run_import(engine, path)
    again = run_import(engine, path)
    assert (again.rows_imported, again.rows_duplicate) == (0, 3)
    assert len(rows_of(engine, ToolUsage)) == 3


def test_corrected_export_replaces_row(engine: sa.Engine, tmp_path: Path) -> None:
    header = "start_time,workflow,succeeded,failed,escalated,review_minutes,review_cost_usd\n"
    run_import(engine, write(tmp_path / "first.csv", header + "2026-11-18,triage,10,1,0,5,2.50\n"))
    run_import(engine, write(tmp_path / "corrected.csv", header + "2026-11-18,triage,12,1,0,6,3.00\n"))
    # Same day and workflow: the later file's counts replace the earlier ones.
    [row] = rows_of(engine, Outcome)
    assert (row.succeeded, row.review_seconds, row.review_cost_usd) == (12, 360, D("3.00"))


def test_bom_and_crlf_accepted(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(
        b"\xef\xbb\xbfstart_time,tool,provider,calls,cost_usd\r\n2026-11-19,file_search,openai,40,0.10\r\n"
    )
    run_import(engine, path)
    [row] = rows_of(engine, ToolUsage)
    assert (row.tool, row.calls, row.cost_usd) == ("file_search", 40, D("0.10"))


OUTCOME_HEADER = "start_time,workflow,succeeded,failed,escalated,review_minutes,review_cost_usd\n"
GOOD_OUTCOME = "2026-11-18,triage,10,1,0,5,2.50\n"


def outcome_bad_cases() -> list[tuple[str, str, str]]:
    return [
        ("negative", "2026-11-19,triage,-3,1,0,5,2.50", "succeeded: '-3': negative value; expected zero or more"),
        ("fraction", "2026-11-19,triage,2.5,1,0,5,2.50", "succeeded: '2.5': not a whole number; write digits only, such as 12"),
        ("words", "2026-11-19,triage,ten,1,0,5,2.50",
         "succeeded: 'ten': not a whole number; write digits only, such as 12"),
        ("null", "2026-11-19,triage,null,1,0,5,2.50", "succeeded: 'null': missing value"),
        ("no_workflow", "2026-11-19,,10,1,0,5,2.50", "workflow: '': missing value"),
        ("naive_time", "2026-11-19 10:00:00,triage,10,1,0,5,2.50",
         "start_time: '2026-11-19 10:00:00': time without a zone; add Z or an offset such as +01:00"),
        ("us_date", "11/19/26,triage,10,1,0,5,2.50",
         "start_time: '11/19/26': unknown time format; expected RFC 3339 such as 2026-11-19T14:00:00Z "
         "or a date YYYY-MM-DD"),
        ("bad_date", "2026-02-30,triage,10,1,0,5,2.50",
         "start_time: '2026-02-30': invalid date (day is out of range for month); expected YYYY-MM-DD"),
        ("negative_cost", "2026-11-19,triage,10,1,0,5,-2.50",
         "review_cost_usd: '-2.50': negative amount; expected zero or more"),
        ("negative_minutes", "2026-11-19,triage,10,1,0,-5,2.50",
         "review_minutes: '-5': negative value; expected zero or more"),
        ("extra_value", "2026-11-19,triage,10,1,0,5,2.50,x",
         "row: '2026-11-19,triage,10,1,0,5,2.50,x': 8 values but the header has 7 columns; check for a missing "
         "or extra comma or an unquoted value"),
    ]


@pytest.mark.parametrize(("name", "line", "expected"), outcome_bad_cases(), ids=[case[0] for case in outcome_bad_cases()])
def test_outcome_bad_row(engine: sa.Engine, tmp_path: Path, name: str, line: str, expected: str) -> None:
    path = write(tmp_path / f"{name}.csv", OUTCOME_HEADER + GOOD_OUTCOME + line + "\n")
    assert failure(engine, path) == [f"{path}:3: {expected}"]
    assert rows_of(engine, Outcome) == []


def test_tool_bad_rows(engine: sa.Engine, tmp_path: Path) -> None:
    text = (
        "start_time,tool,provider,calls,cost_usd,bucket_seconds\n"
        "2026-11-19,web_search,openai,3,0.03,\n"
        "2026-11-19,websearch,openai,3,0.03,\n"
        "2026-11-19,web_search,openai,3,0.03,-60\n"
        "2026-11-19,web_search,openai,3,$0.0x3,\n"
    )
    path = write(tmp_path / "tools.csv", text)
    assert failure(engine, path) == [
        f"{path}:3: tool: 'websearch': unknown tool; expected one of web_search, file_search, retrieval, "
        "vector_store, storage, code_interpreter, other",
        f"{path}:4: bucket_seconds: '-60': negative value; expected zero or more",
        f"{path}:5: cost_usd: '$0.0x3': not a number; write digits with a dot for decimals, such as 12.50",
    ]
    assert rows_of(engine, ToolUsage) == []


def test_outcome_row_reports_every_bad_field(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "outcomes.csv", OUTCOME_HEADER + GOOD_OUTCOME + "2026-11-19,triage,ten,1,0,5,-1\n")
    assert failure(engine, path) == [
        f"{path}:3: succeeded: 'ten': not a whole number; write digits only, such as 12",
        f"{path}:3: review_cost_usd: '-1': negative amount; expected zero or more",
    ]
    assert rows_of(engine, Outcome) == []


def test_tool_row_reports_every_bad_field(engine: sa.Engine, tmp_path: Path) -> None:
    text = "start_time,tool,provider,calls,cost_usd\n11/19/26,websearch,openai,3.5,\n"
    path = write(tmp_path / "tools.csv", text)
    assert failure(engine, path) == [
        f"{path}:2: start_time: '11/19/26': unknown time format; expected RFC 3339 such as 2026-11-19T14:00:00Z "
        "or a date YYYY-MM-DD",
        f"{path}:2: tool: 'websearch': unknown tool; expected one of web_search, file_search, retrieval, "
        "vector_store, storage, code_interpreter, other",
        f"{path}:2: calls: '3.5': not a whole number; write digits only, such as 12",
    ]


def test_bad_fields_count_toward_error_limit(engine: sa.Engine, tmp_path: Path) -> None:
    # Two rows with two bad fields each are 4 errors. A limit of 3 shows the first 3 and a line that reading stopped.
    rows = "2026-11-19,triage,ten,1,0,5,-1\n" * 2
    path = write(tmp_path / "outcomes.csv", OUTCOME_HEADER + rows)
    assert failure(engine, path, max_errors=3) == [
        f"{path}:2: succeeded: 'ten': not a whole number; write digits only, such as 12",
        f"{path}:2: review_cost_usd: '-1': negative amount; expected zero or more",
        f"{path}:3: succeeded: 'ten': not a whole number; write digits only, such as 12",
        f"{path}: errors: 3: stopped after 3 errors",
    ]


def test_skip_bad_rows_joins_reasons(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "outcomes.csv", OUTCOME_HEADER + GOOD_OUTCOME + "2026-11-19,triage,ten,1,0,5,-1\n")
    summary = run_import(engine, path, skip_bad_rows=True)
    assert (summary.rows_read, summary.rows_imported, summary.rows_rejected) == (2, 1, 1)
    with open(summary.rejects_path, newline="", encoding="utf-8") as stream:
        rejects = list(csv.DictReader(stream))
    assert len(rejects) == 1  # one line for the row, not one per bad field
    assert rejects[0]["line"] == "3"
    assert rejects[0]["field"] == "succeeded | review_cost_usd"
    assert rejects[0]["value"] == "ten | -1"
    assert rejects[0]["error"] == (
        "not a whole number; write digits only, such as 12 | negative amount; expected zero or more"
    )
    assert json.loads(rejects[0]["row"])["succeeded"] == "ten"


def test_skip_bad_rows(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "outcomes.csv", OUTCOME_HEADER + GOOD_OUTCOME + "2026-11-19,triage,-1,0,0,0,0\n")
    summary = run_import(engine, path, skip_bad_rows=True)
    assert (summary.rows_imported, summary.rows_rejected) == (1, 1)
    assert summary.rejects_path.read_text(encoding="utf-8").splitlines()[1].startswith(
        "3,succeeded,-1,negative value; expected zero or more,"
    )
    assert [row.succeeded for row in rows_of(engine, Outcome)] == [10]


def test_missing_required_column(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "no_cost.csv", "start_time,tool,provider,calls\n2026-11-19,web_search,openai,3\n")
    assert failure(engine, path, format_name="tools_csv") == [
        f"{path}:1: cost_usd: '': missing required column of the tools CSV; the header has: "
        "start_time, tool, provider, calls"
    ]


def test_unknown_column(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "typo.csv", OUTCOME_HEADER.rstrip("\n") + ",tenat\n" + GOOD_OUTCOME.rstrip("\n") + ",acme\n")
    assert failure(engine, path) == [
        f"{path}:1: tenat: 'tenat': unknown column of the outcomes CSV (did you mean \"tenant\"?); "
        "expected start_time, workflow, succeeded, "
        "failed, escalated, review_minutes, review_cost_usd and optionally bucket_seconds, team, tenant, user, "
        "project, environment"
    ]
    assert rows_of(engine, Outcome) == []


def test_wrong_delimiter(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "semi.csv", OUTCOME_HEADER.replace(",", ";") + GOOD_OUTCOME.replace(",", ";"))
    assert failure(engine, path, format_name="outcomes_csv") == [
        f"{path}:1: header: 'start_time;workflow;succeeded;failed;escalated;review_minutes;review_cost_usd': "
        "columns are separated by ';', not commas; export the outcomes CSV as comma-separated CSV"
    ]


def test_empty_file(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "empty.csv", "\n\n")
    assert failure(engine, path, format_name="outcomes_csv") == [
        f"{path}:1: file: '': the file is empty; export it again with data"
    ]


def test_latin1_file(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((OUTCOME_HEADER + "2026-11-19,r\u00e9sum\u00e9s,1,0,0,0,0\n").encode("latin-1"))
    assert failure(engine, path) == [
        f"{path}:2: encoding: b'\\xe9': not valid UTF-8 (the file may be Latin-1 or Windows-1252); "
        "save it as UTF-8 and import it again"
    ]


def test_header_only_imports_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    summary = run_import(engine, write(tmp_path / "header.csv", OUTCOME_HEADER))
    assert (summary.rows_read, summary.rows_imported) == (0, 0)
