"""The built-in rule pack on the seeded demo data: every planted case fires, nothing else does."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from bot.clock import FixedClock
from bot.demo import cases
from bot.ingest.loader import import_file
from bot.mapping import load_mapping
from bot.models import OutboxMessage
from bot.pricing import load_pricer
from bot.rules.runner import run_rules
from bot.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

EXPECTED = {
    *(("idle-rented-gpus", f"host={host}") for host in cases.IDLE_H100_HOSTS),
    *(("h100-where-a100-would-do", f"host={host}") for host in cases.SERVING_H100_HOSTS),
    ("premium-model-overuse", f"feature={cases.PREMIUM_FEATURE}"),
    ("retry-spike", f"feature={cases.RETRY_FEATURE}"),
    ("cost-per-success-regression", f"feature={cases.REGRESSION_FEATURE}"),
    ("spend-spike", f"feature={cases.SPIKE_FEATURE}"),
    ("unallocated-spend", "provider=openai"),
    ("batchable-on-standard", f"feature={cases.BATCHABLE_FEATURE}"),
    ("priority-nobody-waits-for", f"feature={cases.PRIORITY_FEATURE}"),
}


def import_examples(engine) -> None:
    mapping = load_mapping(EXAMPLES / "mapping.yml")
    pricer = load_pricer(None)
    files = sorted(path for path in EXAMPLES.rglob("*") if path.suffix in (".json", ".csv"))
    for path in files:
        import_file(path, engine=engine, mapping=mapping, pricer=pricer)


@pytest.mark.slow
def test_builtin_rules_on_demo_data(engine, session, db_url, tmp_path):
    import_examples(engine)
    settings = load_settings(
        database_url=db_url, rules_dir=ROOT / "rules", mapping_file=EXAMPLES / "mapping.yml",
        budgets_file=EXAMPLES / "budgets.yml", default_channel="#ai-costs",
    )
    report = run_rules(session, settings=settings, clock=FixedClock(cases.DEFAULT_END))
    session.commit()

    assert report.errors == []
    assert {(finding.rule_id, finding.scope_key) for finding in report.findings} == EXPECTED
    by_case = {(finding.rule_id, finding.scope_key): finding for finding in report.findings}

    premium = by_case[("premium-model-overuse", "feature=ticket-classifier")]
    assert premium.notify == "U0SUPP001"
    assert "78% of its spend" in premium.recommendation
    assert "was 94%" in premium.recommendation
    assert premium.facts["values"]["top_premium_model"] == cases.PREMIUM_MODEL

    regression = by_case[("cost-per-success-regression", f"feature={cases.REGRESSION_FEATURE}")]
    values = regression.facts["values"]
    assert values["baseline_top_model"] == cases.REGRESSION_PREVIOUS_MODEL
    assert values["top_model"] == cases.REGRESSION_MODEL
    assert abs(values["change_ratio"] - (1 + cases.REGRESSION_COST_PER_SUCCESS_CHANGE)) < 0.08

    retry = by_case[("retry-spike", f"feature={cases.RETRY_FEATURE}")].facts["values"]
    assert abs(retry["retry_rate"] - cases.RETRY_SHARE_SPIKE) < 0.05
    assert abs(retry["baseline_retry_rate"] - cases.RETRY_SHARE_BEFORE) < 0.02

    spike = by_case[("spend-spike", f"feature={cases.SPIKE_FEATURE}")].facts["values"]
    assert abs(spike["change_ratio"] - cases.SPIKE_FACTOR) < 0.2

    unallocated = by_case[("unallocated-spend", "provider=openai")]
    assert unallocated.notify == "#ai-costs"  # a provider has no owner
    assert abs(unallocated.facts["values"]["unallocated_share"] - cases.UNMAPPED_OPENAI_SHARE) < 0.02
    assert unallocated.facts["values"]["top_unallocated_project"] == cases.UNMAPPED_PROJECT

    idle = by_case[("idle-rented-gpus", "host=h100-idle-01")]
    assert idle.notify == "U0MLPLAT1"
    assert abs(idle.facts["values"]["utilization_pct"] - cases.IDLE_H100_UTILIZATION_PCT) < 3
    # 7 days x 24 h x $6.88 = $1,155.84 of FOCUS GPU cost
    assert idle.facts["values"]["cost_usd"] == "1155.840000000"

    assert len(session.exec(select(OutboxMessage)).all()) == len(EXPECTED)
    # A second run at the same time posts nothing new.
    again = run_rules(session, settings=settings, clock=FixedClock(cases.DEFAULT_END))
    assert again.findings == []
