"""The import writer: each usage counted once across batches, files and bucket orders, and key
lookups skipped only where no stored row can have the key."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from bot.ingest import writer as writer_module
from bot.ingest.loader import import_file
from bot.models.usage import LlmUsage

START = datetime(2026, 11, 1, tzinfo=timezone.utc)
MODELS = ("gpt-5", "gpt-5-mini", "gpt-5-nano")


def _page(hour: int, output_tokens: int = 100, seconds: int = 3600) -> dict:
    """One hourly bucket with a result per model; the hour's models share its start time."""
    start = START + timedelta(hours=hour)
    results = [
        {"object": "organization.usage.completions.result", "input_tokens": 1000, "output_tokens": output_tokens,
         "num_model_requests": 2, "project_id": "proj_search", "model": model, "batch": False,
         "service_tier": "default"}
        for model in MODELS
    ]
    bucket = {"object": "bucket", "start_time": int(start.timestamp()),
              "end_time": int(start.timestamp()) + seconds, "results": results}
    return {"object": "page", "data": [bucket], "has_more": False, "next_page": None}


def _export(tmp_path: Path, name: str, hours: list[int], **options) -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(_page(hour, **options)) + "\n" for hour in hours))
    return path


def _stored(engine) -> list[tuple[datetime, str, int]]:
    table = LlmUsage.__table__
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table.c.start_time, table.c.model, table.c.output_tokens)
                                  .order_by(table.c.start_time, table.c.model))
        return [(start.astimezone(timezone.utc), model, tokens) for start, model, tokens in rows]


class _LookupCounter:
    def __init__(self, monkeypatch) -> None:
        self.keys = 0
        original = writer_module.TableWriter._stored

        def counting(writer, cursor, keys):
            self.keys += len(keys)
            return original(writer, cursor, keys)

        monkeypatch.setattr(writer_module.TableWriter, "_stored", counting)


def test_fresh_and_appended_imports_look_up_nothing(engine, tmp_path, monkeypatch):
    lookups = _LookupCounter(monkeypatch)

    first = import_file(_export(tmp_path, "first.jsonl", [0, 1, 2, 3]), engine=engine, batch_size=2)
    later = import_file(_export(tmp_path, "later.jsonl", [4, 5]), engine=engine, batch_size=2)

    assert (first.rows_imported, later.rows_imported) == (12, 6)
    assert lookups.keys == 0
    assert len(_stored(engine)) == 18


def test_overlapping_import_counts_each_usage_once(engine, tmp_path, monkeypatch):
    lookups = _LookupCounter(monkeypatch)
    import_file(_export(tmp_path, "first.jsonl", [0, 1, 2, 3]), engine=engine, batch_size=2)

    summary = import_file(_export(tmp_path, "overlap.jsonl", [2, 3, 4, 5]), engine=engine, batch_size=2)

    # Hours 2 and 3 are stored: their 6 rows are looked up and found, hours 4 and 5 are new.
    assert (summary.rows_imported, summary.rows_duplicate) == (6, 6)
    assert lookups.keys == 6
    assert len(_stored(engine)) == 18


def test_repeated_and_unordered_buckets_count_once(engine, tmp_path):
    # Hour 1 comes again after hour 3, in a later batch than its first copy, with new counts.
    path = _export(tmp_path, "unordered.jsonl", [3, 1, 2, 0])
    with path.open("a") as stream:
        stream.write(json.dumps(_page(1, output_tokens=555)) + "\n")

    summary = import_file(path, engine=engine, batch_size=2)

    assert summary.rows_read == 15
    assert (summary.rows_imported, summary.rows_duplicate) == (12, 3)
    stored = _stored(engine)
    assert len(stored) == 12
    # With equal coverage the later copy's values are kept.
    assert [tokens for start, _, tokens in stored if start == START + timedelta(hours=1)] == [555, 555, 555]


def test_partial_bucket_after_full_one_is_not_new(engine, tmp_path):
    # A daily export's first bucket starts mid-day: its key is the aligned day, as is the full day's.
    day = _export(tmp_path, "day.jsonl", [0], seconds=86400)
    import_file(day, engine=engine)
    partial = {"object": "page", "data": [dict(_page(15)["data"][0], end_time=int((START + timedelta(days=1)).timestamp()))]}
    second = {"object": "page", "data": [dict(_page(24)["data"][0], end_time=int((START + timedelta(days=2)).timestamp()))]}
    path = tmp_path / "partial.jsonl"
    path.write_text(json.dumps(partial) + "\n" + json.dumps(second) + "\n")

    summary = import_file(path, engine=engine, batch_size=2)

    # The partial day never replaces the full one; the next full day is new.
    assert (summary.rows_imported, summary.rows_duplicate) == (3, 3)
    assert [start for start, _, _ in _stored(engine)] == [START] * 3 + [START + timedelta(days=1)] * 3


def test_many_keys_at_one_time_still_counted_once(engine, tmp_path, monkeypatch):
    # Past the frontier's key limit, rows at the latest time are looked up instead of remembered.
    monkeypatch.setattr(writer_module, "_FRONTIER_KEYS", 2)
    path = _export(tmp_path, "same_hour.jsonl", [0, 0, 1])

    summary = import_file(path, engine=engine, batch_size=2)

    assert (summary.rows_imported, summary.rows_duplicate) == (6, 3)
    assert len(_stored(engine)) == 6


def test_reimport_applies_edited_mapping(engine, tmp_path):
    # Mapping is applied at import: importing the same export again after adding the project
    # to the mapping updates the stored rows' dimensions and adds no usage.
    from bot.mapping import parse_mapping

    path = _export(tmp_path, "usage.jsonl", [0, 1])
    first = import_file(path, engine=engine, mapping=parse_mapping("projects: {}\n"))
    again = import_file(path, engine=engine, mapping=parse_mapping("projects:\n  proj_search: {team: search}\n"))

    assert (first.rows_imported, again.rows_imported, again.rows_duplicate) == (6, 0, 6)
    table = LlmUsage.__table__
    with engine.connect() as connection:
        teams = connection.execute(sa.select(table.c.team, sa.func.count()).group_by(table.c.team)).all()
    assert teams == [("search", 6)]
