"""The day-by-day workload behind every demo file: runs, model calls, tokens and outcomes.

`build_workload` draws everything once from the seed, so the OpenAI, Anthropic and LiteLLM
exports, the outcomes and the budgets all describe the same traffic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from bot.demo import cases
from bot.demo.catalog import (
    ALL_FEATURES,
    ANTHROPIC_FEATURES,
    CODE_REVIEW,
    EXTRACTION,
    OPENAI_FEATURES,
    SEARCH,
    TICKETS,
    UNMAPPED,
    Feature,
    Tokens,
)
from bot.demo.pricing import list_price


@dataclass
class UsageRow:
    """Model calls of one feature, key, model and tier in one bucket (a day or an hour)."""

    day: date
    hour: int | None
    feature: Feature
    api_key: str
    model: str
    service_tier: str
    batch: bool
    requests: int
    tokens: Tokens  # totals over the requests
    list_usd: Decimal


@dataclass
class Request:
    """One LiteLLM proxy request (an attempt; a retry is a second attempt of one job)."""

    start: datetime
    duration_ms: int
    job_id: str
    attempt: int  # 0 for the first attempt, 1 for the retry
    succeeded: bool
    tokens: Tokens
    list_usd: Decimal


@dataclass
class OutcomeDay:
    """Runs of one workflow on one day and the human review they needed."""

    day: date
    feature: Feature
    succeeded: int
    failed: int
    escalated: int
    review_minutes: int
    review_usd: Decimal


@dataclass
class Workload:
    """Everything drawn from one seed over `days` days ending at `end` (exclusive, UTC midnight)."""

    seed: int
    end: datetime
    days: list[date]
    openai_rows: list[UsageRow] = field(default_factory=list)
    anthropic_rows: list[UsageRow] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    outcomes: list[OutcomeDay] = field(default_factory=list)

    def days_before_end(self, day: date) -> int:
        """Return 1 for the last day of the data, 2 for the one before, and so on."""
        return (self.end.date() - day).days


def rng_for(seed: int, name: str) -> random.Random:
    """Return a generator for one part of the data, so parts do not shift each other's draws."""
    return random.Random(f"{seed}:{name}")


def _volume_factor(rng: random.Random, feature: Feature, day: date) -> float:
    weekday = feature.weekend_factor if day.weekday() >= 5 else 1.0
    return weekday * rng.lognormvariate(0.0, 0.05)


def _scaled(tokens: Tokens, requests: int, rng: random.Random) -> Tokens:
    """Return the token totals of `requests` requests around the feature's means."""
    input_total = round(requests * tokens.input * rng.uniform(0.95, 1.05))
    cached = round(input_total * tokens.cached / tokens.input * rng.uniform(0.97, 1.03))
    cache_write = round(input_total * tokens.cache_write / tokens.input * rng.uniform(0.9, 1.1))
    output = round(requests * tokens.output * rng.uniform(0.93, 1.07))
    cached = min(cached, input_total - cache_write)
    return Tokens(input=input_total, cached=cached, output=output, cache_write=cache_write)


def _premium_request_share(day: str) -> float:
    """Return the share of ticket-classifier requests on the premium model that puts
    `cases.PREMIUM_SPEND_SHARE` of its spend there."""
    mean = TICKETS.tokens
    premium = list_price("openai", cases.PREMIUM_MODEL, "default", False, day, mean)
    mid = list_price("openai", cases.PREMIUM_PREVIOUS_MODEL, "default", False, day, mean)
    share = Decimal(str(cases.PREMIUM_SPEND_SHARE))
    return float(share * mid / (premium * (1 - share) + share * mid))


