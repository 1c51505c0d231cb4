"""A small usage fixture whose totals the query, question and answer tests compute by hand.

The fixture's main week is Monday 2026-11-09 to Sunday 2026-11-15 (UTC); "now" in the tests
is Wednesday 2026-11-18 12:00 UTC, so that week is "last week". Amounts per row:

| row | day | kind | team | feature | amount |
|---|---|---|---|---|---|
| openai gpt-5 standard, proj_search, priced | 11-10 | llm | search | semantic-search | 12.50 |
| openai gpt-5-mini batch, proj_support, priced | 11-11 | llm | support | ticket-classifier | 3.25 |
| anthropic claude-sonnet-4 priority, reported | 11-12 | llm | search | semantic-search | 7.00 |
| openai gpt-5 standard, proj_support, priced (replaced by the reported line) | 11-13 | llm | support | ticket-classifier | (4.00) |
| reported_cost openai proj_support | 11-13 | llm | support | ticket-classifier | 4.40 |
| openai mystery-model, no price | 11-14 | llm | data | doc-extraction | unpriced |
| tool web_search | 11-10 | tools | search | semantic-search | 1.20 |
| tool vector_store | 11-11 | tools | support | ticket-classifier | 0.80 |
| GPU samples a100-01, 2 x 1800 s at $3.43/h | 11-10 | gpu | ml-platform | fine-tuning | 3.43 |
| GPU sample h100-idle-01 at $6.88/h (host has FOCUS rows: not counted) | 11-10 | gpu | ml-platform | | (6.88) |
| FOCUS gpu h100-idle-01, 24 GPU-hours | 11-10 | gpu | ml-platform | | 165.12 |
| GPU sample gpu-x, no rate | 11-10 | gpu | | | unpriced |
| outcome semantic-search: 90 ok, 10 failed, review | 11-10 | review | search | semantic-search | 15.00 |
| outcome ticket-classifier: 40 ok, 5 escalated, review | 11-11 | review | support | ticket-classifier | 5.00 |
| FOCUS other (vector store) | 11-12 | other | search | semantic-search | 2.00 |
| openai gpt-5, proj_search, outside the week | 11-08 and 11-16 | llm | search | semantic-search | 50.00, 100.00 |
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from bot.models import CloudCost, GpuUsage, LlmUsage, Outcome, ReportedCost, ToolUsage

UTC = timezone.utc
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
WEEK_START = datetime(2026, 11, 9, tzinfo=UTC)
WEEK_END = datetime(2026, 11, 16, tzinfo=UTC)


def day(number: int, hour: int = 0) -> datetime:
    return datetime(2026, 11, number, hour, tzinfo=UTC)


def _llm(key, when, *, provider="openai", model="gpt-5", tier="standard", cost=None, origin="priced", **fields):
    defaults = dict(requests=0, input_tokens=0, cached_input_tokens=0, output_tokens=0, retries=0, failed_requests=0)
    defaults.update(fields)
    return LlmUsage(
        source="test", natural_key=key, start_time=when, bucket_seconds=86400, provider=provider, model=model,
        service_tier=tier, cost_usd=None if cost is None else Decimal(cost),
        cost_origin=origin if cost is not None else "unpriced", **defaults,
    )


def rows() -> list:
    return [
        _llm("l1", day(10), cost="12.50", team="search", feature="semantic-search", project="proj_search",
             requests=100, input_tokens=10000, cached_input_tokens=2000, output_tokens=5000, retries=5,
             failed_requests=2),
        _llm("l2", day(11), model="gpt-5-mini", tier="batch", cost="3.25", team="support",
             feature="ticket-classifier", project="proj_support", requests=400, input_tokens=40000,
             output_tokens=8000),
        _llm("l3", day(12), provider="anthropic", model="claude-sonnet-4", tier="priority", cost="7.00",
             origin="reported", team="search", feature="semantic-search", project="ws_search", requests=50,
             input_tokens=20000, cached_input_tokens=5000, output_tokens=3000, retries=10, failed_requests=1),
        _llm("l4", day(13), cost="4.00", team="support", feature="ticket-classifier", project="proj_support",
             requests=30, input_tokens=3000, output_tokens=1000),
        _llm("l5", day(14), model="mystery-model", team="data", feature="doc-extraction", project="proj_data",
             requests=10, input_tokens=1000, output_tokens=100),
        _llm("l6", day(8), cost="50.00", team="search", feature="semantic-search", project="proj_search",
             requests=5),
        _llm("l7", day(16), cost="100.00", team="search", feature="semantic-search", project="proj_search",
             requests=7),
        ReportedCost(source="test", natural_key="r1", start_time=day(13), bucket_seconds=86400, provider="openai",
                     project="proj_support", team="support", feature="ticket-classifier",
                     amount_usd=Decimal("4.40")),
        ToolUsage(source="test", natural_key="t1", start_time=day(10, 9), tool="web_search", provider="openai",
                  calls=120, cost_usd=Decimal("1.20"), cost_origin="reported", team="search",
                  feature="semantic-search"),
        ToolUsage(source="test", natural_key="t2", start_time=day(11, 9), tool="vector_store", provider="openai",
                  calls=10, cost_usd=Decimal("0.80"), cost_origin="reported", team="support",
                  feature="ticket-classifier"),
        GpuUsage(source="test", natural_key="g1", sampled_at=day(10, 1), interval_seconds=1800, host="a100-01",
                 gpu_model="A100", utilization_pct=80.0, hourly_rate_usd=Decimal("3.43"), team="ml-platform",
                 feature="fine-tuning"),
        GpuUsage(source="test", natural_key="g2", sampled_at=day(10, 2), interval_seconds=1800, host="a100-01",
                 gpu_model="A100", utilization_pct=60.0, hourly_rate_usd=Decimal("3.43"), team="ml-platform",
                 feature="fine-tuning"),
        GpuUsage(source="test", natural_key="g3", sampled_at=day(10, 1), interval_seconds=3600,
                 host="h100-idle-01", gpu_model="H100", utilization_pct=10.0, hourly_rate_usd=Decimal("6.88"),
                 team="ml-platform"),
        GpuUsage(source="test", natural_key="g4", sampled_at=day(10, 3), interval_seconds=600, host="gpu-x",
                 gpu_model="L4", utilization_pct=50.0),
        CloudCost(source="test", natural_key="c1", charge_period_start=day(10), charge_period_end=day(11),
                  billed_cost_usd=Decimal("165.12"), cost_kind="gpu", provider_name="AWS",
                  resource_name="h100-idle-01", consumed_quantity=24.0, consumed_unit="Hours",
                  team="ml-platform"),
        CloudCost(source="test", natural_key="c2", charge_period_start=day(12), charge_period_end=day(13),
                  billed_cost_usd=Decimal("2.00"), cost_kind="other", provider_name="AWS",
                  resource_name="vector-db", team="search", feature="semantic-search"),
        Outcome(source="test", natural_key="o1", start_time=day(10), bucket_seconds=86400, feature="semantic-search",
                team="search", succeeded=90, failed=10, review_seconds=3600, review_cost_usd=Decimal("15.00")),
        Outcome(source="test", natural_key="o2", start_time=day(11), bucket_seconds=86400,
                feature="ticket-classifier", team="support", succeeded=40, escalated=5, review_seconds=1200,
                review_cost_usd=Decimal("5.00")),
    ]


def load(session) -> None:
    """Insert the fixture rows and commit."""
    session.add_all(rows())
    session.commit()
