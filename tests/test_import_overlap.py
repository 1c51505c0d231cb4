"""One usage exported twice at another bucket width or grouping counts once (bot.ingest.overlap).

The exports are OpenAI completions usage of one organization:
- DAILY: daily buckets grouped by model, Nov 1 and Nov 2: 1,000 and 2,000 input tokens,
  10 and 20 requests.
- HOURLY: hourly buckets grouped by project and model, Nov 2 00:00 to Nov 3 06:00. Its Nov 2
  rows are the same usage as DAILY's Nov 2 (p1 1,200 + p2 800 = 2,000 tokens, 12 + 8 = 20
  requests), and Nov 3 03:00 is new usage (p1, 500 tokens, 5 requests).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from bot.ingest.base import ImportFailed
from bot.ingest.loader import import_file
from bot.models.rollups import UsageRollup
from bot.models.usage import ImportSeries, LlmUsage

MODEL = "gpt-4o-mini-2024-07-18"
HOUR, DAY = 3600, 86400


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp())


def _result(tokens: int, requests: int, project: str | None = None, operation: str = "completions") -> dict:
    return {
        "object": f"organization.usage.{operation}.result", "input_tokens": tokens, "output_tokens": 0,
        "num_model_requests": requests, "project_id": project, "user_id": None, "api_key_id": None,
        "model": MODEL, "batch": None,
    }  # fmt: skip


def _export(tmp_path: Path, name: str, start: str, width: int, count: int, results: dict[str, list[dict]]) -> Path:
    """Write a Usage API page of `count` buckets of `width` seconds from `start`.

    `results` maps a bucket's start time to its results. The other buckets are empty.
    """
    first = _epoch(start)
    by_start = {_epoch(moment): found for moment, found in results.items()}
    buckets = [
        {"object": "bucket", "start_time": first + n * width, "end_time": first + (n + 1) * width,
         "results": by_start.get(first + n * width, [])}
        for n in range(count)
    ]  # fmt: skip
    path = tmp_path / name
    path.write_text(json.dumps({"object": "page", "data": buckets, "has_more": False, "next_page": None}))
    return path


def _daily(tmp_path: Path, operation: str = "completions") -> Path:
    return _export(tmp_path, f"daily_{operation}.json", "2026-11-01T00:00:00", DAY, 2, {
        "2026-11-01T00:00:00": [_result(1000, 10, operation=operation)],
        "2026-11-02T00:00:00": [_result(2000, 20, operation=operation)],
    })  # fmt: skip


def _hourly(tmp_path: Path, start: str = "2026-11-02T00:00:00", count: int = 30) -> Path:
    results = {
        "2026-11-02T00:00:00": [_result(1200, 12, "p1")],
        "2026-11-02T12:00:00": [_result(800, 8, "p2")],
        "2026-11-03T03:00:00": [_result(500, 5, "p1")],
    }
    first = _epoch(start)
    return _export(tmp_path, "hourly.json", start, HOUR, count,
                   {moment: found for moment, found in results.items() if _epoch(moment) >= first})


def _totals(engine) -> tuple[int, int]:
    with engine.connect() as connection:
        tokens, requests = connection.execute(
            sa.select(sa.func.sum(LlmUsage.input_tokens), sa.func.sum(LlmUsage.requests))
        ).one()
    return int(tokens or 0), int(requests or 0)


def _by_project(engine) -> dict[str | None, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(LlmUsage.project, sa.func.sum(LlmUsage.input_tokens)).group_by(LlmUsage.project)
        ).all()
    return {project: int(tokens) for project, tokens in rows}


def _rollup_tokens(engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(
            sa.select(sa.func.sum(UsageRollup.input_tokens))
            .where(UsageRollup.bucket_seconds == HOUR, UsageRollup.source == "llm_usage")
        ).scalar_one() or 0)  # fmt: skip


def test_overlap_default_fails_naming_import(tmp_path, engine):
    daily = import_file(_daily(tmp_path), engine=engine)
    with pytest.raises(ImportFailed) as caught:
        import_file(_hourly(tmp_path), engine=engine)
    [error] = [str(error) for error in caught.value.errors]
    assert error.startswith(f"{tmp_path / 'hourly.json'}: overlap: '2026-11-02 00:00 to 2026-11-03 00:00 UTC': ")
    assert f"import #{daily.import_id} ({tmp_path / 'daily_completions.json'})" in error
    assert "daily buckets grouped by model, and this file has hourly buckets grouped by model, project_id" in error
    assert "--overlap replace" in error
    assert "--overlap keep" in error
    assert "--overlap add" in error
    assert not caught.value.skippable
    assert _totals(engine) == (1000 + 2000, 10 + 20)  # nothing of the hourly file was stored
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(ImportSeries)).scalar_one() == 1


def test_overlap_replace_new_file_wins(tmp_path, engine):
    daily = import_file(_daily(tmp_path), engine=engine)
    summary = import_file(_hourly(tmp_path), engine=engine, overlap="replace")
    # Nov 1 from the daily file; Nov 2 and Nov 3 from the hourly file.
    assert _totals(engine) == (1000 + 1200 + 800 + 500, 10 + 12 + 8 + 5)
    assert _by_project(engine) == {None: 1000, "p1": 1200 + 500, "p2": 800}
    assert (summary.rows_imported, summary.rows_duplicate) == (3, 0)
    assert f"replaced 1 stored openai completions row of import #{daily.import_id}" in summary.line()
    assert "left out" not in summary.line()
    assert _rollup_tokens(engine) == 1000 + 1200 + 800 + 500


def test_overlap_keep_stored_rows_win(tmp_path, engine):
    import_file(_daily(tmp_path), engine=engine)
    summary = import_file(_hourly(tmp_path), engine=engine, overlap="keep")
    # Nov 1 and Nov 2 from the daily file; only Nov 3 03:00 from the hourly file.
    assert _totals(engine) == (1000 + 2000 + 500, 10 + 20 + 5)
    assert _by_project(engine) == {None: 1000 + 2000, "p1": 500}
    assert (summary.rows_imported, summary.rows_duplicate) == (1, 2)
    assert "over its time; left out 2 openai completions rows of this file, counted as duplicate, because the stored rows cover" in summary.line()
    assert _rollup_tokens(engine) == 1000 + 2000 + 500


def test_overlap_straddling_bucket_stays_whole(tmp_path, engine):
    # The hourly file starts at Nov 2 12:00, inside the daily file's Nov 2 bucket, which
    # cannot be split: it stays, and the hourly row of Nov 2 12:00 (p2, 800) is removed.
    import_file(_daily(tmp_path), engine=engine)
    summary = import_file(_hourly(tmp_path, start="2026-11-02T12:00:00", count=18), engine=engine, overlap="replace")
    assert _totals(engine) == (1000 + 2000 + 500, 10 + 20 + 5)
    assert (summary.rows_imported, summary.rows_duplicate) == (1, 1)
    assert "replaced 0 stored openai completions rows of import #" in summary.line()
    assert "left out 1 openai completions row of this file, counted as duplicate, because they start inside a longer stored bucket" in summary.line()
    assert _rollup_tokens(engine) == 1000 + 2000 + 500


def test_overlap_keep_straddling_file_bucket_wins(tmp_path, engine):
    # The stored hourly file starts at Nov 2 12:00. The daily file's Nov 2 bucket reaches
    # outside that time, so with keep it stays whole and removes the stored Nov 2 12:00 row
    # (p2, 800). The stored Nov 3 03:00 row (p1, 500) is kept.
    hourly = import_file(_hourly(tmp_path, start="2026-11-02T12:00:00", count=18), engine=engine)
    summary = import_file(_daily(tmp_path), engine=engine, overlap="keep")
    assert _totals(engine) == (1000 + 2000 + 500, 10 + 20 + 5)
    assert _by_project(engine) == {None: 1000 + 2000, "p1": 500}
    assert (summary.rows_imported, summary.rows_duplicate) == (2, 0)
    assert f"kept the openai completions rows of import #{hourly.import_id} (" in summary.line()
    assert "over its time, but removed 1 of them that lie inside a longer bucket of this file" in summary.line()
    assert "left out" not in summary.line()
    assert _rollup_tokens(engine) == 1000 + 2000 + 500


def test_overlap_replace_reverse_order(tmp_path, engine):
    import_file(_hourly(tmp_path), engine=engine)
    summary = import_file(_daily(tmp_path), engine=engine, overlap="replace")
    # The daily file covers Nov 1 and Nov 2 and replaces the hourly rows of Nov 2; the hourly
    # row of Nov 3 03:00 lies outside its time and stays.
    assert _totals(engine) == (1000 + 2000 + 500, 10 + 20 + 5)
    assert "replaced 2 stored openai completions rows" in summary.line()
    assert _rollup_tokens(engine) == 1000 + 2000 + 500


def test_overlap_add_counts_both(tmp_path, engine):
    daily_path = _daily(tmp_path)
    daily = import_file(daily_path, engine=engine)
    added = import_file(_hourly(tmp_path), engine=engine, overlap="add")
    assert _totals(engine) == (1000 + 2000 + 1200 + 800 + 500, 10 + 20 + 12 + 8 + 5)
    assert (added.rows_imported, added.rows_duplicate) == (3, 0)
    # The summary names the stored import the file now counts beside.
    assert (f"counted apart from the openai completions rows of import #{daily.import_id} ({daily_path}, "
            "daily buckets grouped by model), because --overlap add declares them different usage") in added.line()


def test_overlap_add_is_remembered(tmp_path, engine):
    # After `add`, later imports of either file count apart from the other without `add`.
    import_file(_daily(tmp_path), engine=engine)
    hourly_path = _hourly(tmp_path)
    added = import_file(hourly_path, engine=engine, overlap="add")
    daily_again = import_file(_daily(tmp_path), engine=engine)
    hourly_again = import_file(_hourly(tmp_path), engine=engine)
    assert (daily_again.rows_imported, daily_again.rows_duplicate) == (0, 2)
    assert (hourly_again.rows_imported, hourly_again.rows_duplicate) == (0, 3)
    assert (f"counted apart from import #{added.import_id} ({hourly_path}, openai completions), "
            f"as import #{added.import_id} chose") in daily_again.line()
    assert _totals(engine) == (1000 + 2000 + 1200 + 800 + 500, 10 + 20 + 12 + 8 + 5)


def test_overlap_add_leaves_third_series_failing(tmp_path, engine):
    # The daily file grouped by model and the hourly one were declared apart. A third series
    # over the same days, minute buckets grouped by model, still fails.
    import_file(_daily(tmp_path), engine=engine)
    import_file(_hourly(tmp_path), engine=engine, overlap="add")
    minutes = _export(tmp_path, "minutes.json", "2026-11-02T00:00:00", 60, 3,
                      {"2026-11-02T00:00:00": [_result(1200, 12)]})
    with pytest.raises(ImportFailed) as caught:
        import_file(minutes, engine=engine)
    assert len(caught.value.errors) == 2  # one per earlier import: the daily and the hourly one


def test_overlap_ignores_same_series_and_operations(tmp_path, engine):
    import_file(_hourly(tmp_path), engine=engine)
    again = import_file(_hourly(tmp_path), engine=engine)  # the same series: keys match
    assert (again.rows_imported, again.rows_duplicate) == (0, 3)
    # Daily embeddings usage over the same days is other usage than the completions.
    import_file(_daily(tmp_path, operation="embeddings"), engine=engine)
    assert _totals(engine) == (1200 + 800 + 500 + 1000 + 2000, 12 + 8 + 5 + 10 + 20)


def test_overlap_cli_prints_error(cli_env, tmp_path):
    from bot.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["import", str(_daily(tmp_path))]).exit_code == 0
    failed = runner.invoke(app, ["import", str(_hourly(tmp_path))])
    assert failed.exit_code == 1
    assert ": overlap: '2026-11-02 00:00 to 2026-11-03 00:00 UTC': import #" in failed.stderr
    assert f"{tmp_path / 'hourly.json'}: nothing imported\n" in failed.stderr  # no --skip-bad-rows hint
    replaced = runner.invoke(app, ["import", str(_hourly(tmp_path)), "--overlap", "replace"])
    assert replaced.exit_code == 0, replaced.stderr
    assert "imported 3, duplicate 0, rejected 0; replaced 1 stored openai completions row of import #" in replaced.stdout


def test_overlap_cli_rejects_unknown_policy(cli_env, tmp_path):
    from bot.cli import app

    result = CliRunner().invoke(app, ["import", str(_daily(tmp_path)), "--overlap", "merge"])
    assert result.exit_code == 2
    assert "Invalid value for '--overlap'" in result.stderr
    assert "'merge' is not one of 'fail', 'replace', 'keep', 'add'" in result.stderr