def _openai_day(workload: Workload, rng: random.Random, day: date) -> list[UsageRow]:
    rows: list[UsageRow] = []
    iso = day.isoformat()
    before_end = workload.days_before_end(day)
    for feature in OPENAI_FEATURES:
        runs = feature.runs_per_day * _volume_factor(rng, feature, day)
        requests_per_run = feature.requests_per_run
        models = [(feature.model, 1.0)]
        if feature is TICKETS and before_end <= cases.PREMIUM_SWITCH_DAYS_BEFORE_END:
            premium = _premium_request_share(iso)
            models = [(cases.PREMIUM_PREVIOUS_MODEL, 1 - premium), (cases.PREMIUM_MODEL, premium)]
        if feature is CODE_REVIEW and before_end <= cases.REGRESSION_SWITCH_DAYS_BEFORE_END:
            models = [(cases.REGRESSION_MODEL, 1.0)]
            requests_per_run = cases.REGRESSION_REQUESTS_PER_RUN_AFTER
        for key, key_share, _tenant in feature.keys:
            key_runs = runs * key_share
            if feature is SEARCH and key == "key_search_acme" and before_end <= cases.SPIKE_DAYS:
                # Tenant acme's new integration alone lifts the feature to SPIKE_FACTOR.
                key_runs = runs * (key_share + cases.SPIKE_FACTOR - 1)
            for model, model_share in models:
                requests = round(key_runs * requests_per_run * model_share)
                tokens = _scaled(feature.tokens, requests, rng)
                price = list_price("openai", model, feature.service_tier, feature.batch, iso, tokens)
                rows.append(
                    UsageRow(day, None, feature, key, model, feature.service_tier, feature.batch,
                             requests, tokens, price)
                )
    # The unmapped project spends UNMAPPED_OPENAI_SHARE of the day's OpenAI total.
    mapped_usd = sum((row.list_usd for row in rows), Decimal(0))
    target = mapped_usd * Decimal(str(cases.UNMAPPED_OPENAI_SHARE / (1 - cases.UNMAPPED_OPENAI_SHARE)))
    unit = list_price("openai", UNMAPPED.model, "default", False, iso, UNMAPPED.tokens)
    requests = round(float(target / unit) * rng.uniform(0.98, 1.02))
    tokens = _scaled(UNMAPPED.tokens, requests, rng)
    price = list_price("openai", UNMAPPED.model, "default", False, iso, tokens)
    rows.append(UsageRow(day, None, UNMAPPED, cases.UNMAPPED_API_KEY, UNMAPPED.model, "default",
                         False, requests, tokens, price))
    return rows


def _hour_weights(feature: Feature) -> list[tuple[int, float]]:
    """Return (UTC hour, weight) over the feature's hours, peaking in the middle of them."""
    start, end = feature.hours_utc
    hours = list(range(start, end))
    middle = (len(hours) - 1) / 2
    return [(hour, 1.0 + 0.6 * (1 - abs(index - middle) / max(middle, 1))) for index, hour in enumerate(hours)]


def _anthropic_day(rng: random.Random, day: date) -> list[UsageRow]:
    rows: list[UsageRow] = []
    for feature in ANTHROPIC_FEATURES:
        runs = feature.runs_per_day * _volume_factor(rng, feature, day)
        weights = _hour_weights(feature)
        total_weight = sum(weight for _, weight in weights)
        key = feature.keys[0][0]
        for hour, weight in weights:
            requests = round(runs * weight / total_weight * rng.uniform(0.85, 1.15))
            if requests == 0:
                continue
            tokens = _scaled(feature.tokens, requests, rng)
            price = list_price("anthropic", feature.model, "standard", False, day.isoformat(), tokens)
            rows.append(UsageRow(day, hour, feature, key, feature.model, "standard", False,
                                 requests, tokens, price))
    return rows


def _extraction_day(workload: Workload, rng: random.Random, day: date) -> list[Request]:
    """Draw the doc-extraction jobs of one day, each one or two attempts."""
    jobs = round(EXTRACTION.runs_per_day * _volume_factor(rng, EXTRACTION, day))
    spike = workload.days_before_end(day) <= cases.RETRY_SPIKE_DAYS
    share = cases.RETRY_SHARE_SPIKE if spike else cases.RETRY_SHARE_BEFORE
    retry_probability = share / (1 - share)  # one retry at most, so retries/requests == share
    start_hour, end_hour = EXTRACTION.hours_utc
    requests: list[Request] = []
    for _ in range(jobs):
        moment = datetime.combine(day, datetime.min.time(), workload.end.tzinfo) + timedelta(
            seconds=rng.uniform(start_hour * 3600, end_hour * 3600)
        )
        job_id = str(UUID(int=rng.getrandbits(128), version=4))
        attempts = 2 if rng.random() < retry_probability else 1
        for attempt in range(attempts):
            # Two retries in five follow an API error; the rest follow output that failed validation.
            api_error = attempt == 0 and attempts == 2 and rng.random() < 0.4
            tokens = _scaled(EXTRACTION.tokens, 1, rng)
            if api_error:
                tokens = Tokens(input=tokens.input, cached=0, output=0)
                price = Decimal(0)
                duration = rng.randint(800, 4000)
            else:
                price = list_price("litellm", EXTRACTION.model, "standard", False, day.isoformat(), tokens)
                duration = rng.randint(9000, 38000)
            requests.append(Request(moment, duration, job_id, attempt, not api_error, tokens, price))
            moment += timedelta(milliseconds=duration + rng.randint(200, 3000))
    return requests


