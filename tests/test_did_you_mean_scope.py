"""The scope line of a did-you-mean answer names only the filters the question matched."""

from __future__ import annotations

import cost_fixture as fx
from bot.clock import FixedClock
from bot.questions import answer_question
from bot.settings import load_settings


def _context_lines(blocks):
    return [element["text"] for block in blocks if block["type"] == "context" for element in block["elements"]]


def test_did_you_mean_scope_leaves_out_guess(session):
    fx.load(session)
    settings = load_settings(database_url="sqlite://", mapping_file="/nonexistent/m.yml")
    answer = answer_question(session, "spend for team support on claude-sonet-4 last week", settings=settings,
                             clock=FixedClock(fx.NOW))

    assert answer.text.startswith("I could not match “claude-sonet-4” to a question word or a stored value. "
                                  "Did you mean: spend for team support on claude-sonnet-4 last week?")
    assert "result" not in answer.data
    # The guessed model is in the corrected query, which the follow-up offers, but not in the scope line.
    assert answer.data["query"]["filters"] == {"model": ["claude-sonnet-4"], "team": ["support"]}
    scope = "last week (Nov 9 – Nov 15, 2026) · team support · times in UTC · data up to 2026-11-17 00:00"
    assert f"\n\n{scope}\n\n" in answer.text
    # Slack shows the same line as the context block under the headline.
    assert _context_lines(answer.blocks)[0] == scope


def test_did_you_mean_scope_without_filters(session):
    fx.load(session)
    settings = load_settings(database_url="sqlite://", mapping_file="/nonexistent/m.yml")
    answer = answer_question(session, "spend on claude-sonet-4 last week", settings=settings, clock=FixedClock(fx.NOW))

    scope = "last week (Nov 9 – Nov 15, 2026) · all spend · times in UTC · data up to 2026-11-17 00:00"
    assert f"\n\n{scope}\n\n" in answer.text
    assert _context_lines(answer.blocks)[0] == scope
    assert "claude-sonnet-4 ·" not in answer.text


def test_matched_filter_stays_in_scope(session):
    fx.load(session)
    settings = load_settings(database_url="sqlite://", mapping_file="/nonexistent/m.yml")
    answer = answer_question(session, "spend on claude-sonnet-4 last week", settings=settings, clock=FixedClock(fx.NOW))

    # The stored model is matched exactly, so the answer has numbers and names the filter:
    # row l3, anthropic claude-sonnet-4 on Nov 12, cost 7.00.
    assert answer.data["result"]["total"] == "7.00"
    assert _context_lines(answer.blocks)[0] == (
        "last week (Nov 9 – Nov 15, 2026) · model claude-sonnet-4 · times in UTC · data up to 2026-11-17 00:00")
