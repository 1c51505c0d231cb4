"""The total of a grouped spend answer's data (`costbot ask --json`) is the sum of all groups,
the same amount as the headline, not the last table row."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from bot.clock import FixedClock
from bot.models import LlmUsage
from bot.questions import answer_question
from bot.settings import load_settings

UTC = timezone.utc
AT = datetime(2026, 11, 18, 12, tzinfo=UTC)

# (model, UTC start of an hour bucket inside the last 7 days, Nov 11 to Nov 17, cost)
ROWS = [
    ("gpt-5-mini", datetime(2026, 11, 12, 9, tzinfo=UTC), "4.00"),
    ("gpt-5", datetime(2026, 11, 13, 9, tzinfo=UTC), "2.00"),
]


def test_grouped_spend_data_total(session, db_url, tmp_path: Path):
    for number, (model, start, cost) in enumerate(ROWS):
        session.add(LlmUsage(source="test", natural_key=f"t{number}", start_time=start, bucket_seconds=3600,
                             provider="openai", model=model, service_tier="standard", requests=1,
                             input_tokens=0, cached_input_tokens=0, output_tokens=0, retries=0, failed_requests=0,
                             cost_usd=Decimal(cost), cost_origin="priced"))
    session.commit()
    settings = load_settings(database_url=db_url, rules_dir=tmp_path, mapping_file=tmp_path / "none.yml",
                             budgets_file=tmp_path / "none.yml")

    answer = answer_question(session, "spend by model last 7 days", settings=settings, clock=FixedClock(AT),
                             chart=False)

    result = answer.data["result"]
    assert Decimal(result["total"]) == Decimal("6.00")  # 4.00 + 2.00
    assert [Decimal(row["total"]) for row in result["rows"]] == [Decimal("4.00"), Decimal("2.00")]
    assert "spent $6.00 last 7 days" in answer.text
