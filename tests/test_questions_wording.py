"""Answer texts for edge cases: empty data, single days, date ranges, unpriced groups, counts of one.

The loaded cases use the hand-computed fixture in cost_fixture.py, with now at 2026-11-18 12:00 UTC.
"""

from __future__ import annotations

import pytest

import cost_fixture as fx
from bot.clock import FixedClock
from bot.models import LlmUsage, ToolUsage
from bot.queries.rollups import rebuild_rollups
from bot.questions import answer_question
from bot.questions.answering import _driver_table
from bot.settings import load_settings

D = fx.Decimal


def _ask(session, question: str):
    settings = load_settings(database_url="sqlite://", timezone="UTC", mapping_file="/nonexistent/m.yml")
    return answer_question(session, question, settings=settings, clock=FixedClock(fx.NOW), chart=False)


def test_empty_database_spend_answer(session):
    answer = _ask(session, "spend by team last week")

    assert answer.text.startswith("No spend recorded last week.\n\n")
    # No empty table follows the headline, and the scope line states that nothing is imported.
    assert "team  total" not in answer.text
    assert "last week (Nov 9 – Nov 15, 2026) · all spend · times in UTC · no usage imported yet" in answer.text


def test_empty_database_top_answer(session):
    answer = _ask(session, "top 5 models last week")

    assert answer.text.startswith("No spend recorded last week.\n\n")
    assert "Top 0" not in answer.text


def test_no_spend_names_filter(session):
    fx.load(session)

    assert _ask(session, "spend for team search today").text.startswith("No spend recorded for team search today.")
    assert _ask(session, "spend today").text.startswith("No spend recorded today.")


def test_headline_keeps_value_case(session):
    fx.load(session)
    answer = _ask(session, "spend on A100 last week")

    # a100-01's two samples at $3.43/h on 11-10; the headline keeps "GPU" and "A100" as stored.
    assert answer.text.startswith("GPU model A100 spent $3.43 last week.")


def test_single_day_and_range_phrases(session):
    fx.load(session)

    day = _ask(session, "spend on 2026-11-10")
    # 11-10: gpt-5 12.50, web search 1.20, GPU 3.43 + 165.12, review 15.00
    assert day.text.startswith("Everyone spent $197.25 on 2026-11-10.")
    assert day.follow_ups == ["spend by team on 2026-11-10", "why did spend go up on 2026-11-10"]
    span = _ask(session, "spend from 2026-11-10 to 2026-11-11")
    # plus 11-11: gpt-5-mini 3.25, vector store 0.80, review 5.00
    assert span.text.startswith("Everyone spent $206.30 from 2026-11-10 to 2026-11-11.")


def test_unpriced_group_not_shown_as_zero(session):
    fx.load(session)

    answer = _ask(session, "spend on 2026-11-14 by model")

    assert "mystery-model  unpriced" in answer.text
    assert "mystery-model  $0.00" not in answer.text
    assert ("Usage rows without a known price: 1. They are not in these totals (they are not counted as $0).") \
        in answer.text


def test_top_others_row_counts(session):
    fx.load(session)

    single = _ask(session, "top 1 teams last week")
    assert single.text.startswith("Top 1 team by spend last week (of $219.70 in all).")
    assert "4 others" in single.text
    four = _ask(session, "top 4 teams last week")
    # ml-platform, search, support and the unallocated GPU sample without a rate are shown, then team data.
    lines = [" ".join(line.split()) for line in four.text.splitlines()]
    assert "(unallocated) unpriced 0.0%" in lines
    assert "1 other $0.00 0.0%" in lines


def test_driver_table_one_other_group():
    zero = D("0")
    entry = {"dimension": "team",
             "rows": [{"value": "search", "before": D("10"), "after": D("15"), "change": D("5")}],
             "others": {"groups": 1, "before": D("2"), "after": D("3"), "change": D("1")},
             "outside": {"before": zero, "after": zero, "change": zero, "kinds": []}}
    result = {"previous": D("12"), "current": D("18"), "change": D("6")}

    table = _driver_table(entry, result)

    assert table[2] == ["1 other team", "$2.00", "$3.00", "+$1.00"]


