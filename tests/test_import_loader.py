"""The import loader and `costbot import`: bad input, all-or-nothing, rejects file, summary."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel
from typer.testing import CliRunner

from bot.ingest.base import ImportFailed
from bot.ingest.loader import import_file
from bot.models.usage import ImportRun, LlmUsage

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLES = Path(__file__).resolve().parent / "fixtures" / "formats"
CSV_LINES = (FIXTURES / "litellm_spend_logs.csv").read_text().splitlines()
HEADER = CSV_LINES[0]
ROW = CSV_LINES[2]  # chatcmpl-9f1c2d02: claude-haiku-4-5, spend 0.0031, 2000 prompt and 220 completion tokens


def _rows_written(engine) -> int:
    """Count rows in every table, import runs included."""
    with engine.connect() as connection:
        return sum(
            connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        )


def _errors(path: Path, engine, **options) -> list[str]:
    with pytest.raises(ImportFailed) as caught:
        import_file(path, engine=engine, **options)
    return [str(error) for error in caught.value.errors]


def _write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


BAD_CSV_CASES = [
    # (case, file content, expected error at line 2 unless the header is wrong)
    ("null string", ROW.replace(",0.0031,", ",null,"), "2: spend: 'null': missing; expected a decimal number"),
    ("negative tokens", ROW.replace(",2000,220,", ",-5,220,"), "2: prompt_tokens: '-5': negative; expected a whole number >= 0"),
    ("non-numeric tokens", ROW.replace(",2000,220,", ",abc,220,"),
     "2: prompt_tokens: 'abc': not a number; expected a whole number >= 0"),
    ("unknown timestamp", ROW.replace("2026-11-02 10:00:00.000,", "11/02/2026 10:00,", 1),
     "2: startTime: '11/02/2026 10:00': unknown timestamp format; use RFC 3339, e.g. 2026-11-01T00:00:00Z"),
    ("short row", ",".join(ROW.split(",")[:5]), "2: row: 5: expected 27 columns like the header, found 5"),
]


@pytest.mark.parametrize(("case", "row", "expected"), BAD_CSV_CASES, ids=[case[0] for case in BAD_CSV_CASES])
def test_bad_row_imports_nothing(engine, tmp_path, case, row, expected):
    path = _write(tmp_path, "spend.csv", "\n".join([HEADER, CSV_LINES[1], row, CSV_LINES[3]]) + "\n")
    expected = expected.replace("2:", "3:", 1)  # the bad row is the file's third line
    assert _errors(path, engine) == [f"{path}:{expected}"]
    assert _rows_written(engine) == 0


def test_error_after_flushed_batches_imports_nothing(engine, tmp_path):
    bad = ROW.replace(",2000,220,", ",-5,220,")
    path = _write(tmp_path, "spend.csv", "\n".join([HEADER, CSV_LINES[1], CSV_LINES[3], CSV_LINES[4], bad]) + "\n")
    # With batches of one row, three rows are already written when line 5 fails: all roll back.
    assert _errors(path, engine, batch_size=1) == [f"{path}:5: prompt_tokens: '-5': negative; expected a whole number >= 0"]
    assert _rows_written(engine) == 0


def test_bad_file_errors(engine, tmp_path):
    completions = (SAMPLES / "openai" / "usage_completions.example.json").read_text()
    cases = {
        "truncated.json": (completions[:400], "13: json: '': truncated JSON: the file ends inside a value; export the file again"),
        "semicolons.csv": (
            HEADER.replace(",", ";") + "\n" + ROW.replace(",", ";") + "\n",
            "1: header: 'request_id;call_type;api_key;spend;total_tokens;prompt_token': "
            "the file separates columns with semicolons; export it with commas",
        ),
        "missing.csv": (
            HEADER.replace("prompt_tokens,", "") + "\n",
            "1: prompt_tokens: '': missing required column of the LiteLLM spend log CSV; the header has: "
            + HEADER.replace("prompt_tokens,", "").replace(",", ", ")[:300],
        ),
        "empty.csv": ("", "1: file: '': the file is empty; export it again with data"),
        "blank.json": ("\ufeff \r\n", "1: file: '': the file is empty; export it again with data"),
        "negative.json": (
            completions.replace('"input_tokens": 1000', '"input_tokens": -1000'),
            "9: input_tokens: -1000: negative; expected a whole number >= 0",
        ),
    }
    for name, (content, expected) in cases.items():
        path = _write(tmp_path, name, content)
        assert _errors(path, engine) == [f"{path}:{expected}"], name
    assert _rows_written(engine) == 0


def test_wrong_encoding_names_line(engine, tmp_path):
    latin1 = (HEADER + "\n" + CSV_LINES[1] + "\n" + ROW.replace("anthropic,,,", "anthropic,,José,") + "\n").encode("latin-1")
    path = _write(tmp_path, "latin1.csv", latin1)
    assert _errors(path, engine) == [
        f"{path}:3: encoding: b'\\xe9': not valid UTF-8 (the file may be Latin-1 or Windows-1252); "
        "save it as UTF-8 and import it again"
    ]
    utf16 = _write(tmp_path, "utf16.csv", (HEADER + "\n").encode("utf-16"))
    assert _errors(utf16, engine) == [
        f"{utf16}:1: encoding: b'\\xff\\xfe': the file is UTF-16; save it as UTF-8 and import it again"
    ]
    assert _rows_written(engine) == 0


def test_unknown_format_lists_formats(engine, tmp_path):
    path = _write(tmp_path, "notes.csv", "hello,world\n1,2\n")
    [error] = _errors(path, engine)
    assert error == (
        f"{path}:1: format: 'hello,world': format not recognised: not a usage, cost or GPU export that costbot "
        "reads; pass --format with one of: anthropic_costs, anthropic_usage, dcgm, focus, litellm_csv, "
        "litellm_json, nvidia_smi, openai_costs, openai_usage, outcomes_csv, tools_csv"
    )
    [error] = _errors(path, engine, format_name="openai")
    assert error.startswith(f"{path}: --format: 'openai': unknown format; use one of:\n")


def test_cli_names_closest_format(cli_env, tmp_path):
    from bot.cli import app

    path = _write(tmp_path, "outcomes.csv", "start_time,workflow,succeded,failed,escalated,review_minutes,review_cost_usd\n")
    result = CliRunner().invoke(app, ["import", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert (
        f"{path}:1: format: 'start_time,workflow,succeded,failed,escalated,review_minutes': looks like the "
        'outcomes CSV (outcomes_csv), but column "succeeded" is missing; found "succeded" (did you mean "succeeded"?).'
    ) in result.stderr
    assert f"{path}: nothing imported\n" in result.stderr


def test_cli_missing_file_skips_mapping_warning(cli_env, tmp_path):
    from bot.cli import app

    missing = tmp_path / "nosuch.json"
    result = CliRunner().invoke(app, ["import", str(missing)])
    assert result.exit_code == 1
    assert "mapping file" not in result.stderr
    assert f"{missing}: file: '{missing}': not found or not a regular file; check the path" in result.stderr


def test_cli_warns_without_mapping_file(cli_env, tmp_path, monkeypatch):
    from bot import settings
    from bot.cli import app

    good = SAMPLES / "anthropic" / "cost_report.docs_example.json"
    result = CliRunner().invoke(app, ["import", str(good)])
    assert result.exit_code == 0
    assert f"warning: mapping file {tmp_path / 'no-mapping.yml'} not found, so source ids" in result.stderr
    assert ("Create the mapping file or set COSTBOT_MAPPING_FILE, then import the same files again to map "
            "their rows") in result.stderr

    mapping = _write(tmp_path, "mapping.yml", "projects: {}\n")
    monkeypatch.setenv("COSTBOT_MAPPING_FILE", str(mapping))
    settings.get_settings.cache_clear()
    result = CliRunner().invoke(app, ["import", str(good)])
    assert result.exit_code == 0
    assert "mapping file" not in result.stderr


def test_bom_and_crlf_import_cleanly(engine, tmp_path):
    text = "\r\n".join([HEADER, ROW]) + "\r\n"
    path = _write(tmp_path, "bom.csv", b"\xef\xbb\xbf" + text.encode())
    summary = import_file(path, engine=engine)
    assert (summary.rows_read, summary.rows_imported) == (1, 1)
    with engine.connect() as connection:
        request_id, status_cost = connection.execute(
            sa.select(LlmUsage.__table__.c.natural_key, LlmUsage.__table__.c.cost_usd)
        ).one()
    assert request_id == "request|chatcmpl-9f1c2d02"  # the BOM is not part of the first column name
    assert status_cost == Decimal("0.0031")


def test_skip_bad_rows_writes_rejects(engine, tmp_path):
    bad = ROW.replace(",2000,220,", ",-5,220,")
    path = _write(tmp_path, "spend.csv", "\n".join([HEADER, CSV_LINES[1], bad, CSV_LINES[3], CSV_LINES[4]]) + "\n")
    summary = import_file(path, engine=engine, skip_bad_rows=True)
    assert (summary.rows_read, summary.rows_imported, summary.rows_duplicate, summary.rows_rejected) == (4, 3, 0, 1)
    rejects = tmp_path / "spend.csv.rejects.csv"
    assert summary.rejects_path == rejects
    with open(rejects, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 1
    assert rows[0]["line"] == "3"
    assert rows[0]["field"] == "prompt_tokens"
    assert rows[0]["value"] == "-5"
    assert rows[0]["error"] == "negative; expected a whole number >= 0"
    assert json.loads(rows[0]["row"])["request_id"] == "chatcmpl-9f1c2d02"
    with engine.connect() as connection:
        run = connection.execute(sa.select(ImportRun.__table__)).mappings().one()
    assert (run["status"], run["rows_read"], run["rows_imported"], run["rows_rejected"]) == ("done", 4, 3, 1)


def test_skip_bad_rows_still_fails_broken_file(engine, tmp_path):
    path = _write(tmp_path, "cut.json", (SAMPLES / "openai" / "usage_completions.example.json").read_text()[:400])
    assert _errors(path, engine, skip_bad_rows=True)[0].startswith(f"{path}:13: json: '': truncated JSON")
    assert not (tmp_path / "cut.json.rejects.csv").exists()
    assert _rows_written(engine) == 0


def test_errors_stop_at_cap(engine, tmp_path):
    bad = ROW.replace(",2000,220,", ",-5,220,")
    path = _write(tmp_path, "spend.csv", "\n".join([HEADER] + [bad.replace("9f1c2d02", f"x{i}") for i in range(30)]) + "\n")
    errors = _errors(path, engine, max_errors=5)
    assert len(errors) == 6
    assert errors[0] == f"{path}:2: prompt_tokens: '-5': negative; expected a whole number >= 0"
    assert errors[-1] == f"{path}: errors: 5: stopped after 5 errors"


def test_small_batches_stream_and_count(engine, tmp_path):
    lines = [HEADER] + [ROW.replace("9f1c2d02", f"n{i:03d}") for i in range(25)] + [ROW.replace("9f1c2d02", "n000")]
    path = _write(tmp_path, "spend.csv", "\n".join(lines) + "\n")
    summary = import_file(path, engine=engine, batch_size=4)
    # 26 rows, one repeats the first request id: 25 imported, 1 duplicate
    assert (summary.rows_read, summary.rows_imported, summary.rows_duplicate) == (26, 25, 1)
    with engine.connect() as connection:
        total = connection.execute(sa.select(sa.func.sum(LlmUsage.__table__.c.cost_usd))).scalar_one()
    assert total == Decimal("0.0775")  # 25 requests * 0.0031


def test_cli_prints_errors_and_summary(cli_env, engine, tmp_path):
    from bot.cli import app

    good = SAMPLES / "anthropic" / "cost_report.docs_example.json"
    bad = _write(tmp_path, "bad.csv", HEADER + "\n" + ROW.replace(",0.0031,", ",null,") + "\n")
    result = CliRunner().invoke(app, ["import", str(good), str(bad)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"{good}: anthropic_costs: read 1 row, imported 1, duplicate 0, rejected 0" in result.stdout
    assert f"{bad}:2: spend: 'null': missing; expected a decimal number" in result.stderr
    assert f"{bad}: nothing imported; fix the rows above or rerun with --skip-bad-rows" in result.stderr
    with engine.connect() as connection:  # the command wrote to the configured database
        runs = connection.execute(sa.select(ImportRun.__table__.c.format)).scalars().all()
    assert runs == ["anthropic_costs"]

    result = CliRunner().invoke(app, ["import", "--skip-bad-rows", str(bad)])
    assert result.exit_code == 0
    assert f"{bad}: litellm_csv: read 1 row, imported 0, duplicate 0, rejected 1 (rejected rows in {bad}.rejects.csv)" in result.stdout


def test_summary_explains_two_records_per_row(engine):
    # The sample's one result has web searches, so it gives an LLM row and a web_search tool row.
    summary = import_file(SAMPLES / "anthropic" / "usage_report_messages.docs_example.json", engine=engine)

    assert (summary.rows_read, summary.rows_imported) == (1, 2)
    assert summary.line().endswith(
        "read 1 row, imported 2, duplicate 0, rejected 0 (some rows gave two records, such as an LLM row and a "
        "web search tool row)"
    )
    csv_summary = import_file(FIXTURES / "litellm_spend_logs.csv", engine=engine)
    assert "gave two records" not in csv_summary.line()
