"""Service tier multipliers applied to standard per-token prices."""

from __future__ import annotations

import functools
from decimal import Decimal

# Batch APIs (OpenAI and Anthropic) bill 50% of the standard price, and OpenAI's Flex
# processing bills Batch rates, as both providers publish. genai-prices 0.2.3 lists the same
# for OpenAI (gpt-4.1 batch: $1 input, $4 output against $2 and $8).
BATCH_MULTIPLIER = Decimal("0.5")

# Priority processing per model family, as a multiple of the standard price. The OpenAI
# entries are the priority price variants bundled with genai-prices 0.2.3 (for example
# gpt-4.1 $2 -> $3.50 input, gpt-5.5 $5 -> $12.50, gpt-4.1-nano $0.10 -> $0.20). Gemini's
# 1.8x is Google's published Priority rate (Nov 2026); genai-prices 0.2.3 has no Gemini
# priority variant to check it against. gpt-5-mini's 1.8x is the variant genai-prices 0.2.5
# lists ($0.45 input, $0.045 cached, $3.60 output against $0.25, $0.025 and $2). The longest
# matching prefix of the model id wins.
# NOTE: gpt-4o (1.7x), gpt-4o-mini (about 1.67x), o3 (1.75x) and o4-mini (about 1.82x) have
# priority variants in genai-prices 0.2.5 but no entry here, so they are priced at the 2x default.
PRIORITY_MULTIPLIERS: dict[str, Decimal] = {
    "gpt-5.5": Decimal("2.5"),
    "gpt-5.4": Decimal("2"),
    "gpt-5-mini": Decimal("1.8"),
    "gpt-4.1-nano": Decimal("2"),
    "gpt-4.1": Decimal("1.75"),
    "gemini": Decimal("1.8"),
}

# A model on the priority tier with no entry above. This is a judgment, not a published
# figure: the middle of the published 1.75x-2.5x range. Set `priority_multiplier` for the
# model in the price overrides file to replace it.
DEFAULT_PRIORITY_MULTIPLIER = Decimal("2")


def tier_multiplier(model: str, service_tier: str, *, priority_override: Decimal | None = None) -> Decimal:
    """Return the multiple of the standard price that `service_tier` bills for `model`."""
    if service_tier in ("batch", "flex"):
        return BATCH_MULTIPLIER
    if service_tier != "priority":
        return Decimal(1)
    if priority_override is not None:
        return priority_override
    return _priority_multiplier(model)


@functools.lru_cache(maxsize=1024)
def _priority_multiplier(model: str) -> Decimal:
    name = model.lower().rsplit("/", 1)[-1]
    for prefix in sorted(PRIORITY_MULTIPLIERS, key=len, reverse=True):
        if name.startswith(prefix):
            return PRIORITY_MULTIPLIERS[prefix]
    return DEFAULT_PRIORITY_MULTIPLIER
