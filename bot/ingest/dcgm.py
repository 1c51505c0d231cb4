"""NVIDIA dcgm-exporter metrics (Prometheus text format) -> GpuUsage samples.

A scrape lists each metric for every GPU, one line per GPU, with labels `gpu` (index),
`UUID`, `modelName` and `Hostname`. costbot keeps one sample per GPU and scrape: utilization
from `DCGM_FI_DEV_GPU_UTIL` (percent), framebuffer memory and power. A file may hold several
scrapes one after another; a scrape ends when a metric repeats for the same GPU.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.ingest.base import ImportFailed, ParseContext, Record, RowError, register
from bot.ingest.csvrows import ValueProblem, parse_decimal
from bot.ingest.gpu import IntervalTracker, Sample, file_time, gpu_values, host_name, option_error
from bot.mapping import Mapping, merge_dimensions

logger = logging.getLogger(__name__)

SOURCE = "dcgm"

# DCGM fields costbot reads. DCGM_FI_PROF_GR_ENGINE_ACTIVE (a 0-1 ratio) replaces the
# utilization when the exporter is configured with profiling metrics only.
UTILIZATION = "DCGM_FI_DEV_GPU_UTIL"
ENGINE_ACTIVE = "DCGM_FI_PROF_GR_ENGINE_ACTIVE"
MEMORY_USED = "DCGM_FI_DEV_FB_USED"
MEMORY_FREE = "DCGM_FI_DEV_FB_FREE"
MEMORY_RESERVED = "DCGM_FI_DEV_FB_RESERVED"
MEMORY_TOTAL = "DCGM_FI_DEV_FB_TOTAL"
POWER = "DCGM_FI_DEV_POWER_USAGE"

# DCGM writes "no value" as sentinels near the top of the value range (its C API constants):
# DCGM_INT32_BLANK 0x7ffffff0, DCGM_INT64_BLANK 0x7ffffffffffffff0 and DCGM_FP64_BLANK 2**47,
# each +1 to +3 for not found, not supported and not permitted, so 9223372036854775794 is
# "not supported". No real GPU reading comes near the smallest of them.
BLANK_FROM = Decimal(0x7FFFFFF0)

_LINE = re.compile(
    r"^(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)(?:\s+(?P<timestamp>-?\d+))?\s*$"
)
_LABEL = re.compile(r'\s*(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*(?:,|$)')
_ELLIPSIS = re.compile(r"^\s*(\.\.\.|…)\s*$")
# Sample timestamps accepted: 2000-01-01 to 2100-01-01, in milliseconds. Seconds would be
# read as January 1970 and are rejected by this range.
_EARLIEST_MS = 946_684_800_000
_LATEST_MS = 4_102_444_800_000


# A sample or TYPE line of a DCGM metric; the exporter's counter list (CSV) has neither.
_SNIFF = re.compile(
    rb"^(?:DCGM_FI_[A-Z0-9_]+(?:\{[^\n]*\})?[ \t]+(?:[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?|NaN)(?:\s|$)|# TYPE DCGM_FI_)",
    re.MULTILINE,
)


# A line of dcgm-exporter's counter list: "DCGM_FI_DEV_GPU_UTIL, gauge, GPU utilization (in %)."
_COUNTER_LIST_LINE = re.compile(r"^\s*DCGM_FI_[A-Z0-9_]+\s*,\s*(?:gauge|counter|label)\s*,")


def sniff(head: bytes, path: Path) -> bool:
    return _SNIFF.search(head) is not None


@register("dcgm", "NVIDIA dcgm-exporter metrics in Prometheus text format (GPU utilization)", sniff)
def parse_dcgm(context: ParseContext) -> Iterator[Record | RowError]:
    """Parse dcgm-exporter text into GpuUsage samples, one per GPU and scrape."""
    path = context.path
    name = str(path)
    try:
        tracker = IntervalTracker(context, SOURCE)
    except ValueProblem as problem:
        raise option_error(context, "interval_seconds", problem) from None

    scrape: dict[tuple[str, str, int | None], _Gpu] = {}
    seen: set[tuple[str, str, str]] = set()
    default_host: str | None = None
    default_time: datetime | None = None
    metric_lines = 0

    # The context's stream lets the loader show progress; it drops a leading byte-order mark.
    with context.open_text(newline="") as text:
        text.reconfigure(errors="surrogateescape")
        for number, line in enumerate(text, start=1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#") or _ELLIPSIS.match(line):
                continue
            if re.search("[\udc80-\udcff]", line):
                shown = line.encode("utf-8", "surrogateescape")[:80]
                yield RowError(name, number, "line", shown, "invalid UTF-8; save the file as UTF-8", raw=shown)
                continue
            match = _LINE.match(line)
            if match is None and metric_lines == 0 and _COUNTER_LIST_LINE.match(line):
                raise ImportFailed([RowError(
                    name, number, "file", line[:60],
                    "this is a dcgm-exporter counter list (the metrics to export), not metrics; "
                    "import a scrape of the exporter's /metrics endpoint instead",
                )])  # fmt: skip
            if match is None:
                yield RowError(name, number, "line", line[:120], "not a Prometheus sample line (NAME{LABELS} VALUE [TIMESTAMP])", raw=line)
                continue
            metric = match.group("name")
            if not metric.startswith("DCGM_FI_"):
                continue
            metric_lines += 1
            labels = _labels(match.group("labels") or "")
            if labels is None:
                yield RowError(name, number, metric, match.group("labels"), 'invalid labels; expected key="value" pairs separated by commas', raw=line)
                continue

            try:
                value = _value(metric, match.group("value"))
            except ValueProblem as problem:
                yield RowError(name, number, metric, match.group("value"), str(problem), raw=line)
                continue

            host = labels.get("Hostname")
            if not host:
                if default_host is None:
                    default_host = host_name(context)
                host = default_host
            gpu_id = labels.get("UUID") or labels.get("gpu") or labels.get("device") or "0"
            milliseconds = int(match.group("timestamp")) if match.group("timestamp") else None
            if milliseconds is not None and not _EARLIEST_MS <= milliseconds < _LATEST_MS:
                yield RowError(
                    name, number, "timestamp", match.group("timestamp"),
                    "out of range; expected Unix time in milliseconds (13 digits, such as 1763542800000)", raw=line,
                )
                continue

            if (metric, host, gpu_id) in seen:
                yield from _flush(scrape, tracker)
                seen.clear()
            seen.add((metric, host, gpu_id))

            key = (host, gpu_id, milliseconds)
            gpu = scrape.get(key)
            if gpu is None:
                if milliseconds is not None:
                    sampled_at = datetime.fromtimestamp(milliseconds / 1000, timezone.utc)
                else:
                    if default_time is None:
                        try:
                            default_time = file_time(context)
                        except ValueProblem as problem:
                            raise option_error(context, "time", problem) from None
                    sampled_at = default_time
                gpu = scrape[key] = _Gpu(host, gpu_id, sampled_at, labels, number)
            gpu.metrics[metric] = value

    yield from _flush(scrape, tracker)
    yield from tracker.finish()
    logger.info("dcgm parsed: path=%s metric_lines=%d", path, metric_lines)


class _Gpu:
    """The metrics of one GPU in one scrape, collected line by line."""

    def __init__(self, host: str, gpu_id: str, sampled_at: datetime, labels: dict[str, str], line: int) -> None:
        self.host = host
        self.gpu_id = gpu_id
        self.sampled_at = sampled_at
        self.labels = labels
        self.line = line
        self.metrics: dict[str, Decimal | None] = {}


def _flush(scrape: dict[Any, _Gpu], tracker: IntervalTracker) -> Iterator[Record]:
    for gpu in scrape.values():
        yield from tracker.add(Sample(gpu.gpu_id, gpu.sampled_at, _sample_values(tracker.context, gpu), gpu.line, gpu.labels))
    scrape.clear()


def _sample_values(context: ParseContext, gpu: _Gpu) -> dict[str, Any]:
    mapping: Mapping = context.mapping or Mapping()
    values = gpu_values(context, gpu.host, name=gpu.labels.get("modelName") or None)
    # Kubernetes labels (namespace, pod, container) work like tags: the mapping's tag_keys
    # turn them into dimensions, and the host's own mapping fills what they leave open.
    tagged = mapping.from_tags(gpu.labels)
    values.update(merge_dimensions(tagged, mapping.for_host(gpu.host)))

    metrics = gpu.metrics
    index = gpu.labels.get("gpu")
    values["gpu_index"] = int(index) if index is not None and index.isdigit() else None
    values["gpu_uuid"] = gpu.labels.get("UUID") or None

    utilization = metrics.get(UTILIZATION)
    if utilization is None and metrics.get(ENGINE_ACTIVE) is not None:
        utilization = metrics[ENGINE_ACTIVE] * 100
    values["utilization_pct"] = float(utilization) if utilization is not None else None

    used = metrics.get(MEMORY_USED)
    values["memory_used_mib"] = float(used) if used is not None else None
    total = metrics.get(MEMORY_TOTAL)
    if total is None and used is not None and metrics.get(MEMORY_FREE) is not None:
        total = used + metrics[MEMORY_FREE] + (metrics.get(MEMORY_RESERVED) or 0)
    values["memory_total_mib"] = float(total) if total is not None else None
    power = metrics.get(POWER)
    values["power_w"] = float(power) if power is not None else None
    return values


def _labels(text: str) -> dict[str, str] | None:
    labels: dict[str, str] = {}
    position = 0
    text = text.strip()
    while position < len(text):
        match = _LABEL.match(text, position)
        if match is None:
            return None
        labels[match.group("key")] = _unescape(match.group("value"))
        position = match.end()
    return labels


def _unescape(value: str) -> str:
    return re.sub(r'\\(["\\n])', lambda escape: "\n" if escape.group(1) == "n" else escape.group(1), value)


def _value(metric: str, text: str) -> Decimal | None:
    """Read a sample value; return None for DCGM's blank sentinels and NaN."""
    if text in ("NaN", "nan"):
        return None
    try:
        number = parse_decimal(text, allow_negative=True)
    except ValueProblem:
        raise ValueProblem("not a number") from None
    if number >= BLANK_FROM:
        return None
    if number < 0:
        raise ValueProblem("negative value; a GPU metric is zero or more")
    if metric == UTILIZATION and number > 100:
        raise ValueProblem("utilization above 100 %")
    if metric == ENGINE_ACTIVE and number > 1:
        raise ValueProblem("engine activity above 1 (it is a ratio from 0 to 1)")
    return number
