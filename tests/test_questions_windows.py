"""A question's "last N days" and a rule's `window_days: N` cover the same whole days, so they
give the same amount on the same data, also in a time zone other than UTC."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from bot.clock import FixedClock
from bot.models import LlmUsage
from bot.questions import answer_question
from bot.rules.runner import run_rules
from bot.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
UTC = timezone.utc
# 07:00 on Wednesday 2026-11-18 in New York (UTC-5), so "today" there began at 05:00 UTC.
AT = datetime(2026, 11, 18, 12, tzinfo=UTC)

UNALLOCATED_RULE = """\
rules:
  - id: unallocated-week
    description: Any unallocated LLM spend in the last 7 days
    metric: unallocated_share
    window_days: 7
    group_by: [provider]
    when:
      unallocated_share: {gte: 0}
    min_spend_usd: 0
    severity: info
    recommendation: "{provider} spent {spend_usd:usd} in {window_days} days"
    guidance: [cost-allocation-showback]
    cooldown_days: 1
"""

# Each row is (UTC start of an hour bucket, cost). Its comment gives the New York time and whether it counts.
ROWS = [
    (datetime(2026, 11, 11, 4, tzinfo=UTC), "1.00"),  # 11-10 23:00 local: the day before the window
    (datetime(2026, 11, 11, 6, tzinfo=UTC), "2.00"),  # 11-11 01:00 local: the window's first day
    (datetime(2026, 11, 17, 23, tzinfo=UTC), "4.00"),  # 11-17 18:00 local: the window's last day
    (datetime(2026, 11, 18, 6, tzinfo=UTC), "8.00"),  # 11-18 01:00 local: today, left out
]


def _settings(db_url: str, tmp_path: Path):
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(ROOT / "rules" / "guidance.yml", rules / "guidance.yml")
    shutil.copy(ROOT / "rules" / "model_classes.yml", rules / "model_classes.yml")
    (rules / "unallocated.yml").write_text(UNALLOCATED_RULE)
    return load_settings(database_url=db_url, timezone="America/New_York", rules_dir=rules,
                         mapping_file=tmp_path / "none.yml", budgets_file=tmp_path / "none.yml")


def test_question_and_rule_same_amount(session, db_url, tmp_path):
    for number, (start, cost) in enumerate(ROWS):
        session.add(LlmUsage(source="test", natural_key=f"w{number}", start_time=start, bucket_seconds=3600,
                             provider="openai", model="gpt-5", service_tier="standard", requests=1,
                             input_tokens=0, cached_input_tokens=0, output_tokens=0, retries=0, failed_requests=0,
                             cost_usd=Decimal(cost), cost_origin="priced"))
    session.commit()
    settings = _settings(db_url, tmp_path)
    clock = FixedClock(AT)

    answer = answer_question(session, "llm spend for openai last 7 days", settings=settings, clock=clock, chart=False)
    report = run_rules(session, settings=settings, clock=clock, dry_run=True)

    [draft] = report.drafts
    assert Decimal(answer.data["result"]["total"]) == Decimal("6.00")  # 2.00 + 4.00
    assert draft.values["spend_usd"] == Decimal("6.00")
    assert draft.recommendation == "openai spent $6.00 in 7 days"
    period = answer.data["period"]
    assert (period["first_day"], period["last_day"]) == ("2026-11-11", "2026-11-17")
    assert period["start"] == draft.window_start.isoformat() == "2026-11-11T05:00:00+00:00"
    assert period["end"] == draft.window_end.isoformat() == "2026-11-18T05:00:00+00:00"
    assert "last 7 days (Nov 11 – Nov 17, 2026)" in answer.text
