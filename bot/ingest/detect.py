"""Find the import format of a file from its first bytes."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from pathlib import Path

import bot.ingest
from bot.ingest.base import FORMATS, Format, ImportFailed, RowError
from bot.ingest.csvrows import sniff_header
from bot.ingest.fields import describe_missing, json_keys, near_misses

# Bytes given to each format's sniffer. Enough for a header row or the first JSON result.
SNIFF_BYTES = 64 * 1024

# Modules of bot.ingest that hold shared machinery rather than a format.
_NOT_FORMATS = {"base", "buckets", "detect", "fields", "jsonstream", "loader", "reading", "writer"}


def load_formats() -> dict[str, Format]:
    """Import every format module under bot.ingest, which registers it, and return the registry."""
    for module in pkgutil.iter_modules(bot.ingest.__path__):
        if module.name not in _NOT_FORMATS and not module.name.startswith("_"):
            importlib.import_module(f"bot.ingest.{module.name}")
    return FORMATS


def describe_formats() -> str:
    formats = load_formats()
    return "\n".join(f"  {name}: {formats[name].description}" for name in sorted(formats))


def choose_format(path: Path, head: bytes, name: str | None) -> Format:
    """Return format `name`, or the one whose sniffer accepts `head`; raise `ImportFailed` otherwise."""
    formats = load_formats()
    if name is not None:
        if name not in formats:
            raise ImportFailed(
                [RowError(str(path), None, "--format", name, f"unknown format; use one of:\n{describe_formats()}")]
            )
        return formats[name]
    matches = [fmt for fmt in formats.values() if fmt.sniff(head, path)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        closest = _closest_format(head, formats.values())
        if closest is not None:
            message = _near_miss_message(*closest, formats)
        else:
            message = (
                "format not recognised: not a usage, cost or GPU export that costbot reads; "
                f"pass --format with one of: {', '.join(sorted(formats))}"
            )
    else:
        names = ", ".join(sorted(fmt.name for fmt in matches))
        message = f"the content fits several formats ({names}); pass --format with one of them"
    first_line = head.decode("utf-8", "replace").lstrip("\ufeff").split("\n", 1)[0]
    raise ImportFailed([RowError(str(path), 1, "format", first_line[:60], message)])


def _closest_format(head: bytes, formats: Iterable[Format]) -> tuple[Format, list[str], list[str]] | None:
    """Find the format with the largest share of its required columns (CSV) or keys (JSON) in `head`.

    Return the format, its missing names and the names found in the file, or None when no
    format has more than half of its required names present. Formats without declared
    fields (the OpenAI exports, nvidia-smi and DCGM) are recognised by their sniffers only.
    """
    text = head.decode("utf-8", "ignore").lstrip("\ufeff \t\r\n")
    is_json = text[:1] in ("{", "[")
    found = json_keys(text) if is_json else sniff_header(head)
    candidates = []
    for fmt in formats:
        if fmt.fields is None or (fmt.fields.kind == "key") != is_json:
            continue
        missing = fmt.fields.missing(found)
        present = len(fmt.fields.names) - len(missing)
        if missing and 2 * present > len(fmt.fields.names):
            candidates.append((-present / len(fmt.fields.names), -present, fmt.name, fmt, missing))
    if not candidates:
        return None
    # The largest share of required names present wins, then the largest count, then the name.
    *_, fmt, missing = min(candidates, key=lambda candidate: candidate[:3])
    return fmt, missing, found


def _near_miss_message(fmt: Format, missing: list[str], found: list[str], formats: dict[str, Format]) -> str:
    fields = fmt.fields
    assert fields is not None
    matches = near_misses(missing, found, fields)
    noun = fields.kind if len(missing) == 1 else f"{fields.kind}s"
    if len(matches) == len(missing):
        fix = f"rename the {noun}"
    elif matches:
        fix = f"rename or add the {noun}"
    else:
        fix = f"add the {noun}"
    others = ", ".join(name for name in sorted(formats) if name != fmt.name)
    return (
        f"looks like the {fmt.label} ({fmt.name}), but {describe_missing(missing, matches, fields.kind)}. "
        f"{fields.kind.capitalize()}s it needs: {', '.join(fields.names)}. "
        f"If the file is in that format, {fix}; otherwise pass --format with its format: {others}"
    )
