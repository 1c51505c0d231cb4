"""The fictional organisation behind the demo data: teams, features, ids, models and volumes.

Every source id here appears in the generated mapping file, except the unmapped OpenAI
project and its key (see `cases.UNMAPPED_PROJECT`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from bot.demo import cases

TEAM_OWNERS = {
    "search": "U0SEARCH1",
    "support": "U0SUPP001",
    "data": "U0DATA01",
    "ml-platform": "U0MLPLAT1",
    "growth": "U0GROWTH1",
}
TEAM_CHANNELS = {
    "search": "C0SEARCHCOST",
    "support": "C0SUPPCOST",
    "data": "C0DATACOST",
    "ml-platform": "C0MLPCOST",
    "growth": "C0GROWCOST",
}


@dataclass(frozen=True)
class Tokens:
    """Mean tokens of one request: total input (cached included), cached input, output.

    `cache_write` is Anthropic's 5-minute cache creation, also part of the total input.
    """

    input: int
    cached: int
    output: int
    cache_write: int = 0


@dataclass(frozen=True)
class Outcomes:
    """Shares of a feature's runs that fail or escalate, and the human review they cost."""

    failed: float
    escalated: float
    review_minutes_per_escalation: float = 0.0
    review_usd_per_minute: Decimal = Decimal("0.75")


@dataclass(frozen=True)
class Feature:
    """One workflow: who owns it, where its model calls go and how many runs it has a day."""

    name: str
    team: str
    provider: str  # openai, anthropic or litellm
    source_id: str  # OpenAI project, Anthropic workspace or LiteLLM team id
    model: str
    tokens: Tokens
    runs_per_day: int
    outcomes: Outcomes
    description: str
    interactive: bool = True
    service_tier: str = "default"  # as the provider names it
    batch: bool = False
    weekend_factor: float = 0.6
    requests_per_run: float = 1.0
    # API keys and the share of the feature's traffic each carries, with the tenant it serves.
    keys: tuple[tuple[str, float, str | None], ...] = field(default_factory=tuple)
    # UTC hours (start, end exclusive) when an hourly source shows the traffic.
    hours_utc: tuple[int, int] = (0, 24)


