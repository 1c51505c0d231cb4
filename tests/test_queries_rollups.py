"""Rollups give exactly the raw tables' totals, stay current through imports, and are skipped when stale."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

import cost_fixture as fx
import bot.ingest.generic  # noqa: F401  (registers the tools_csv format)
from bot.ingest.loader import import_file
from bot.models import LlmUsage, ReportedCost, ToolUsage, UsageRollup
from bot.queries import rollups
from bot.queries.spend import spend_by
from bot.queries.usage import traffic_by

D = Decimal
GROUPINGS = [(), ("team",), ("feature",), ("model",), ("provider", "service_tier"), ("tool",), ("host",),
             ("project", "day"), ("team", "week")]


def _raw_and_rolled(session, **options):
    session.info[rollups.PINNED_KEY] = False
    try:
        raw = spend_by(session, **options)
    finally:
        session.info.pop(rollups.PINNED_KEY)
    assert rollups.usable(session, options["start"], options["end"])
    return raw, spend_by(session, **options)


@pytest.fixture
def rolled(session):
    fx.load(session)
    rollups.rebuild_rollups(session)
    session.commit()
    return session


@pytest.mark.parametrize("group_by", GROUPINGS, ids=["-".join(g) or "total" for g in GROUPINGS])
def test_rollups_equal_raw_totals(rolled, group_by):
    raw, rolled_rows = _raw_and_rolled(rolled, start=fx.day(1), end=fx.day(20), group_by=group_by,
                                       tz=ZoneInfo("America/New_York"))
    assert rolled_rows == raw
    assert sum(row.total for row in rolled_rows) == D("369.70")  # 50.00 + 219.70 + 100.00


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo"])
def test_rollups_equal_raw_partial_days(rolled, zone):
    # 05:00 UTC bounds read hour rows for the partial edge days and day rows in between.
    raw, rolled_rows = _raw_and_rolled(rolled, start=fx.day(10, 5), end=fx.day(13, 5), group_by=("day", "team"),
                                       tz=ZoneInfo(zone))
    assert rolled_rows == raw
    # 11-10 from 05:00: tools 1.20 (09:00); 11-11: 9.05; 11-12: 9.00; 11-13 before 05:00: 4.40
    assert sum(row.total for row in rolled_rows) == D("23.65")


def test_user_filter_reads_raw_tables(rolled):
    rolled.add(LlmUsage(source="test", natural_key="u1", start_time=fx.day(12), provider="openai", model="gpt-5",
                        cost_usd=D("2.00"), cost_origin="priced", user="alice"))
    rolled.commit()
    rollups.refresh_rollups(rolled, start=fx.day(12), end=fx.day(13))
    rolled.commit()
    assert not rollups.usable(rolled, fx.WEEK_START, fx.WEEK_END, ["user"])
    assert rollups.usable(rolled, fx.WEEK_START, fx.WEEK_END, ["team"])
    rows = spend_by(rolled, start=fx.WEEK_START, end=fx.WEEK_END, filters={"user": ["alice"]})
    assert rows[0].total == D("2.00")
    assert rollups.stored_values(rolled)["user"] == ["alice"]


def test_rollups_equal_raw_traffic(rolled):
    rolled_rows = traffic_by(rolled, start=fx.WEEK_START, end=fx.WEEK_END, group_by=("model",))
    rolled.info[rollups.PINNED_KEY] = False
    raw = traffic_by(rolled, start=fx.WEEK_START, end=fx.WEEK_END, group_by=("model",))
    assert rolled_rows == raw
    assert sum(row.requests for row in rolled_rows) == 590  # 100 + 400 + 50 + 30 + 10


def test_rollups_skipped_when_stale(rolled):
    rolled.add(LlmUsage(source="test", natural_key="late", start_time=fx.day(12, 5), provider="openai",
                        model="gpt-5", cost_usd=D("1.00"), cost_origin="priced", team="search"))
    rolled.commit()
    assert not rollups.is_current(rolled)
    rows = spend_by(rolled, start=fx.WEEK_START, end=fx.WEEK_END)
    assert rows[0].total == D("220.70")  # 219.70 + 1.00, read from the raw tables


def test_rollups_skipped_off_hour_bounds(rolled):
    assert not rollups.usable(rolled, fx.WEEK_START + timedelta(minutes=30), fx.WEEK_END)
    rows = spend_by(rolled, start=fx.day(10) + timedelta(minutes=30), end=fx.day(10, 2))
    # Only the a100-01 sample at 01:00 is inside: 1800 s at 3.43/h = 1.715. The 00:00 rows of the
    # same hour's rollup (12.50 LLM, 165.12 FOCUS, 15.00 review) start before the period.
    assert rows[0].total == D("1.715")


def test_refresh_applies_reported_cost(rolled):
    # A reported line for proj_search on 11-10 replaces the 12.50 priced gpt-5 row of that day.
    rolled.add(ReportedCost(source="test", natural_key="r2", start_time=fx.day(10), bucket_seconds=86400,
                            provider="openai", project="proj_search", team="search", amount_usd=D("13.00")))
    rolled.commit()
    written = rollups.refresh_rollups(rolled, start=fx.day(10), end=fx.day(11), tables=["reported_cost"])
    rolled.commit()
    assert written > 0
    assert rollups.is_current(rolled)
    raw, rolled_rows = _raw_and_rolled(rolled, start=fx.WEEK_START, end=fx.WEEK_END, group_by=("team",))
    assert rolled_rows == raw
    search = next(row for row in rolled_rows if row.group["team"] == "search")
    assert search.by_kind["llm"] == D("20.00")  # 13.00 reported + 7.00 anthropic; 12.50 no longer counted
    tokens = traffic_by(rolled, start=fx.WEEK_START, end=fx.WEEK_END, filters={"model": ["gpt-5"]})
    assert tokens[0].requests == 130  # the replaced row's requests still count


@pytest.mark.parametrize("group_by", GROUPINGS, ids=["-".join(g) or "total" for g in GROUPINGS])
def test_rollups_equal_raw_with_proxied_rows(rolled, group_by):
    # Provider rows marked via_proxy repeat LiteLLM calls on 11-10, where a LiteLLM openai row
    # exists, and count on 11-12, where none does.
    rolled.add_all([
        LlmUsage(source="litellm", natural_key="request|p1", start_time=fx.day(10, 14), provider="openai",
                 model="gpt-5", cost_usd=D("2.00"), cost_origin="reported", requests=1, team="search"),
        LlmUsage(source="test", natural_key="p2", start_time=fx.day(10), bucket_seconds=86400, provider="openai",
                 model="gpt-5", cost_usd=D("3.00"), cost_origin="priced", requests=4, via_proxy=True, team="proxy-only"),
        LlmUsage(source="test", natural_key="p3", start_time=fx.day(12), bucket_seconds=86400, provider="openai",
                 model="gpt-5", cost_usd=D("1.50"), cost_origin="priced", requests=2, via_proxy=True, team="data"),
        ToolUsage(source="test", natural_key="p4", start_time=fx.day(10), bucket_seconds=86400, provider="openai",
                  tool="web_search", calls=30, cost_usd=D("0.30"), cost_origin="priced", via_proxy=True, team="data"),
    ])
    rolled.commit()
    rollups.refresh_rollups(rolled, start=fx.day(10), end=fx.day(13))
    rolled.commit()
    raw, rolled_rows = _raw_and_rolled(rolled, start=fx.day(1), end=fx.day(20), group_by=group_by,
                                       tz=ZoneInfo("America/New_York"))
    assert rolled_rows == raw
    # 369.70 + the LiteLLM row's 2.00 + the 11-12 proxied row's 1.50; the 11-10 proxied rows are left out.
    assert sum(row.total for row in rolled_rows) == D("373.20")
    # The left-out row's team is still a value questions can name, as in the usage table.
    assert "proxy-only" in rollups.stored_values(rolled)["team"]


def test_import_refreshes_rollups(rolled, engine, tmp_path):
    path = tmp_path / "tools.csv"
    path.write_text(
        "start_time,tool,provider,calls,cost_usd,team,workflow\n"
        "2026-11-12T10:00:00Z,web_search,openai,10,0.70,search,semantic-search\n"
        "2026-11-17,file_search,openai,5,0.30,support,ticket-classifier\n",
        encoding="utf-8",
    )
    summary = import_file(path, engine=engine, format_name="tools_csv")
    assert summary.rows_imported == 2
    rolled.expire_all()
    assert rollups.is_current(rolled)
    raw, rolled_rows = _raw_and_rolled(rolled, start=fx.day(1), end=fx.day(20), group_by=("team", "tool"))
    assert rolled_rows == raw
    assert sum(row.by_kind["tools"] for row in rolled_rows) == D("3.00")  # 1.20 + 0.80 + 0.70 + 0.30


def _tools_csv(tmp_path, days: list[int]):
    """Write a tools CSV with one $0.10 row per listed day of November 2026, in that order: a web
    search, or a file search for a day listed before."""
    path = tmp_path / "tools.csv"
    lines = ["start_time,tool,provider,calls,cost_usd,team,workflow"]
    for index, day in enumerate(days):
        tool = "file_search" if day in days[:index] else "web_search"
        lines.append(f"2026-11-{day:02d}T10:00:00Z,{tool},openai,{index + 1},0.10,search,semantic-search")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("days", [list(range(1, 20)), [*range(1, 11), 2, *range(11, 20)]],
                         ids=["in-order", "out-of-order"])
def test_import_builds_finished_days_early(rolled, engine, tmp_path, monkeypatch, days):
    from bot.ingest import loader

    built = []
    monkeypatch.setattr(loader, "build_rollup_days", lambda bind, start, end, tables: (
        built.append((start.day, end.day)), rollups.build_rollup_days(bind, start, end, tables))[1])
    summary = import_file(_tools_csv(tmp_path, days), engine=engine, format_name="tools_csv", batch_size=2)
    assert summary.rows_imported == len(days)
    # Batches of two rows start on odd days, and Nov 9's is the first 7 or more days after Nov 1.
    assert built[0] == (1, 9)
    rolled.expire_all()
    assert rollups.is_current(rolled)
    raw, rolled_rows = _raw_and_rolled(rolled, start=fx.day(1), end=fx.day(20), group_by=("team", "tool", "day"))
    assert rolled_rows == raw
    # The fixture's tools spend is 1.20 + 0.80; each imported row adds 0.10.
    assert sum(row.by_kind["tools"] for row in rolled_rows) == D("2.00") + D("0.10") * len(days)


def test_rebuild_after_first_refresh_builds_all(session):
    fx.load(session)
    written = rollups.refresh_rollups(session, start=fx.day(16), end=fx.day(17))
    session.commit()
    assert rollups.is_current(session)
    days = session.execute(
        sa.select(sa.func.count(sa.distinct(UsageRollup.start_time))).where(UsageRollup.bucket_seconds == 86400)
    ).scalar_one()
    assert written > 0
    # never built before, so every day with usage was rolled up, not only 11-16:
    # 11-08, 11-10, 11-11, 11-12, 11-13, 11-14 and 11-16
    assert days == 7
    assert spend_by(session, start=fx.day(1), end=fx.day(20))[0].total == D("369.70")


def test_sqlite_period_searches_index_per_branch(sqlite_url):
    # The source condition sits in every branch of the period's OR, so SQLite searches the
    # (source, bucket_seconds, start_time) index for each branch instead of scanning the source.
    from bot import db

    start, end = fx.WEEK_START + timedelta(hours=6), fx.WEEK_END + timedelta(hours=3)
    for sources in (["llm_usage"], ["llm_usage", "tool_usage"]):
        chosen = [source for source in rollups.sources("sqlite") if source.name in sources]
        query = rollups.rollup_select(chosen, [sa.func.sum(UsageRollup.cost_usd)], start=start, end=end, filters=None,
                                      dimensions=["model"], hourly=False, dialect="sqlite")
        compiled = query.compile(dialect=db.get_engine(sqlite_url).dialect, compile_kwargs={"render_postcompile": True})
        with db.get_engine(sqlite_url).connect() as connection:
            raw = connection.connection.driver_connection
            plan = [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {compiled}", tuple(compiled.params[name] for name in compiled.positiontup))]
        searches = [step for step in plan if "usage_rollup" in step]
        assert len(searches) == 3, plan
        assert all("ix_usage_rollup_source_bucket_start (source=? AND bucket_seconds=?" in step for step in searches), plan
