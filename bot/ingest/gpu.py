"""What the GPU formats (nvidia-smi CSV logs, DCGM exporter text) share.

Both yield GpuUsage samples: one GPU on one host at one time, covering `interval_seconds`.
This module normalises GPU names to a model class. When the file does not state them, it
decides the host name, the host's time zone and the sample time. It works out each sample's
interval from the next sample of the same GPU.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.ingest.base import ImportFailed, ParseContext, Record, RowError
from bot.ingest.csvrows import ValueProblem, natural_key, parse_utc_time
from bot.mapping import Mapping
from bot.models.usage import GpuUsage

logger = logging.getLogger(__name__)

# Interval of a sample when the file has one sample per GPU and no interval option is given.
DEFAULT_INTERVAL_SECONDS = 60
# NOTE: a gap between two samples longer than this (the logger was stopped) counts as this
# long, so one sample never covers hours of use. The GPU may still have been rented then.
MAX_INTERVAL_SECONDS = 3600

# GPU model classes, most specific first: "NVIDIA H100 80GB HBM3" -> H100, "Tesla T4" -> T4.
GPU_MODELS = (
    ("GB200", r"GB200"), ("B200", r"B200"), ("GH200", r"GH200"), ("H200", r"H200"), ("H100", r"H100"),
    ("H800", r"H800"), ("A100", r"A100"), ("A800", r"A800"), ("A10G", r"A10G"), ("A10", r"A10(?![0-9])"),
    ("A30", r"A30(?![0-9])"), ("A40", r"A40(?![0-9])"), ("L40S", r"L40S"), ("L40", r"L40(?![0-9])"),
    ("L4", r"L4(?![0-9])"), ("RTX 6000 Ada", r"RTX 6000 Ada"), ("A6000", r"A6000"), ("V100", r"V100"),
    ("P100", r"P100"), ("T4", r"T4(?![0-9])"), ("K80", r"K80"), ("MI300X", r"MI300X"), ("MI250X", r"MI250X"),
)
_GPU_MODEL_PATTERNS = tuple((model, re.compile(r"(?<![A-Za-z0-9])" + pattern, re.IGNORECASE)) for model, pattern in GPU_MODELS)
UNKNOWN_MODEL = "unknown"


def normalise_gpu_model(name: str | None) -> str | None:
    """Return the model class of a GPU name (A100, H100, L4, …) or the name without its vendor prefix."""
    if name is None or not name.strip():
        return None
    for model, pattern in _GPU_MODEL_PATTERNS:
        if pattern.search(name):
            return model
    return re.sub(r"^(NVIDIA|Tesla|AMD)\s+", "", name.strip(), flags=re.IGNORECASE)


def host_name(context: ParseContext) -> str:
    """Return the `host` option, else the file name up to its first dot (`gpu-07.log.csv` -> `gpu-07`).

    A host taken from the file name is reported as a warning unless the mapping lists it.
    """
    host = context.options.get("host")
    if host:
        return str(host)
    host = context.path.name.split(".", 1)[0]
    mapping: Mapping = context.mapping or Mapping()
    if host not in mapping.hosts:
        context.warnings.append(f"{context.path}: host name {host!r} taken from the file name; pass --host to set it")
    return host


def host_zone(context: ParseContext, host: str) -> ZoneInfo:
    """Return the time zone of the host's clock: the `host_tz` option, the mapping, else UTC (with a warning)."""
    option = context.options.get("host_tz")
    if option:
        try:
            return ZoneInfo(str(option))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueProblem(f"unknown IANA time zone {option!r}; use a name such as Europe/Berlin or UTC") from None
    mapping: Mapping = context.mapping or Mapping()
    zone = mapping.host_timezone(host)
    if zone is not None:
        return zone
    context.warnings.append(
        f"{context.path}: timestamps have no time zone and host {host!r} has none in the mapping; read as UTC (pass --host-tz or set hosts.<host>.timezone)"
    )
    return ZoneInfo("UTC")


