"""Price token-only usage rows: local overrides first, then genai-prices' bundled data.

Prices are looked up offline (see `bot.pricing.catalog`). The service tier is applied as a
multiple of the standard price (`bot.pricing.tiers`). A model with no known price gets
cost_usd None and cost_origin "unpriced", so it is never counted as $0 without saying so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from bot.models.usage import COST_PRICED, COST_UNPRICED
from bot.pricing.catalog import PER_MILLION, Rates, bundled_rates, bundled_tool_rate, is_tiered
from bot.pricing.overrides import PriceOverride, load_overrides
from bot.pricing.tiers import tier_multiplier

__all__ = ["Pricer", "Rates", "TokenUsage", "load_pricer"]


@dataclass(frozen=True)
class TokenUsage:
    """Tokens of one usage row. `input_tokens` includes the cached and cache-write tokens."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0  # all cache writes, the 1-hour ones included
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0


@dataclass
class Pricer:
    """Prices usage rows; `overrides` come from the local overrides file."""

    overrides: list[PriceOverride] = field(default_factory=list)
    _override_cache: dict[tuple[str, str, dt.date], PriceOverride | None] = field(default_factory=dict, repr=False)
    # (provider, model, service tier, day) -> USD per token of each kind, tier applied, or
    # None (no price) or _TIERED (the rate depends on each row's tokens per request).
    _token_prices: dict[tuple[str, str, str, dt.date], tuple[Decimal, ...] | None | object] = field(
        default_factory=dict, repr=False
    )

    def rates(self, provider: str, model: str, day: dt.date, tokens_per_request: int = 0) -> tuple[Rates, Decimal | None] | None:
        """Return (standard rates, priority multiplier override) for a model on a day, or None."""
        override = self._override(provider, model, day)
        if override is not None:
            return override.rates, override.priority_multiplier
        rates = bundled_rates(provider, model, day, tokens_per_request)
        return (rates, None) if rates is not None else None

    def _override(self, provider: str, model: str, day: dt.date) -> PriceOverride | None:
        key = (provider, model, day)
        if key not in self._override_cache:
            self._override_cache[key] = next((o for o in self.overrides if o.covers(provider, model, day)), None)
        return self._override_cache[key]

    def price_tokens(self, provider: str, model: str | None, service_tier: str, day: dt.date, usage: TokenUsage) -> Decimal | None:
        """Return the USD cost of `usage`, or None when the model has no known price."""
        return self._cost(provider, model, service_tier, day, usage.input_tokens, usage.cached_input_tokens,
                          usage.cache_write_tokens, usage.cache_write_1h_tokens, usage.output_tokens, usage.requests)

    def price_row(self, values: dict, *, cache_write_1h_tokens: int = 0) -> None:
        """Set cost_usd and cost_origin of an LlmUsage row's values from its tokens, in place."""
        get = values.get
        cost = self._cost(
            values["provider"], get("model"), get("service_tier", "standard"), values["start_time"].date(),
            get("input_tokens", 0), get("cached_input_tokens", 0), get("cache_write_tokens", 0),
            cache_write_1h_tokens, get("output_tokens", 0), get("requests", 0),
        )  # fmt: skip
        values["cost_usd"] = cost
        values["cost_origin"] = COST_PRICED if cost is not None else COST_UNPRICED

    def _cost(self, provider: str, model: str | None, service_tier: str, day: dt.date, input_tokens: int,
              cached: int, cache_write: int, cache_write_1h: int, output_tokens: int, requests: int) -> Decimal | None:
        if not model:
            return None
        key = (provider, model, service_tier, day)
        prices = self._token_prices.get(key, _UNKNOWN)
        if prices is _UNKNOWN:
            prices = self._token_prices[key] = self._per_token(provider, model, service_tier, day)
        if prices is None:
            return None
        if prices is not _TIERED:
            # The same sum as _tiered_cost with the tier multiplier and the division by a
            # million moved into the cached per-token prices. Both are exact Decimal
            # arithmetic, so the amounts are equal.
            input_price, cached_price, write_price, write_1h_price, output_price = prices
            total = (input_tokens - cached - cache_write) * input_price + output_tokens * output_price
            if cached:
                total += cached * cached_price
            if cache_write:
                total += (cache_write - cache_write_1h) * write_price + cache_write_1h * write_1h_price
            return total
        return self._tiered_cost(provider, model, service_tier, day, input_tokens, cached, cache_write,
                                 cache_write_1h, output_tokens, requests)

    def _per_token(self, provider: str, model: str, service_tier: str, day: dt.date) -> tuple[Decimal, ...] | None | object:
        """Return the USD price of one token of each kind, for `_cost`'s cache."""
        if self._override(provider, model, day) is None and is_tiered(provider, model, day):
            return _TIERED
        found = self.rates(provider, model, day)
        if found is None:
            return None
        rates, priority_override = found
        factor = tier_multiplier(model, service_tier, priority_override=priority_override) / PER_MILLION
        write_rate = rates.cache_write if rates.cache_write is not None else rates.input
        return (
            rates.input * factor,
            (rates.cached_input if rates.cached_input is not None else rates.input) * factor,
            write_rate * factor,
            (rates.cache_write_1h if rates.cache_write_1h is not None else write_rate) * factor,
            rates.output * factor,
        )

    def _tiered_cost(self, provider: str, model: str, service_tier: str, day: dt.date, input_tokens: int,
                     cached: int, cache_write: int, cache_write_1h: int, output_tokens: int, requests: int) -> Decimal | None:
        per_request = input_tokens // requests if requests else input_tokens
        found = self.rates(provider, model, day, per_request)
        if found is None:
            return None
        rates, priority_override = found
        uncached = input_tokens - cached - cache_write
        write_rate = rates.cache_write if rates.cache_write is not None else rates.input
        total = (
            uncached * rates.input
            + cached * (rates.cached_input if rates.cached_input is not None else rates.input)
            + (cache_write - cache_write_1h) * write_rate
            + cache_write_1h * (rates.cache_write_1h if rates.cache_write_1h is not None else write_rate)
            + output_tokens * rates.output
        )
        return total / PER_MILLION * tier_multiplier(model, service_tier, priority_override=priority_override)

    def price_tool_calls(self, provider: str, model: str | None, tool: str, day: dt.date, calls: int) -> Decimal | None:
        """Return the USD cost of `calls` tool calls billed per call for `model`, or None."""
        if not model:
            return None
        rate = bundled_tool_rate(provider, model, tool, day)
        return None if rate is None else rate * calls


_UNKNOWN = object()
_TIERED = object()


def load_pricer(overrides_file: Path | None) -> Pricer:
    """Build a `Pricer` with the overrides file (missing file: no overrides). Raises `OverridesError`."""
    return Pricer(overrides=load_overrides(overrides_file))
