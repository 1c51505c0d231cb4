"""Overlap cases beyond tests/test_import_overlap.py: cost exports grouped by line item, files
with gaps or rejected buckets, chains of imports, and the summary line's counts and notes.

OpenAI completions usage below is of model gpt-4o-mini with no output tokens, so only input
tokens and requests are compared.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from bot.ingest.base import ImportFailed
from bot.ingest.loader import import_file
from bot.models.usage import LlmUsage, ReportedCost
from bot.queries import rollups
from bot.queries.spend import spend_by

D = Decimal
MODEL = "gpt-4o-mini"
MINUTE, HOUR, DAY = 60, 3600, 86400
START = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _at(day: int, hour: int = 0) -> datetime:
    """Return 2026-11-`day` at `hour`:00 UTC."""
    return START + timedelta(days=day - 1, hours=hour)


def _completions(tokens: int, requests: int, **groups: str) -> dict:
    result = {"object": "organization.usage.completions.result", "input_tokens": tokens, "output_tokens": 0,
              "num_model_requests": requests, "project_id": None, "user_id": None, "api_key_id": None,
              "model": MODEL, "batch": None, "service_tier": None}
    result.update(groups)
    return result


def _cost(value: str, line_item: str | None = None, project_id: str | None = None) -> dict:
    return {"object": "organization.costs.result", "amount": {"value": value, "currency": "usd"},
            "line_item": line_item, "project_id": project_id, "api_key_id": None, "quantity": None,
            "quantity_unit": None}


def _buckets(start: datetime, width: int, count: int, results: dict[datetime, list[dict]]) -> list[dict]:
    """Return `count` buckets of `width` seconds from `start`. `results` maps a bucket's start to its results."""
    first = int(start.timestamp())
    return [
        {"object": "bucket", "start_time": first + n * width, "end_time": first + (n + 1) * width,
         "results": results.get(start + timedelta(seconds=n * width), [])}
        for n in range(count)
    ]  # fmt: skip


def _page(path: Path, buckets: list[dict]) -> Path:
    path.write_text(json.dumps({"object": "page", "data": buckets, "has_more": False, "next_page": None}))
    return path


def _llm_totals(engine) -> tuple[int, int]:
    with engine.connect() as connection:
        tokens, requests = connection.execute(
            sa.select(sa.func.sum(LlmUsage.input_tokens), sa.func.sum(LlmUsage.requests))
        ).one()
    return int(tokens or 0), int(requests or 0)


def _reported(engine) -> Decimal:
    with engine.connect() as connection:
        return connection.execute(sa.select(sa.func.sum(ReportedCost.amount_usd))).scalar_one() or D(0)


def _spend_raw_and_rolled(engine, start: datetime, end: datetime):
    """Return the total spend of [start, end) from the raw tables and from the rollups."""
    with Session(engine) as session:
        session.info[rollups.PINNED_KEY] = False
        try:
            raw = spend_by(session, start=start, end=end)
        finally:
            session.info.pop(rollups.PINNED_KEY)
        assert rollups.usable(session, start, end)
        rolled = spend_by(session, start=start, end=end)
    return sum((row.total for row in raw), D(0)), sum((row.total for row in rolled), D(0))


# --- OpenAI Costs API -----------------------------------------------------------------------


def _costs_by_line_item(tmp_path: Path) -> Path:
    # Nov 1: p1 input 1.00 + p1 output 0.50 + p2 input 0.25 = 1.75
    return _page(tmp_path / "costs_line_items.json", _buckets(START, DAY, 1, {START: [
        _cost("1.00", "gpt-4o-mini, input", "p1"), _cost("0.50", "gpt-4o-mini, output", "p1"),
        _cost("0.25", "gpt-4o-mini, input", "p2"),
    ]}))  # fmt: skip


def _costs_by_project(tmp_path: Path) -> Path:
    # The same Nov 1 costs grouped by project only: p1 1.00 + 0.50 = 1.50, p2 0.25.
    return _page(tmp_path / "costs_projects.json",
                 _buckets(START, DAY, 1, {START: [_cost("1.50", project_id="p1"), _cost("0.25", project_id="p2")]}))


def test_costs_line_item_grouping_is_other_series(tmp_path, engine):
    first = import_file(_costs_by_line_item(tmp_path), engine=engine)
    with pytest.raises(ImportFailed) as caught:
        import_file(_costs_by_project(tmp_path), engine=engine)
    [error] = [str(error) for error in caught.value.errors]
    assert f"import #{first.import_id} ({tmp_path / 'costs_line_items.json'})" in error
    assert "grouped by line_item, project_id, and this file has daily buckets grouped by project_id" in error
    assert _reported(engine) == D("1.75")

    import_file(_costs_by_project(tmp_path), engine=engine, overlap="replace")
    assert _reported(engine) == D("1.75")  # 1.50 + 0.25 in place of 1.00 + 0.50 + 0.25
    assert _spend_raw_and_rolled(engine, START, _at(2)) == (D("1.75"), D("1.75"))


