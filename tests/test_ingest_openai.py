"""OpenAI Usage and Costs API exports: sample totals, export shapes, overlaps and prices."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.ingest.base import ImportFailed
from bot.ingest.loader import import_file
from bot.models.usage import LlmUsage, ReportedCost, ToolUsage
from bot.pricing import Pricer

# The published sample exports, bundled under tests/fixtures/formats/ (sources in its README).
SAMPLES = Path(__file__).resolve().parent / "fixtures" / "formats" / "openai"

NOV_1_2024 = datetime(2024, 11, 1, tzinfo=timezone.utc)  # start_time 1730419200 of every sample


def _sum(engine, column, *where):
    with engine.connect() as connection:
        return connection.execute(sa.select(sa.func.coalesce(sa.func.sum(column), 0)).where(*where)).scalar_one()


def _count(engine, model, *where):
    with engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(model.__table__).where(*where)).scalar_one()


def test_every_sample_loads_with_hand_totals(engine):
    files = sorted(SAMPLES.glob("*.json"))
    assert len(files) == 11
    for path in files:
        summary = import_file(path, engine=engine, pricer=Pricer())
        assert summary.rows_read == 1, path.name
        assert summary.rows_imported == 1, path.name

    llm = LlmUsage.__table__.c
    # Model rows: completions, embeddings, moderations, images, audio speeches, transcriptions.
    assert _count(engine, LlmUsage) == 6
    # num_model_requests: completions 5 + embeddings 2 + moderations 2 + images 2 + speeches 1
    # + transcriptions 1 = 13
    assert _sum(engine, llm.requests) == 13
    # input_tokens: completions 1000 (the 400 cached and 100 cache-write tokens are part of it,
    # never added again) + embeddings 16 + moderations 16 = 1032
    assert _sum(engine, llm.input_tokens) == 1032
    assert _sum(engine, llm.cached_input_tokens) == 400
    assert _sum(engine, llm.cache_write_tokens) == 100
    assert _sum(engine, llm.output_tokens) == 500
    # The samples are not grouped by model, so nothing can be priced and nothing counts as $0.
    assert _count(engine, LlmUsage, llm.cost_origin == "unpriced") == 6
    assert _count(engine, LlmUsage, llm.cost_usd.is_not(None)) == 0

    tool = ToolUsage.__table__.c
    assert _sum(engine, tool.calls, tool.tool == "web_search") == 2  # num_requests
    assert _sum(engine, tool.calls, tool.tool == "file_search") == 2  # num_requests
    assert _sum(engine, tool.calls, tool.tool == "code_interpreter") == 1  # num_sessions
    assert _sum(engine, tool.quantity, tool.tool == "vector_store") == 1024  # usage_bytes

    cost = ReportedCost.__table__.c
    assert _sum(engine, cost.amount_usd) == Decimal("0.06")  # amount.value 0.06, currency usd
    with engine.connect() as connection:
        starts = set(connection.execute(sa.select(llm.start_time)).scalars())
    assert starts == {NOV_1_2024}


def test_reimport_counts_once(engine):
    path = SAMPLES / "usage_completions.example.json"
    first = import_file(path, engine=engine)
    second = import_file(path, engine=engine)
    assert (first.rows_imported, first.rows_duplicate) == (1, 0)
    assert (second.rows_imported, second.rows_duplicate) == (0, 1)
    assert _count(engine, LlmUsage) == 1
    assert _sum(engine, LlmUsage.__table__.c.input_tokens) == 1000


def _page(buckets: list[tuple[str, str, list[dict]]]) -> dict:
    data = []
    for start, end, results in buckets:
        data.append({
            "object": "bucket",
            "start_time": int(datetime.fromisoformat(start).timestamp()),
            "end_time": int(datetime.fromisoformat(end).timestamp()),
            "results": results,
        })  # fmt: skip
    return {"object": "page", "data": data, "has_more": False, "next_page": None}


def _completions(input_tokens: int, **fields) -> dict:
    result = {
        "object": "organization.usage.completions.result",
        "input_tokens": input_tokens, "input_cached_tokens": 0, "output_tokens": input_tokens // 10,
        "num_model_requests": 1, "project_id": "proj_search", "user_id": None, "api_key_id": None,
        "model": None, "batch": None, "service_tier": None,
    }  # fmt: skip
    result.update(fields)
    return result


def test_overlapping_exports_count_usage_once(engine, tmp_path):
    # Export A was queried from 2026-11-01 13:27 to 2026-11-03 09:00: its first bucket starts at
    # the query's start time and its last ends at the moment of the query, so both are partial.
    export_a = _page([
        ("2026-11-01T13:27:00+00:00", "2026-11-02T00:00:00+00:00", [_completions(300)]),
        ("2026-11-02T00:00:00+00:00", "2026-11-03T00:00:00+00:00", [_completions(1000)]),
        ("2026-11-03T00:00:00+00:00", "2026-11-03T09:00:00+00:00", [_completions(200)]),
    ])  # fmt: skip
    # Export B covers whole days 2026-11-01 to 2026-11-03.
    export_b = _page([
        ("2026-11-01T00:00:00+00:00", "2026-11-02T00:00:00+00:00", [_completions(800)]),
        ("2026-11-02T00:00:00+00:00", "2026-11-03T00:00:00+00:00", [_completions(1000)]),
        ("2026-11-03T00:00:00+00:00", "2026-11-04T00:00:00+00:00", [_completions(900)]),
    ])  # fmt: skip
    path_a = tmp_path / "a.json"
    path_b = tmp_path / "b.json"
    path_a.write_text(json.dumps(export_a))
    path_b.write_text(json.dumps(export_b))

    import_file(path_a, engine=engine)
    # Until B arrives, A's partial days are all there is: 300 + 1000 + 200 = 1500.
    assert _sum(engine, LlmUsage.__table__.c.input_tokens) == 1500
    summary_b = import_file(path_b, engine=engine)
    # B's full days replace A's partial ones (imported 2); 11-02 is the same bucket (duplicate 1).
    assert (summary_b.rows_imported, summary_b.rows_duplicate) == (2, 1)
    # Each day counts once, from the full bucket: 800 + 1000 + 900 = 2700.
    assert _sum(engine, LlmUsage.__table__.c.input_tokens) == 2700
    assert _count(engine, LlmUsage) == 3

    # Importing A again (or in the other order) never lets a partial bucket replace a full one.
    again = import_file(path_a, engine=engine)
    assert (again.rows_imported, again.rows_duplicate) == (0, 3)
    assert _sum(engine, LlmUsage.__table__.c.input_tokens) == 2700


def test_export_shapes_give_same_totals(engine, tmp_path):
    page = json.loads((SAMPLES / "usage_completions.example.json").read_text())
    second = _page([("2024-11-02T00:00:00+00:00", "2024-11-03T00:00:00+00:00", [_completions(70)])])
    shapes = {
        "array.json": json.dumps([page, second], indent=2),
        "lines.jsonl": json.dumps(page) + "\n" + json.dumps(second) + "\n",
        "buckets.json": json.dumps(page["data"] + second["data"]),
    }
    for name, text in shapes.items():
        path = tmp_path / name
        path.write_text(text)
        summary = import_file(path, engine=engine)
        assert summary.format == "openai_usage", name
        # 1000 input tokens from the sample page + 70 from the second page
        assert _sum(engine, LlmUsage.__table__.c.input_tokens) == 1070, name
        assert _count(engine, LlmUsage) == 2, name


def test_json_lines_errors_name_their_line(engine, tmp_path):
    day = ("2026-11-01T00:00:00+00:00", "2026-11-02T00:00:00+00:00")
    good = json.dumps(_page([(*day, [_completions(100)])]))
    bad = json.dumps(_page([(*day, [_completions(200, model="gpt-4o-mini"), _completions(-5, model="o3")])]))
    path = tmp_path / "usage.jsonl"
    path.write_text(f"{good}\n{good}\n{bad}\n")
    with pytest.raises(ImportFailed) as caught:
        import_file(path, engine=engine)
    assert [str(error) for error in caught.value.errors] == [
        f"{path}:3: input_tokens: -5: negative; expected a whole number >= 0"
    ]
    assert _count(engine, LlmUsage) == 0

    path.write_text(f"{good}\n{good[: len(good) // 2]}")  # cut inside the results
    with pytest.raises(ImportFailed) as caught:
        import_file(path, engine=engine)
    assert [str(error) for error in caught.value.errors] == [
        f"{path}:2: json: '': truncated JSON: the file ends inside a value; export the file again"
    ]
    assert _count(engine, LlmUsage) == 0


def test_unknown_fields_are_ignored(engine, tmp_path):
    page = json.loads((SAMPLES / "costs.example.json").read_text())
    page["organization_id"] = "org-123"
    page["data"][0]["results"][0]["organization_id"] = "org-123"
    page["data"][0]["results"][0]["amount"]["value"] = 12.3456789  # seven decimals stay exact
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(page))
    import_file(path, engine=engine)
    assert _sum(engine, ReportedCost.__table__.c.amount_usd) == Decimal("12.3456789")


@pytest.mark.parametrize(
    ("model", "fields", "expected"),
    [
        # gpt-4o-mini: $0.15 input, $0.075 cached input, $0.60 output per million tokens.
        # 600,000 uncached * 0.15 + 400,000 cached * 0.075 + 200,000 output * 0.60 = 0.09 + 0.03 + 0.12
        ("gpt-4o-mini-2024-07-18", {}, Decimal("0.24")),
        ("gpt-4o-mini-2024-07-18", {"batch": True}, Decimal("0.12")),  # 0.24 * 0.5
        ("gpt-4o-mini-2024-07-18", {"service_tier": "flex"}, Decimal("0.12")),  # Batch rates
        # gpt-4.1: $2 input, $0.50 cached, $8 output: 1.2 + 0.2 + 1.6 = 3.0, priority 1.75x
        ("gpt-4.1", {"service_tier": "priority"}, Decimal("5.25")),
        # o3 has the same rates as gpt-4.1 and no priority entry: default 2x -> 3.0 * 2
        ("o3", {"service_tier": "priority"}, Decimal("6.0")),
    ],
)
def test_completions_priced_by_tier(engine, tmp_path, model, fields, expected):
    result = _completions(1_000_000, input_cached_tokens=400_000, output_tokens=200_000, model=model, **fields)
    path = tmp_path / "usage.json"
    path.write_text(json.dumps(_page([("2026-11-01T00:00:00+00:00", "2026-11-02T00:00:00+00:00", [result])])))
    import_file(path, engine=engine, pricer=Pricer())
    with engine.connect() as connection:
        cost, origin = connection.execute(sa.select(LlmUsage.__table__.c.cost_usd, LlmUsage.__table__.c.cost_origin)).one()
    assert origin == "priced"
    assert cost == expected
