"""`nvidia-smi --query-gpu=FIELDS --format=csv` logs -> GpuUsage samples.

The header names the query fields with their units in brackets (`utilization.gpu [%]`), and
each value repeats the unit after a space (`88 %`, `592.74 W`), or is `[N/A]` when the GPU
does not report it. Any field selection works; the fields costbot stores are in FIELDS and
the rest are ignored. Timestamps (`2024/09/08 13:03:31.000`) are in the host's local time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.ingest.base import ImportFailed, ParseContext, Record, RowError, register
from bot.ingest.csvrows import CsvRow, ValueProblem, parse_decimal, read_rows, sniff_header
from bot.ingest.gpu import IntervalTracker, Sample, file_time, gpu_values, host_name, host_zone, option_error

logger = logging.getLogger(__name__)

SOURCE = "nvidia_smi"

# Query field -> GpuUsage column. `power.draw.instant` and `power.draw.average` are the names
# newer drivers offer beside `power.draw`; the first one present in the header is used.
FIELDS = {
    "utilization.gpu": "utilization_pct",
    "memory.used": "memory_used_mib",
    "memory.total": "memory_total_mib",
    "power.draw": "power_w",
    "power.draw.instant": "power_w",
    "power.draw.average": "power_w",
}
METRIC_FIELDS = ("utilization.gpu", "memory.used", "power.draw", "power.draw.instant", "power.draw.average")
IDENTITY_FIELDS = ("uuid", "index", "pci.bus_id")
# Fields whose presence marks a header as nvidia-smi output.
SNIFF_FIELDS = frozenset({
    *FIELDS, "utilization.memory", "memory.free", "temperature.gpu", "clocks.sm", "clocks.mem",
    "pci.bus_id", "fan.speed", "pstate",
})
# Values nvidia-smi prints when a GPU does not report a field.
MISSING_VALUES = frozenset({"[N/A]", "N/A", "[Not Supported]", "[Unknown Error]", "[Insufficient Permissions]"})
TIMESTAMP_FORMATS = ("%Y/%m/%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S")

_HEADER = re.compile(r"^(?P<field>[A-Za-z0-9_.]+)\s*(?:\[(?P<unit>[^\]]*)\])?$")
_VALUE = re.compile(r"^(?P<number>[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(?P<unit>\S+)?$")


def _field_name(column: str) -> str:
    match = _HEADER.match(column.strip())
    return match.group("field") if match else column.strip()


def sniff(head: bytes, path: Path) -> bool:
    return any(_field_name(column) in SNIFF_FIELDS for column in sniff_header(head))


@register("nvidia_smi", "nvidia-smi --query-gpu=... --format=csv log (GPU utilization, memory, power)", sniff)
def parse_nvidia_smi(context: ParseContext) -> Iterator[Record | RowError]:
    """Parse an nvidia-smi CSV log into GpuUsage samples, one per GPU and timestamp."""
    path = context.path
    host = host_name(context)
    tracker: IntervalTracker | None = None
    columns: dict[str, tuple[str, str | None]] | None = None  # field -> (header column, unit)
    zone: ZoneInfo | None = None
    snapshot_time: datetime | None = None
    previous_time: datetime | None = None
    ordinal = 0
    samples = 0

    for item in read_rows(context, required=(), what="nvidia-smi CSV log"):
        if isinstance(item, RowError):
            yield item
            continue

        if columns is None:
            columns = _columns(item.raw)
            if not any(field in columns for field in METRIC_FIELDS):
                raise ImportFailed([RowError(
                    str(path), 1, "header", ", ".join(item.raw)[:200],
                    "no utilization.gpu, memory.used or power.draw column; add one of them to --query-gpu",
                )])
            try:
                tracker = IntervalTracker(context, SOURCE)
            except ValueProblem as problem:
                raise option_error(context, "interval_seconds", problem) from None
            option = "host_tz" if "timestamp" in columns else "time"
            try:
                if "timestamp" in columns:
                    zone = host_zone(context, host)
                else:
                    snapshot_time = file_time(context)
            except ValueProblem as problem:
                raise option_error(context, option, problem) from None

        try:
            sampled_at = _timestamp(item, columns, zone) if zone is not None else snapshot_time
            values = _metrics(item, columns)
            identity = _identity(item, columns)
            index = _cell(item, columns, "index")
        except _CellProblem as problem:
            yield item.error(path, problem.column, problem.message)
            continue

        # Without an index, UUID or bus id column, rows that share a timestamp (or the single
        # snapshot of a file without timestamps) are the host's GPUs in index order.
        ordinal = ordinal + 1 if sampled_at == previous_time else 0
        previous_time = sampled_at
        gpu_key = identity if identity is not None else str(ordinal)

        sample_values = gpu_values(context, host, name=_cell(item, columns, "name"))
        sample_values.update(values)
        sample_values["gpu_uuid"] = _cell(item, columns, "uuid")
        if index is not None:
            sample_values["gpu_index"] = int(index)
        elif identity is None:
            sample_values["gpu_index"] = ordinal
        samples += 1
        yield from tracker.add(Sample(gpu_key, sampled_at, sample_values, item.line, item.raw))

    if tracker is not None:
        yield from tracker.finish()
    logger.info("nvidia-smi parsed: path=%s host=%s samples=%d", path, host, samples)


class _CellProblem(Exception):
    def __init__(self, column: str, message: str) -> None:
        self.column = column
        self.message = message


def _columns(raw: dict[str, str]) -> dict[str, tuple[str, str | None]]:
    columns: dict[str, tuple[str, str | None]] = {}
    for column in raw:
        match = _HEADER.match(column)
        if match is None:
            continue
        columns.setdefault(match.group("field"), (column, match.group("unit")))
    return columns


def _cell(row: CsvRow, columns: dict[str, tuple[str, str | None]], field: str) -> str | None:
    if field not in columns:
        return None
    value = row.values.get(columns[field][0])
    if value is None or value in MISSING_VALUES:
        return None
    if field == "index" and not value.isdigit():
        raise _CellProblem(columns[field][0], "not a GPU index; expected a whole number such as 0")
    return value


def _identity(row: CsvRow, columns: dict[str, tuple[str, str | None]]) -> str | None:
    for field in IDENTITY_FIELDS:
        value = _cell(row, columns, field)
        if value is not None:
            return value
    return None


def _timestamp(row: CsvRow, columns: dict[str, tuple[str, str | None]], zone: ZoneInfo) -> datetime:
    column = columns["timestamp"][0]
    text = row.values.get(column)
    if text is None:
        raise _CellProblem(column, "missing timestamp")
    for pattern in TIMESTAMP_FORMATS:
        try:
            local = datetime.strptime(text, pattern)
        except ValueError:
            continue
        # NOTE: in the hour a host's clock repeats when daylight saving time ends, both
        # passes read as the first one (fold=0), so their samples share times.
        return local.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))
    raise _CellProblem(column, "unknown timestamp format; expected YYYY/MM/DD HH:MM:SS.mmm as nvidia-smi prints it")


def _metrics(row: CsvRow, columns: dict[str, tuple[str, str | None]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field, target in FIELDS.items():
        if field not in columns or target in values:
            continue
        column, unit = columns[field]
        text = row.values.get(column)
        if text is None or text in MISSING_VALUES:
            continue
        match = _VALUE.match(text)
        if match is None:
            raise _CellProblem(column, f"not a number{' in ' + unit if unit else ''}")
        if unit and match.group("unit") and match.group("unit") != unit:
            raise _CellProblem(column, f"unit {match.group('unit')!r} differs from the header's [{unit}]")
        try:
            number = parse_decimal(match.group("number"))
        except ValueProblem as exc:
            raise _CellProblem(column, str(exc)) from None
        if target == "utilization_pct" and number > Decimal(100):
            raise _CellProblem(column, "utilization above 100 %")
        values[target] = float(number)
    return values