def test_spend_by_model_names_kinds_without_model(session):
    fx.load(session)

    answer = _ask(session, "spend by model last week")

    lines = [" ".join(line.split()) for line in answer.text.splitlines()]
    # Tools 2.00, GPU 3.43 + 165.12, review 20.00 and other 2.00 cannot have a model.
    assert "no model: tools, GPU, review, other $0.00 $2.00 $168.55 $20.00 $2.00 $192.55" in lines
    # The reported openai line of 11-13 is LLM spend whose model the cost report does not give.
    assert "(unallocated) $4.40 $0.00 $0.00 $0.00 $0.00 $4.40" in lines
    rows = {tuple(row["not_applicable"]): row for row in answer.data["result"]["rows"] if row["group"]["model"] is None}
    assert rows[("model",)]["total"] == "192.55"
    assert rows[()]["total"] == "4.40"


def test_spend_by_provider_names_review(session):
    fx.load(session)

    answer = _ask(session, "spend by provider last week")

    lines = [" ".join(line.split()) for line in answer.text.splitlines()]
    assert "no provider: review $0.00 $0.00 $0.00 $20.00 $0.00 $20.00" in lines
    # The a100-01 GPU samples could name a provider but do not.
    assert "(unallocated) $0.00 $0.00 $3.43 $0.00 $0.00 $3.43" in lines


def _load_with_uncounted_requests(session) -> None:
    # An Anthropic usage report line: tokens and a price, but no request count.
    fx.load(session)
    session.add(LlmUsage(source="test", natural_key="a1", start_time=fx.day(12), bucket_seconds=86400,
                         provider="anthropic", model="claude-haiku-4-5", service_tier="standard",
                         cost_usd=D("3.00"), cost_origin="priced", team="support", feature="support-reply-drafts",
                         requests=0, input_tokens=90000, output_tokens=10000))
    session.commit()


def test_retries_without_request_counts(session):
    _load_with_uncounted_requests(session)

    answer = _ask(session, "retry overhead last week")

    lines = [" ".join(line.split()) for line in answer.text.splitlines()]
    assert "support-reply-drafts n/a n/a n/a n/a" in lines
    assert "support-reply-drafts 0 0.0% $0.00 $0.00" not in lines
    assert ("n/a: the usage of these groups has no request counts (Anthropic usage reports give none), so their "
            "retry rate and retry cost are unknown, not zero. The estimate above counts no retries for them.") \
        in answer.text
    # semantic-search has request counts: 100 + 50 requests, 15 retries.
    assert "semantic-search 150 10.0% $2.02 $0.39" in lines


def test_tokens_without_request_counts(session):
    _load_with_uncounted_requests(session)

    answer = _ask(session, "tokens by model last week")

    lines = [" ".join(line.split()) for line in answer.text.splitlines()]
    assert "claude-haiku-4-5 n/a 90,000 0 10,000" in lines
    assert ("n/a: the usage of these groups has no request counts (Anthropic usage reports give none), so the "
            "request total leaves them out.") in answer.text


def test_tokens_with_counts_have_no_note(session):
    fx.load(session)

    answer = _ask(session, "tokens by model last week")

    assert "n/a" not in answer.text
    assert "no request counts" not in answer.text


def test_retries_with_counts_have_no_note(session):
    fx.load(session)

    answer = _ask(session, "retry overhead last week")

    assert "n/a" not in answer.text
    assert "no request counts" not in answer.text


def _ask_with_mapping(session, question: str, mapping_file):
    settings = load_settings(database_url="sqlite://", timezone="UTC", mapping_file=mapping_file)
    return answer_question(session, question, settings=settings, clock=FixedClock(fx.NOW), chart=False)


def test_tiers_eligible_lists_llm_features(session, tmp_path):
    fx.load(session)
    mapping = tmp_path / "mapping.yml"
    mapping.write_text("features:\n"
                       "  ticket-classifier: {interactive: false}\n"
                       "  fine-tuning: {interactive: false}\n"
                       "  semantic-search: {interactive: true}\n")

    answer = _ask_with_mapping(session, "tier mix last week", mapping)

    # ticket-classifier's standard row l4 costs 4.00, so moving it saves 2.00. fine-tuning has only GPU spend.
    assert ("Eligible: standard and priority traffic of the non-interactive features ticket-classifier. ") in answer.text
    assert "fine-tuning" not in answer.text
    assert answer.data["result"]["eligible_features"] == ["ticket-classifier"]
    assert answer.data["result"]["batch_saving"] == "2.00"


def test_tiers_no_eligible_feature(session, tmp_path):
    fx.load(session)
    mapping = tmp_path / "mapping.yml"
    mapping.write_text("features:\n  fine-tuning: {interactive: false}\n")

    answer = _ask_with_mapping(session, "tier mix last week", mapping)

    assert ("No feature marked non-interactive in the mapping file spent on the standard or priority tier, "
            "so there is nothing to move.") in answer.text
    assert "Eligible:" not in answer.text