# --- completions usage of Nov 1 and Nov 2 ----------------------------------------------------
# Nov 1: 1,000 tokens and 10 requests at 03:00 (p1) and 500 tokens and 5 requests at 15:00 (p2).
# Nov 2: 2,000 tokens and 20 requests at 09:00 (p1).


def _daily(tmp_path: Path, name: str = "daily.json", days: int = 2) -> Path:
    """Daily buckets grouped by model from Nov 1."""
    results = {_at(1): [_completions(1500, 15)], _at(2): [_completions(2000, 20)]}
    return _page(tmp_path / name, _buckets(START, DAY, days, results))


def _hourly(tmp_path: Path, name: str = "hourly.json", hours: int = 48) -> Path:
    """Hourly buckets grouped by project and model from Nov 1 00:00."""
    results = {
        _at(1, 3): [_completions(1000, 10, project_id="p1")],
        _at(1, 15): [_completions(500, 5, project_id="p2")],
        _at(2, 9): [_completions(2000, 20, project_id="p1")],
    }
    return _page(tmp_path / name, _buckets(START, HOUR, hours, results))


def test_overlap_failure_leaves_no_rejects_file(tmp_path, engine):
    import_file(_daily(tmp_path), engine=engine)
    hourly = _hourly(tmp_path)
    page = json.loads(hourly.read_text())
    page["data"][9]["results"] = [_completions(-5, 1, project_id="p1")]  # Nov 1 09:00: a bad row
    hourly.write_text(json.dumps(page))

    with pytest.raises(ImportFailed) as caught:
        import_file(hourly, engine=engine, skip_bad_rows=True)
    assert [error.field for error in caught.value.errors] == ["overlap"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["daily.json", "hourly.json"]
    assert _llm_totals(engine) == (1500 + 2000, 15 + 20)


# --- the time a file covers is its buckets' time, gaps left out -------------------------------


def test_gap_between_pages_not_claimed(tmp_path, engine):
    # Nov 5 10:00 hourly: 7,000 tokens and 70 requests. The daily file joins two exports as JSON
    # Lines: Nov 1 to 2 and Nov 9 to 10, so it has no bucket of Nov 5.
    import_file(_page(tmp_path / "nov5.json", _buckets(_at(5), HOUR, 24, {_at(5, 10): [_completions(7000, 70)]})),
                engine=engine)
    first = _buckets(START, DAY, 2, {_at(1): [_completions(1500, 15)], _at(2): [_completions(2000, 20)]})
    second = _buckets(_at(9), DAY, 2, {_at(10): [_completions(4000, 40)]})
    joined = tmp_path / "joined.jsonl"
    joined.write_text("\n".join(json.dumps({"object": "page", "data": part, "has_more": False}) for part in (first, second)))

    summary = import_file(joined, engine=engine)  # no overlap, so the default policy imports it
    assert (summary.rows_imported, summary.notes) == (3, [])
    assert _llm_totals(engine) == (7000 + 1500 + 2000 + 4000, 70 + 15 + 20 + 40)

    import_file(joined, engine=engine, overlap="replace")  # nothing of Nov 5 is replaced either
    assert _llm_totals(engine) == (7000 + 1500 + 2000 + 4000, 70 + 15 + 20 + 40)


def test_rejected_bucket_time_not_claimed(tmp_path, engine):
    # Daily by model: Nov 1 1,500 and Nov 2 2,000 tokens, Nov 3 empty. The file grouped by
    # project has Nov 1 to 3, with 3,000 tokens on Nov 3, but its Nov 2 bucket has a bad start
    # time and is rejected, so the file covers Nov 1 and Nov 3 only.
    import_file(_daily(tmp_path, days=3), engine=engine)
    buckets = _buckets(START, DAY, 3, {
        _at(1): [_completions(1000, 10, project_id="p1"), _completions(500, 5, project_id="p2")],
        _at(2): [_completions(2000, 20, project_id="p1")],
        _at(3): [_completions(3000, 30, project_id="p1")],
    })  # fmt: skip
    buckets[1]["start_time"] = "yesterday"
    by_project = _page(tmp_path / "by_project.json", buckets)

    summary = import_file(by_project, engine=engine, skip_bad_rows=True, overlap="replace")
    assert (summary.rows_imported, summary.rows_rejected) == (3, 1)
    assert _llm_totals(engine) == (1000 + 500 + 2000 + 3000, 10 + 5 + 20 + 30)  # Nov 2 stays the daily row
    raw, rolled = _spend_raw_and_rolled(engine, START, _at(4))
    assert rolled == raw


# --- keep: the stored rows win, including those whose keys this file repeats -----------------


def test_keep_after_replace_keeps_taken_rows(tmp_path, engine):
    daily = import_file(_daily(tmp_path), engine=engine)
    import_file(_hourly(tmp_path, "nov1.json", hours=24), engine=engine, overlap="replace")
    assert _llm_totals(engine) == (1000 + 500 + 2000, 10 + 5 + 20)  # Nov 1 hourly, Nov 2 daily

    # The hourly export of Nov 1 and 2 repeats the stored hourly rows of Nov 1, which stay.
    # Its new row of Nov 2 lies inside the daily import's Nov 2 and is left out.
    summary = import_file(_hourly(tmp_path), engine=engine, overlap="keep")
    assert _llm_totals(engine) == (1000 + 500 + 2000, 10 + 5 + 20)
    assert (summary.rows_imported, summary.rows_duplicate) == (0, 3)
    assert summary.notes == [
        f"kept the openai completions rows of import #{daily.import_id} ({tmp_path / 'daily.json'}, "
        "daily buckets grouped by model) over its time",
        "left out 1 openai completions row of this file, counted as duplicate, because the stored rows cover their time",
    ]
    raw, rolled = _spend_raw_and_rolled(engine, START, _at(3))
    assert rolled == raw


def test_keep_after_add_keeps_added_rows(tmp_path, engine):
    import_file(_daily(tmp_path), engine=engine)
    import_file(_hourly(tmp_path), engine=engine, overlap="add")  # two organizations: both count
    both = (1500 + 2000 + 1000 + 500 + 2000, 15 + 20 + 10 + 5 + 20)
    assert _llm_totals(engine) == both

    summary = import_file(_hourly(tmp_path), engine=engine, overlap="keep")
    assert _llm_totals(engine) == both
    assert (summary.rows_imported, summary.rows_duplicate) == (0, 3)


# --- the notes of the summary line ------------------------------------------------------------


def _anthropic_report(path: Path, width: int, count: int, group: str) -> Path:
    """Write a usage report of claude-sonnet-4-5 from Nov 1 with `count` buckets of `width` seconds.

    Nov 1 03:00: 1,000 input tokens and 4 web searches in workspace w1 with key k1.
    Nov 1 15:00: 500 input tokens and no web search in workspace w2 with key k2.
    The rows are grouped by model and `group` (workspace_id or api_key_id).
    """
    calls = [(_at(1, 3), "w1", "k1", 1000, 4), (_at(1, 15), "w2", "k2", 500, 0)]
    buckets = []
    for n in range(count):
        start = START + timedelta(seconds=n * width)
        end = start + timedelta(seconds=width)
        results = [
            {"uncached_input_tokens": tokens, "cache_read_input_tokens": 0, "output_tokens": 0,
             "server_tool_use": {"web_search_requests": searches}, "model": "claude-sonnet-4-5",
             "workspace_id": workspace if group == "workspace_id" else None,
             "api_key_id": key if group == "api_key_id" else None}
            for when, workspace, key, tokens, searches in calls if start <= when < end
        ]  # fmt: skip
        buckets.append({"starting_at": start.isoformat(), "ending_at": end.isoformat(), "results": results})
    path.write_text(json.dumps({"data": buckets, "has_more": False, "next_page": None}))
    return path


def test_notes_name_the_usage(tmp_path, engine):
    # The report gives LLM rows and web search rows, and each note names which rows it is about.
    daily = import_file(_anthropic_report(tmp_path / "daily.json", DAY, 1, "workspace_id"), engine=engine)
    hourly = _anthropic_report(tmp_path / "hourly.json", HOUR, 24, "api_key_id")
    where = f"import #{daily.import_id} ({tmp_path / 'daily.json'}, daily buckets grouped by model, workspace_id)"

    replaced = import_file(hourly, engine=engine, overlap="replace")
    assert replaced.notes == [
        f"replaced 2 stored anthropic messages rows of {where}",  # w1 and w2
        f"replaced 1 stored anthropic web_search row of {where}",  # w1's 4 searches
    ]

    kept = import_file(tmp_path / "daily.json", engine=engine, overlap="keep")
    where = f"import #{replaced.import_id} ({hourly}, hourly buckets grouped by api_key_id, model)"
    assert kept.notes == [
        f"kept the anthropic messages rows of {where} over its time",
        "left out 2 anthropic messages rows of this file, counted as duplicate, because the stored rows cover their time",
        f"kept the anthropic web_search rows of {where} over its time",
        "left out 1 anthropic web_search row of this file, counted as duplicate, because the stored rows cover their time",
    ]
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.sum(LlmUsage.input_tokens))).scalar_one() == 1000 + 500
