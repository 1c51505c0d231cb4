"""Find the import format of a file from its first bytes."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import bot.ingest
from bot.ingest.base import FORMATS, Format, ImportFailed, RowError

# Bytes given to each format's sniffer. Enough for a header row or the first JSON result.
SNIFF_BYTES = 64 * 1024

# Modules of bot.ingest that hold shared machinery rather than a format.
_NOT_FORMATS = {"base", "buckets", "detect", "jsonstream", "loader", "reading", "writer"}


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
        message = (
            "format not recognised: not a usage, cost or GPU export that costbot reads; "
            f"pass --format with one of: {', '.join(sorted(formats))}"
        )
    else:
        names = ", ".join(sorted(fmt.name for fmt in matches))
        message = f"the content fits several formats ({names}); pass --format with one of them"
    first_line = head.decode("utf-8", "replace").lstrip("\ufeff").split("\n", 1)[0]
    raise ImportFailed([RowError(str(path), 1, "format", first_line[:60], message)])