def test_empty_spend_names_replaced_usage(session):
    # gpt-5's usage on 11-13 (30 requests, $4.00 priced) is replaced in spend by the OpenAI cost
    # report line of proj_support, which has no model, so the model's spend that day is empty.
    fx.load(session)
    answer = _ask(session, "spend on gpt-5 on 2026-11-13")

    assert answer.text.startswith("No spend recorded for model gpt-5 on 2026-11-13.\n\n")
    assert ("Its LLM usage is stored (30 requests, $4.00 at list prices), but the provider's cost report for "
            "those days replaces priced usage and has no such breakdown, so that spend counts as (unallocated).") in answer.text


def test_empty_spend_without_usage_has_no_note(session):
    fx.load(session)
    answer = _ask(session, "spend on claude-sonnet-4 on 2026-11-13")

    assert answer.text.startswith("No spend recorded for model claude-sonnet-4 on 2026-11-13.")
    assert "Its LLM usage is stored" not in answer.text


def test_empty_gpu_model_names_focus_hosts(session):
    # h100-idle-01's samples report H100, but its spend on 11-10 is the FOCUS row ($165.12), which
    # has no GPU model, so "spend on H100" finds no spend of its own.
    fx.load(session)
    answer = _ask(session, "spend on H100 on 2026-11-10")

    assert answer.text.startswith("No spend recorded for GPU model H100 on 2026-11-10.\n\n")
    assert ("Hosts sampled with that GPU model (h100-idle-01) spent $165.12 in this period, billed through "
            "FOCUS rows that carry no GPU model, so this answer cannot count it.") in answer.text
    assert "Try “spend by host” or “gpu utilization”." in answer.text


def test_empty_gpu_model_without_focus_rows(session):
    # gpu-x (L4) has samples but no FOCUS rows, and no rate, so nothing explains an empty answer.
    fx.load(session)
    answer = _ask(session, "spend on L4 on 2026-11-12")

    assert answer.text.startswith("No spend recorded for GPU model L4 on 2026-11-12.")
    assert "Hosts sampled with that GPU model" not in answer.text


def _load_with_lowercase_aws(session) -> None:
    # The fixture's FOCUS rows name the provider "AWS"; a tools CSV may spell it "aws".
    fx.load(session)
    session.add(ToolUsage(source="test", natural_key="t-aws", start_time=fx.day(11, 9), tool="storage",
                          provider="aws", calls=1, cost_usd=D("0.50"), cost_origin="reported", team="data"))
    session.commit()


def test_provider_filter_matches_cloud_vendor(session):
    # FOCUS gpu 165.12 and other 2.00 ("AWS") plus storage 0.50 ("aws") last week.
    _load_with_lowercase_aws(session)
    answer = _ask(session, "spend for provider aws last week")

    assert "is stored (known:" not in answer.text
    assert answer.text.startswith("Provider AWS or aws spent $167.62 last week.")


def test_provider_filter_uses_rollups(session):
    _load_with_lowercase_aws(session)
    rebuild_rollups(session)
    session.commit()
    answer = _ask(session, "aws spend last week")

    assert "Ignored the word" not in answer.text
    assert answer.text.startswith("Provider AWS or aws spent $167.62 last week.")


@pytest.mark.parametrize("rolled", [False, True], ids=["raw", "rollups"])
def test_provider_spellings_group_as_one(session, rolled):
    # "AWS" (FOCUS) and "aws" (tools) are one provider row, in lower case like openai.
    _load_with_lowercase_aws(session)
    if rolled:
        rebuild_rollups(session)
        session.commit()
    answer = _ask(session, "spend by provider last week")

    providers = [row["group"]["provider"] for row in answer.data["result"]["rows"]]
    assert providers.count("aws") == 1
    assert "AWS" not in providers
    [aws] = [row for row in answer.data["result"]["rows"] if row["group"]["provider"] == "aws"]
    assert aws["total"] == "167.62"


def test_unknown_model_name_gets_no_numbers(session):
    # A name-shaped word that matches nothing is a filter the store cannot apply, so the answer
    # names the closest stored values instead of stating everyone's spend.
    fx.load(session)
    answer = _ask(session, "spend on claude-opus-4-5 last week")

    assert answer.text.startswith(
        "No team, feature, model or other value “claude-opus-4-5” is stored (closest stored: claude-sonnet-4"
    )
    assert "$" not in answer.text.split("\n\n")[0]
    assert "Everyone spent" not in answer.text


