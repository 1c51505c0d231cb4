"""List prices for the demo's token counts, from genai-prices' bundled data (no network).

genai-prices gives the standard price, and the service tier is applied here as a multiple of
it on every day, as the providers bill. genai-prices 0.2.5 lists tier prices only from the day
they were checked (for gpt-5-mini: priority and flex from 2026-10-12, batch from 2026-10-14) and
returns the standard price for earlier days, which would bill early batch work at full price.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from genai_prices import Usage, calc_price

from bot.demo.catalog import Tokens

# genai-prices names the provider ids; LiteLLM traffic in the demo goes to Anthropic.
_PROVIDER_IDS = {"openai": "openai", "anthropic": "anthropic", "litellm": "anthropic"}

# OpenAI's and Anthropic's Batch APIs and OpenAI's Flex processing bill 50% of standard.
BATCH_MULTIPLIER = Decimal("0.5")

# OpenAI Priority as a multiple of standard, for the models the demo runs on that tier.
# gpt-5-mini: genai-prices 0.2.5 lists $0.45 input, $0.045 cached input and $3.60 output per
# million tokens from 2026-10-12, against $0.25, $0.025 and $2 on the standard tier.
PRIORITY_MULTIPLIERS = {"gpt-5-mini": Decimal("1.8")}


def tier_multiplier(model: str, tier: str, batch: bool) -> Decimal:
    """Return the multiple of the standard price that the tier bills.

    Raises ValueError for a priority model missing from `PRIORITY_MULTIPLIERS`.
    """
    if batch or tier in ("batch", "flex"):
        return BATCH_MULTIPLIER
    if tier != "priority":
        return Decimal(1)
    if model not in PRIORITY_MULTIPLIERS:
        raise ValueError(
            f"{model}: priority price missing; add the model to PRIORITY_MULTIPLIERS in bot/demo/pricing.py"
        )
    return PRIORITY_MULTIPLIERS[model]


@lru_cache(maxsize=256)
def _unit_prices(provider: str, model: str, tier: str, batch: bool, day: str) -> tuple[Decimal, ...]:
    """Return USD per token: (uncached input, cached input, cache write, output), tier applied."""
    timestamp = datetime.fromisoformat(f"{day}T12:00:00+00:00")
    million = 1_000_000
    factor = tier_multiplier(model, tier, batch) / million

    def price(usage: Usage) -> Decimal:
        result = calc_price(usage, model, provider_id=_PROVIDER_IDS[provider], genai_request_timestamp=timestamp)
        return Decimal(result.total_price) * factor

    return (
        price(Usage(input_tokens=million)),
        price(Usage(input_tokens=million, cache_read_tokens=million)),
        price(Usage(input_tokens=million, cache_write_tokens=million)),
        price(Usage(output_tokens=million)),
    )


def list_price(provider: str, model: str, tier: str, batch: bool, day: str, tokens: Tokens) -> Decimal:
    """Price `tokens` (totals, not means) at list price on `day` (YYYY-MM-DD)."""
    uncached, cached, cache_write, output = _unit_prices(provider, model, tier, batch, day)
    plain_input = tokens.input - tokens.cached - tokens.cache_write
    return (
        plain_input * uncached
        + tokens.cached * cached
        + tokens.cache_write * cache_write
        + tokens.output * output
    )


def line_prices(provider: str, model: str, tier: str, batch: bool, day: str, tokens: Tokens) -> dict[str, Decimal]:
    """Split the list price of `tokens` into input, cached input, cache write and output."""
    uncached, cached, cache_write, output = _unit_prices(provider, model, tier, batch, day)
    return {
        "input": (tokens.input - tokens.cached - tokens.cache_write) * uncached,
        "cached_input": tokens.cached * cached,
        "cache_write": tokens.cache_write * cache_write,
        "output": tokens.output * output,
    }
