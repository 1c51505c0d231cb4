"""Every example question: its structured query, and its figure on the fixture on both databases."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

import cost_fixture as fx
from bot.clock import FixedClock
from bot.questions import answer_question
from bot.questions.parser import parse
from bot.queries.rollups import rebuild_rollups
from bot.settings import load_settings
from question_examples import EXAMPLES, markdown

DOCS = Path(__file__).resolve().parent.parent / "docs" / "questions.md"
VOCABULARY = {
    "team": ["data", "ml-platform", "search", "support"],
    "feature": ["doc-extraction", "fine-tuning", "semantic-search", "ticket-classifier"],
    "tenant": [], "user": [], "environment": [],
    "project": ["proj_data", "proj_search", "proj_support", "ws_search"],
    "provider": ["anthropic", "openai"],
    "model": ["claude-sonnet-4", "gpt-5", "gpt-5-mini", "mystery-model"],
    "service_tier": ["batch", "priority", "standard"],
    "tool": ["vector_store", "web_search"],
    "host": ["a100-01", "gpu-x", "h100-idle-01"],
    "gpu_model": ["A100", "H100", "L4"],
}


def test_examples_are_forty_or_more():
    assert len(EXAMPLES) >= 40
    assert len({example.question for example in EXAMPLES}) == len(EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.question for example in EXAMPLES])
def test_example_parses_to_query(example):
    query = parse(example.question, vocabulary=VOCABULARY, today=date(2026, 11, 18), tz_name="UTC",
                  now=datetime(2026, 11, 18, 12, tzinfo=timezone.utc))
    assert query.as_dict() == example.query


def test_docs_page_matches_table():
    assert DOCS.read_text(encoding="utf-8") == markdown(), "regenerate: python tests/question_examples.py > docs/questions.md"


@pytest.fixture(params=["raw", "rollups"])
def answered_session(request, session):
    fx.load(session)
    if request.param == "rollups":
        rebuild_rollups(session)
        session.commit()
    return session


def test_example_figures(answered_session, tmp_path):
    settings = load_settings(database_url="sqlite://", timezone="UTC", mapping_file=tmp_path / "none.yml",
                             budgets_file=tmp_path / "none.yml")
    clock = FixedClock(fx.NOW)
    for example in EXAMPLES:
        answer = answer_question(answered_session, example.question, settings=settings, clock=clock, chart=False)
        assert answer.data["query"] == example.query, example.question
        assert answer.text, example.question
        assert answer.blocks, example.question
        if example.figure is not None:
            assert example.figure(answer.data["result"]) == example.expected, example.question
        if example.query["intent"] not in ("help", "budgets"):
            assert "times in UTC" in answer.text, example.question
            # The newest fixture row is the daily bucket of Nov 16, which ends Nov 17 00:00.
            assert "data up to 2026-11-17 00:00" in answer.text, example.question