def file_time(context: ParseContext) -> datetime:
    """Return the sample time for a file without timestamps: the `time` option, else the file's modification time."""
    option = context.options.get("time")
    if isinstance(option, datetime):
        if option.tzinfo is None:
            raise ValueProblem(f"time option {option.isoformat()} has no time zone; add Z or an offset")
        return option.astimezone(timezone.utc)
    if option:
        moment, _ = parse_utc_time(str(option), naive_is_utc=False, date_only_ok=False)
        return moment
    modified = datetime.fromtimestamp(context.path.stat().st_mtime, timezone.utc).replace(microsecond=0)
    context.warnings.append(
        f"{context.path}: the file has no timestamps; samples dated by the file's modification time "
        f"{modified.isoformat()}; pass --time to set it"
    )
    return modified


def interval_option(context: ParseContext) -> int | None:
    value = context.options.get("interval_seconds")
    if value is None:
        return None
    seconds = int(value)
    if seconds <= 0:
        raise ValueProblem(f"interval_seconds must be a positive number of seconds, got {value!r}")
    return seconds


@dataclass
class Sample:
    """One GPU sample waiting for its interval: the GpuUsage values and where it came from."""

    gpu_key: str
    sampled_at: datetime
    values: dict[str, Any]
    line: int | None
    raw: Any


class IntervalTracker:
    """Hold the latest sample of each GPU until the next one shows how long it covered.

    A sample's interval is the time to the next sample of the same GPU, in whole seconds
    (at least 1, at most MAX_INTERVAL_SECONDS). The last sample of a GPU reuses the interval
    before it; a GPU with a single sample gets the interval option or DEFAULT_INTERVAL_SECONDS.
    Memory grows with the number of GPUs, not with the file.
    """

    def __init__(self, context: ParseContext, source: str) -> None:
        self.context = context
        self.source = source
        self.fixed = interval_option(context)
        self.pending: dict[tuple[str, str], Sample] = {}
        self.last_interval: dict[tuple[str, str], int] = {}
        self.defaulted = 0

    def add(self, sample: Sample) -> Iterator[Record]:
        key = (sample.values["host"], sample.gpu_key)
        previous = self.pending.get(key)
        self.pending[key] = sample
        if previous is None:
            return
        seconds = (sample.sampled_at - previous.sampled_at).total_seconds()
        if seconds > 0:
            interval = min(max(1, round(seconds)), MAX_INTERVAL_SECONDS)
            self.last_interval[key] = interval
        else:
            interval = self.last_interval.get(key) or self.fixed or self._default()
        yield self._record(previous, self.fixed or interval)

    def finish(self) -> Iterator[Record]:
        for key, sample in self.pending.items():
            yield self._record(sample, self.fixed or self.last_interval.get(key) or self._default())
        self.pending.clear()
        if self.defaulted:
            self.context.warnings.append(
                f"{self.context.path}: {self.defaulted} sample(s) had no following sample of the same GPU; "
                f"each counts as {DEFAULT_INTERVAL_SECONDS} s; pass --interval-seconds to set it"
            )

    def _default(self) -> int:
        self.defaulted += 1
        return DEFAULT_INTERVAL_SECONDS

    def _record(self, sample: Sample, interval: int) -> Record:
        values = dict(sample.values)
        values["interval_seconds"] = interval
        values["sampled_at"] = sample.sampled_at
        values["source"] = self.source
        values["natural_key"] = natural_key(values["host"], sample.gpu_key, sample.sampled_at)
        return Record(GpuUsage, values, line=sample.line, raw=sample.raw)


def gpu_values(context: ParseContext, host: str, *, name: str | None) -> dict[str, Any]:
    """Return the host-level GpuUsage values: host, model, hourly rate and mapped dimensions."""
    mapping: Mapping = context.mapping or Mapping()
    model = normalise_gpu_model(name) or mapping.host_gpu_model(host) or context.options.get("gpu_model") or UNKNOWN_MODEL
    values: dict[str, Any] = {
        "host": host,
        "gpu_name": name,
        "gpu_model": model,
        "hourly_rate_usd": mapping.host_rate(host),
    }
    values.update(mapping.for_host(host))
    return values


def option_error(context: ParseContext, option: str, problem: ValueProblem) -> ImportFailed:
    """Return the ImportFailed to raise for a bad import option, named as the CLI flag (it has no line)."""
    value = context.options.get(option)
    flag = "--" + option.replace("_", "-")
    return ImportFailed([RowError(str(context.path), None, flag, value, str(problem))])
