"""List prices for the demo's token counts, from genai-prices' bundled data (no network)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from genai_prices import Usage, calc_price

from bot.demo.catalog import Tokens

# genai-prices names the provider ids; LiteLLM traffic in the demo goes to Anthropic.
_PROVIDER_IDS = {"openai": "openai", "anthropic": "anthropic", "litellm": "anthropic"}


@lru_cache(maxsize=256)
def _unit_prices(provider: str, model: str, tier: str, batch: bool, day: str) -> tuple[Decimal, ...]:
    """Return USD per token: (uncached input, cached input, cache write, output)."""
    context: dict[str, str] = {}
    if batch:
        context["processing"] = "batch"
    elif tier in ("priority", "flex"):
        context["service_tier"] = tier
    timestamp = datetime.fromisoformat(f"{day}T12:00:00+00:00")
    million = 1_000_000

    def price(usage: Usage) -> Decimal:
        result = calc_price(
            usage,
            model,
            provider_id=_PROVIDER_IDS[provider],
            genai_request_timestamp=timestamp,
            price_context=context or None,
        )
        return Decimal(result.total_price) / million

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