def _outcome_rates(feature: Feature, before_end: int) -> tuple[float, float]:
    """Return (failed, escalated) shares of the feature's runs on a day."""
    if feature is TICKETS and before_end <= cases.PREMIUM_SWITCH_DAYS_BEFORE_END:
        failed = feature.outcomes.failed
        return failed, 1 - failed - cases.PREMIUM_SUCCESS_RATE
    if feature is CODE_REVIEW and before_end <= cases.REGRESSION_SWITCH_DAYS_BEFORE_END:
        return 0.03, cases.REGRESSION_ESCALATION_RATE_AFTER
    return feature.outcomes.failed, feature.outcomes.escalated


def _outcomes_day(workload: Workload, rng: random.Random, day: date, runs: dict[str, int]) -> list[OutcomeDay]:
    result = []
    for feature in ALL_FEATURES:
        total = runs.get(feature.name, 0)
        failed_rate, escalated_rate = _outcome_rates(feature, workload.days_before_end(day))
        failed = round(total * failed_rate * rng.uniform(0.9, 1.1))
        escalated = round(total * escalated_rate * rng.uniform(0.95, 1.05))
        minutes = round(escalated * feature.outcomes.review_minutes_per_escalation * rng.uniform(0.95, 1.05))
        review_usd = (minutes * feature.outcomes.review_usd_per_minute).quantize(Decimal("0.01"))
        result.append(OutcomeDay(day, feature, total - failed - escalated, failed, escalated, minutes, review_usd))
    return result


def _runs_from_rows(rows: list[UsageRow], before_end: int) -> dict[str, int]:
    """Return the workflow runs behind the day's model calls (requests divided by requests per run)."""
    runs: dict[str, float] = {}
    for row in rows:
        feature = row.feature
        per_run = feature.requests_per_run
        if feature is CODE_REVIEW and before_end <= cases.REGRESSION_SWITCH_DAYS_BEFORE_END:
            per_run = cases.REGRESSION_REQUESTS_PER_RUN_AFTER
        runs[feature.name] = runs.get(feature.name, 0) + row.requests / per_run
    return {name: round(value) for name, value in runs.items()}


def build_workload(seed: int, days: int, end: datetime) -> Workload:
    """Draw the whole workload of `days` days ending at `end` (an aware UTC midnight)."""
    first = (end - timedelta(days=days)).date()
    workload = Workload(seed=seed, end=end, days=[first + timedelta(days=index) for index in range(days)])
    openai_rng = rng_for(seed, "openai")
    anthropic_rng = rng_for(seed, "anthropic")
    litellm_rng = rng_for(seed, "litellm")
    outcome_rng = rng_for(seed, "outcomes")
    for day in workload.days:
        before_end = workload.days_before_end(day)
        openai_rows = _openai_day(workload, openai_rng, day)
        anthropic_rows = _anthropic_day(anthropic_rng, day)
        requests = _extraction_day(workload, litellm_rng, day)
        workload.openai_rows.extend(openai_rows)
        workload.anthropic_rows.extend(anthropic_rows)
        workload.requests.extend(requests)
        runs = _runs_from_rows([row for row in openai_rows if row.feature is not UNMAPPED], before_end)
        runs.update(_runs_from_rows(anthropic_rows, before_end))
        runs[EXTRACTION.name] = len({request.job_id for request in requests})
        workload.outcomes.extend(_outcomes_day(workload, outcome_rng, day, runs))
    return workload
