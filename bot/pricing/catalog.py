"""Per-token prices from genai-prices' bundled data, looked up offline.

genai-prices can fetch newer prices in a background thread (`UpdatePrices`), and its
`calc_price` uses whatever snapshot that thread installed. costbot builds its own
`DataSnapshot` from the data module shipped inside the installed package and never starts
the updater, so a price lookup cannot touch the network and only changes with the package
version.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass
from decimal import Decimal

logger = logging.getLogger(__name__)

PER_MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Rates:
    """Standard-tier USD prices per million tokens. None means "bill at the input price"."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    cache_write: Decimal | None = None
    cache_write_1h: Decimal | None = None


@functools.cache
def _snapshot():
    from genai_prices import data
    from genai_prices.data_snapshot import DataSnapshot

    return DataSnapshot(providers=data.providers, from_auto_update=False)


def bundled_version() -> str:
    from importlib.metadata import version

    return version("genai-prices")


def _flat(price, tokens_per_request: int) -> Decimal | None:
    """Resolve a genai-prices price (flat or tiered) to one rate.

    Tiered prices (long-context surcharges) apply per request, but usage buckets sum many
    requests, so the tier is chosen from the average input tokens per request.
    NOTE: a bucket mixing short and very long requests is priced as if all were average.
    """
    if price is None or isinstance(price, Decimal):
        return price
    rate = price.base
    for tier in price.tiers:
        if tokens_per_request > tier.start:
            rate = tier.price
    return rate


def _provider_and_model(provider: str, model: str) -> tuple[str | None, str]:
    if "/" in model:  # LiteLLM style "openai/gpt-4o"
        prefix, rest = model.split("/", 1)
        return prefix, rest
    return (provider if provider not in ("litellm", "") else None), model


@functools.lru_cache(maxsize=4096)
def _model_prices(provider: str, model: str, day: dt.date):
    """Return genai-prices' standard ModelPrice for `model` on `day`, or None if it has none."""
    provider_id, model_ref = _provider_and_model(provider.lower(), model)
    snapshot = _snapshot()
    try:
        _provider, info = snapshot.find_provider_model(model_ref, None, provider_id, None)
    except LookupError:
        if provider_id is None:
            return None
        try:  # the provider name may be unknown to genai-prices (an Azure deployment, a proxy)
            _provider, info = snapshot.find_provider_model(model_ref, None, None, None)
        except LookupError:
            return None
    prices = info.get_prices(dt.datetime.combine(day, dt.time(12), tzinfo=dt.timezone.utc))
    if prices.input_mtok is None and prices.output_mtok is None:
        return None  # priced per image, second or character: not a token price
    tiered = any(not isinstance(getattr(prices, key), Decimal | None) for key in _TOKEN_KEYS)
    return prices, tiered


_TOKEN_KEYS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "cache_write_1h_mtok")


def bundled_rates(provider: str, model: str, day: dt.date, tokens_per_request: int = 0) -> Rates | None:
    """Return the standard rates genai-prices lists for `model` on `day`, or None if it has none."""
    found = _model_prices(provider, model, day)
    if found is None:
        return None
    return _rates(provider, model, day, tokens_per_request if found[1] else 0)


def is_tiered(provider: str, model: str, day: dt.date) -> bool:
    """Return True when genai-prices lists a price of `model` that depends on tokens per request."""
    found = _model_prices(provider, model, day)
    return found is not None and found[1]


@functools.lru_cache(maxsize=16384)
def _rates(provider: str, model: str, day: dt.date, tokens_per_request: int) -> Rates:
    prices, _tiered = _model_prices(provider, model, day)
    return Rates(
        input=_flat(prices.input_mtok, tokens_per_request) or Decimal(0),
        output=_flat(prices.output_mtok, tokens_per_request) or Decimal(0),
        cached_input=_flat(prices.cache_read_mtok, tokens_per_request),
        cache_write=_flat(prices.cache_write_mtok, tokens_per_request),
        cache_write_1h=_flat(prices.cache_write_1h_mtok, tokens_per_request),
    )


@functools.lru_cache(maxsize=1024)
def bundled_tool_rate(provider: str, model: str, tool: str, day: dt.date) -> Decimal | None:
    """Return the USD price per call of a priced tool (web_search, file_search) for `model`, if listed."""
    key = {"web_search": "web_searches_kcount", "file_search": "storage_searches_kcount"}.get(tool)
    if key is None:
        return None
    provider_id, model_ref = _provider_and_model(provider.lower(), model)
    try:
        _provider, info = _snapshot().find_provider_model(model_ref, None, provider_id, None)
    except LookupError:
        return None
    per_thousand = getattr(info.get_prices(dt.datetime.combine(day, dt.time(12), tzinfo=dt.timezone.utc)), key)
    if not isinstance(per_thousand, Decimal):
        return None
    return per_thousand / 1000