SEARCH = Feature(
    name="semantic-search",
    team="search",
    provider="openai",
    source_id="proj_search",
    model="gpt-5-mini",
    tokens=Tokens(input=3500, cached=2100, output=350),
    runs_per_day=54_000,
    outcomes=Outcomes(failed=0.01, escalated=0.0),
    description="Answers search queries over customer documents",
    keys=(
        ("key_search_acme", 0.45, "acme"),
        ("key_search_globex", 0.35, "globex"),
        ("key_search_initech", 0.20, "initech"),
    ),
)
TICKETS = Feature(
    name=cases.PREMIUM_FEATURE,
    team="support",
    provider="openai",
    source_id="proj_support",
    model=cases.PREMIUM_PREVIOUS_MODEL,
    tokens=Tokens(input=4000, cached=1600, output=80),
    runs_per_day=15_000,
    outcomes=Outcomes(
        failed=0.015,
        escalated=1 - 0.015 - cases.PREMIUM_PREVIOUS_SUCCESS_RATE,
        review_minutes_per_escalation=2.5,
    ),
    description="Routes incoming support tickets to a queue",
    keys=(("key_support_classifier", 1.0, None),),
)
CODE_REVIEW = Feature(
    name=cases.REGRESSION_FEATURE,
    team="ml-platform",
    provider="openai",
    source_id="proj_devtools",
    model=cases.REGRESSION_PREVIOUS_MODEL,
    tokens=Tokens(input=30_000, cached=6000, output=2500),
    runs_per_day=900,
    outcomes=Outcomes(
        failed=0.02,
        escalated=cases.REGRESSION_ESCALATION_RATE_BEFORE,
        review_minutes_per_escalation=12,
        review_usd_per_minute=Decimal("1.25"),
    ),
    description="Reviews pull requests and escalates risky ones to a senior engineer",
    weekend_factor=0.3,
    requests_per_run=cases.REGRESSION_REQUESTS_PER_RUN_BEFORE,
    keys=(("key_devtools_reviewbot", 1.0, None),),
)
DIGEST = Feature(
    name=cases.PRIORITY_FEATURE,
    team="growth",
    provider="openai",
    source_id="proj_growth",
    model="gpt-5-mini",
    tokens=Tokens(input=6000, cached=1800, output=900),
    runs_per_day=4000,
    outcomes=Outcomes(failed=0.01, escalated=0.0),
    description="Writes the daily account digest emails",
    interactive=False,
    service_tier="priority",
    weekend_factor=1.0,
    keys=(("key_growth_digest", 1.0, None),),
)
CATALOG = Feature(
    name="catalog-tagging",
    team="data",
    provider="openai",
    source_id="proj_catalog",
    model="gpt-5-mini",
    tokens=Tokens(input=2000, cached=0, output=150),
    runs_per_day=20_000,
    outcomes=Outcomes(failed=0.01, escalated=0.0),
    description="Tags new catalog items through the Batch API",
    interactive=False,
    batch=True,
    weekend_factor=1.0,
    keys=(("key_data_catalog", 1.0, None),),
)
INDEX = Feature(
    name="index-summaries",
    team="search",
    provider="openai",
    source_id="proj_search_index",
    model="gpt-5-mini",
    tokens=Tokens(input=12_000, cached=0, output=800),
    runs_per_day=86_000,
    outcomes=Outcomes(failed=0.005, escalated=0.0),
    description="Summarises changed documents for the search index through the Batch API",
    interactive=False,
    batch=True,
    weekend_factor=1.0,
    keys=(("key_search_indexer", 1.0, None),),
)
UNMAPPED = Feature(
    name="",  # unknown: nobody mapped this project
    team="",
    provider="openai",
    source_id=cases.UNMAPPED_PROJECT,
    model="gpt-5-mini",
    tokens=Tokens(input=5000, cached=1000, output=600),
    runs_per_day=0,  # sized each day from the other OpenAI spend
    outcomes=Outcomes(failed=0.0, escalated=0.0),
    description="",
    weekend_factor=0.8,
    keys=((cases.UNMAPPED_API_KEY, 1.0, None),),
)
OPENAI_FEATURES = (SEARCH, INDEX, TICKETS, CODE_REVIEW, DIGEST, CATALOG)

DRAFTS = Feature(
    name="support-reply-drafts",
    team="support",
    provider="anthropic",
    source_id="wrkspc_01SupportDrafts7Qx",
    model="claude-sonnet-4-6",
    tokens=Tokens(input=5000, cached=3000, output=400, cache_write=500),
    runs_per_day=3000,
    outcomes=Outcomes(failed=0.03, escalated=0.06, review_minutes_per_escalation=4),
    description="Drafts replies that support agents edit and send",
    keys=(("apikey_01SupportDraftsK8", 1.0, None),),
    hours_utc=(13, 24),
)
ENRICHMENT = Feature(
    name=cases.BATCHABLE_FEATURE,
    team="data",
    provider="anthropic",
    source_id="wrkspc_01DataPipelines4Jv",
    model="claude-sonnet-4-6",
    tokens=Tokens(input=7000, cached=2000, output=600),
    runs_per_day=4000,
    outcomes=Outcomes(failed=0.01, escalated=0.0),
    description="Enriches the day's new company records overnight",
    interactive=False,
    service_tier="standard",
    weekend_factor=1.0,
    keys=(("apikey_01DataEnrichmentR2", 1.0, None),),
    hours_utc=cases.BATCHABLE_HOURS_UTC,
)
ONBOARDING = Feature(
    name="onboarding-assistant",
    team="growth",
    provider="anthropic",
    source_id="wrkspc_01GrowthApps9Lm",
    model="claude-haiku-4-5",
    tokens=Tokens(input=3000, cached=2000, output=300),
    runs_per_day=2500,
    outcomes=Outcomes(failed=0.01, escalated=0.03, review_minutes_per_escalation=6),
    description="Answers new users' setup questions in the product",
    keys=(("apikey_01GrowthOnboardT5", 1.0, None),),
    hours_utc=(12, 24),
)
ANTHROPIC_FEATURES = (DRAFTS, ENRICHMENT, ONBOARDING)