def test_unknown_plain_word_is_noted(session):
    fx.load(session)
    answer = _ask(session, "spend last week please kindly")

    assert answer.text.startswith("Everyone spent")
    assert "Ignored the word “kindly”" in answer.text


def _ask_at(session, question: str, now, timezone: str = "UTC", at_hint: bool = False):
    settings = load_settings(database_url="sqlite://", timezone=timezone, mapping_file="/nonexistent/m.yml")
    return answer_question(session, question, settings=settings, clock=FixedClock(now), chart=False, at_hint=at_hint)


def test_period_after_data_names_data_end(session):
    # As of Nov 30 12:00, last week is Nov 23-29, after every fixture row. The newest row is the
    # daily bucket of Nov 16, which ends Nov 17 00:00.
    fx.load(session)
    answer = _ask_at(session, "spend last week", fx.day(30, 12))

    headline = "No spend recorded last week.\nNo usage is stored for this period. The latest stored usage ends 2026-11-17 00:00."
    assert answer.text.startswith(headline + "\n\n")
    assert "--at" not in answer.text
    # Slack shows the explanation in the headline's section, not in a block of its own.
    sections = [block["text"]["text"] for block in answer.blocks if block["type"] == "section"]
    assert sections == [headline]


def test_period_after_data_cli_hint(session):
    fx.load(session)
    answer = _ask_at(session, "top 5 features by spend last week", fx.day(30, 12), at_hint=True)

    assert answer.text.startswith(
        "No spend recorded last week.\n"
        "No usage is stored for this period. The latest stored usage ends 2026-11-17 00:00.\n"
        "To ask as of another moment, add --at TIME, such as --at 2026-11-17T00:00Z.\n\n")


def test_period_without_usage_local_time(session):
    # The end is stated in the workspace time zone (Nov 17 00:00 UTC is Nov 16 19:00 in New York,
    # UTC-5), and the --at example in UTC, which `costbot ask --at` reads as written.
    fx.load(session)
    answer = _ask_at(session, "spend last week", fx.day(30, 12), timezone="America/New_York", at_hint=True)

    assert "The latest stored usage ends 2026-11-16 19:00.\n" in answer.text
    assert "such as --at 2026-11-17T00:00Z." in answer.text


def test_period_before_data_names_data_end(session):
    # October 2026 is before the first fixture row (Nov 8), so it has no usage either.
    fx.load(session)
    answer = _ask(session, "spend in October 2026")

    assert answer.text.startswith(
        "No spend recorded in October 2026.\n"
        "No usage is stored for this period. The latest stored usage ends 2026-11-17 00:00.\n\n")


def test_compare_without_usage_hint_above_table(session):
    # Last week (Nov 23-29) has no usage and the week before (Nov 16-22) has l7's $100.00 of Nov 16.
    fx.load(session)
    answer = _ask_at(session, "why did spend go up last week", fx.day(30, 12))

    assert answer.text.startswith(
        "Everyone spent $0.00 last week, down $100.00 (-100.0%) from $100.00 the week before (Nov 16 – Nov 22, 2026).\n"
        "No usage is stored for this period. The latest stored usage ends 2026-11-17 00:00.\n\n")


def test_filtered_empty_period_has_no_hint(session):
    # Team data spent nothing on Nov 10, but other teams did, so the period has usage.
    fx.load(session)
    answer = _ask(session, "spend for team data on 2026-11-10")

    assert answer.text.startswith("No spend recorded for team data on 2026-11-10.\n\n")
    assert "No usage is stored for this period" not in answer.text


def test_empty_database_has_no_hint(session):
    answer = _ask_at(session, "spend last week", fx.day(30, 12), at_hint=True)

    assert answer.text.startswith("No spend recorded last week.\n\n")
    assert "--at" not in answer.text


def test_cli_ask_names_data_end(session, cli_env):
    from typer.testing import CliRunner

    from bot.cli import app

    fx.load(session)
    result = CliRunner().invoke(app, ["ask", "--at", "2026-11-30T12:00Z", "spend last week"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "No spend recorded last week.\n"
        "No usage is stored for this period. The latest stored usage ends 2026-11-17 00:00.\n"
        "To ask as of another moment, add --at TIME, such as --at 2026-11-17T00:00Z.\n\n")
