"""A large OpenAI completions usage export for benchmarks, streamed to disk.

The file is JSON Lines: one Usage API page per line, one hourly bucket per page, grouped by
project_id, api_key_id, model, service_tier and batch. Rows are spread evenly over the
buckets; each bucket's rows are distinct groups, so every row has its own natural key.
Memory stays flat: one bucket is built, written and dropped at a time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

MODELS = ("gpt-5-mini", "gpt-5-nano", "gpt-5.2")
TIERS = (("default", "false"), ("default", "true"), ("priority", "false"), ("flex", "false"))
KEYS_PER_PROJECT = 4
GROUPS_PER_KEY = len(MODELS) * len(TIERS)
GROUPS_PER_PROJECT = KEYS_PER_PROJECT * GROUPS_PER_KEY

_ROW = (
    '{"object":"organization.usage.completions.result","input_tokens":%d,"input_cached_tokens":%d,'
    '"input_cache_write_tokens":0,"input_uncached_tokens":%d,"output_tokens":%d,"input_text_tokens":%d,'
    '"output_text_tokens":%d,"input_cached_text_tokens":%d,"input_audio_tokens":0,'
    '"input_cached_audio_tokens":0,"output_audio_tokens":0,"input_image_tokens":0,'
    '"input_cached_image_tokens":0,"output_image_tokens":0,"num_model_requests":%d,%s}'
)


def _group(index: int) -> str:
    """Return the grouping fields of group `index`; distinct indexes give distinct groups."""
    project, rest = divmod(index, GROUPS_PER_PROJECT)
    key, rest = divmod(rest, GROUPS_PER_KEY)
    tier, model = divmod(rest, len(MODELS))
    service_tier, batch = TIERS[tier]
    return (
        f'"project_id":"proj_bench_{project:05d}","user_id":null,"api_key_id":"key_bench_{project:05d}_{key}",'
        f'"model":"{MODELS[model]}","batch":{batch},"service_tier":"{service_tier}"'
    )


def write_llm_rows(path: Path, *, rows: int, seed: int, days: int, end: datetime) -> int:
    """Write `rows` usage rows over `days` hourly-bucketed days ending at `end`; return the rows written."""
    if rows < 0:
        raise ValueError(f"llm-rows: {rows}: must be 0 or more")
    generator = np.random.Generator(np.random.PCG64(seed))
    buckets = days * 24
    first = int((end - timedelta(days=days)).timestamp())
    groups: list[str] = []
    written = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for bucket in range(buckets):
            count = (bucket + 1) * rows // buckets - bucket * rows // buckets
            if count == 0:
                continue
            while len(groups) < count:
                groups.append(_group(len(groups)))
            requests = generator.integers(1, 400, size=count)
            input_tokens = requests * generator.integers(300, 6000, size=count)
            cached = input_tokens * generator.integers(0, 80, size=count) // 100
            output = requests * generator.integers(20, 900, size=count)
            uncached = input_tokens - cached
            body = ",".join([
                _ROW % (i, c, u, o, i, o, c, r, g)
                for i, c, u, o, r, g in zip(input_tokens.tolist(), cached.tolist(), uncached.tolist(),
                                            output.tolist(), requests.tolist(), groups, strict=False)
            ])
            start = first + bucket * 3600
            more = bucket + 1 < buckets
            next_page = f'"page_{start + 3600:x}"' if more else "null"
            handle.write(
                f'{{"object":"page","data":[{{"object":"bucket","start_time":{start},"end_time":{start + 3600},'
                f'"results":[{body}]}}],"has_more":{"true" if more else "false"},"next_page":{next_page}}}\n'
            )
            written += count
    logger.info("benchmark usage rows written: path=%s rows=%d buckets=%d", path, written, buckets)
    return written