EXTRACTION = Feature(
    name=cases.RETRY_FEATURE,
    team="data",
    provider="litellm",
    source_id="7c1e3a52-4b8d-4f0e-9a61-2d5c8e9b0f13",  # LiteLLM team_id
    model="claude-sonnet-4-6",
    tokens=Tokens(input=80_000, cached=0, output=4000),
    runs_per_day=40,
    outcomes=Outcomes(failed=0.02, escalated=0.03, review_minutes_per_escalation=8),
    description="Extracts fields from uploaded contracts and invoices",
    weekend_factor=0.5,
    # LiteLLM stores the SHA-256 of the virtual key, never the key itself.
    keys=(("3f9a6c1d8e2b4a7f9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b", 1.0, None),),
    hours_utc=(12, 22),
)

ALL_FEATURES = (*OPENAI_FEATURES, *ANTHROPIC_FEATURES, EXTRACTION)


@dataclass(frozen=True)
class Host:
    """A rented single-GPU host and the load it carries."""

    name: str
    gpu_model: str  # H100 or A100
    team: str
    feature: str
    hourly_usd: Decimal
    utilization_pct: float
    memory_used_mib: float
    instance_id: str


H100_NAME = "NVIDIA H100 80GB HBM3"
H100_MEMORY_MIB = 81559
A100_NAME = "NVIDIA A100-SXM4-80GB"
A100_MEMORY_MIB = 81920

HOSTS = (
    *(
        Host(name, "H100", "ml-platform", "fine-tuning", cases.H100_HOURLY_USD,
             cases.IDLE_H100_UTILIZATION_PCT, 1900, f"i-0a41d7c2e9b3f{index:04d}")
        for index, name in enumerate(cases.IDLE_H100_HOSTS, start=1)
    ),
    *(
        Host(name, "H100", "ml-platform", "model-serving", cases.H100_HOURLY_USD,
             cases.SERVING_H100_UTILIZATION_PCT, 31_500, f"i-0b52e8d3fac4a{index:04d}")
        for index, name in enumerate(cases.SERVING_H100_HOSTS, start=1)
    ),
    *(
        Host(name, "A100", "search", "embedding-serving", cases.A100_HOURLY_USD,
             cases.HEALTHY_A100_UTILIZATION_PCT, 62_000, f"i-0c63f9e4abd5b{index:04d}")
        for index, name in enumerate(cases.HEALTHY_A100_HOSTS, start=1)
    ),
)
GPU_FEATURE_DESCRIPTIONS = {
    "fine-tuning": "Fine-tunes ranking and extraction models on rented H100s",
    "model-serving": "Serves the in-house reranker model",
    "embedding-serving": "Serves document embeddings for search",
}

# FOCUS billing: one AWS account pays, the GPUs and the vector store sit in sub-accounts.
BILLING_ACCOUNT_ID = "111122223333"
GPU_SUB_ACCOUNT = ("444455556666", "ml-platform-prod", "ml-platform")
VECTOR_SUB_ACCOUNT = ("777788889999", "support-prod", "support")
VECTOR_STORE_FEATURE = DRAFTS.name
# An OpenSearch Serverless vector collection: 2 OCUs all day at $0.24 per OCU-hour.
VECTOR_STORE_OCU_HOURS_PER_DAY = 48
VECTOR_STORE_OCU_HOUR_USD = Decimal("0.24")
