"""One renderer from an answer's presentation to Block Kit and to plain text.

Slack limits honoured here (Block Kit reference, 2026): at most 50 blocks per message,
3,000 characters of text per section, 150 characters of header text and 10 elements
per context block. Long tables are split over several sections at row boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.answers.format import escape, escape_code, plain

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_CONTEXT_ELEMENTS = 10
# Rows beyond this are summarised, which keeps an answer readable in a channel.
MAX_TABLE_ROWS = 40
_FENCE = "```"


@dataclass
class Presentation:
    """The content of an answer: a headline, an optional table, notes, the scope it covers and
    follow-up questions. `headline` and `lines` are mrkdwn with values already escaped;
    table cells, `scope` and `follow_ups` are raw text and escaped here."""

    headline: str
    table: list[list[str]] | None = None
    lines: list[str] = field(default_factory=list)
    scope: list[str] = field(default_factory=list)
    follow_ups: list[str] = field(default_factory=list)


def table_text(rows: list[list[str]]) -> list[str]:
    """Lay out rows as fixed-width lines: first column left-aligned, the others right-aligned."""
    widths = [max(len(row[index]) for row in rows) for index in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("-" * len(lines[0]))
    return lines


def _table_sections(rows: list[list[str]]) -> list[str]:
    shown = rows
    if len(rows) - 1 > MAX_TABLE_ROWS:
        shown = rows[: MAX_TABLE_ROWS + 1]
    lines = [escape_code(line) for line in table_text(shown)]
    if len(shown) < len(rows):
        lines.append(f"… {len(rows) - len(shown)} more rows not shown")
    sections, current = [], []
    budget = MAX_SECTION_CHARS - 2 * len(_FENCE) - 2
    for line in lines:
        line = line[:budget]
        if current and sum(len(item) + 1 for item in current) + len(line) > budget:
            sections.append(current)
            current = []
        current.append(line)
    if current:
        sections.append(current)
    return [_FENCE + "\n" + "\n".join(section) + "\n" + _FENCE for section in sections]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_SECTION_CHARS]}}


def render(presentation: Presentation) -> tuple[str, list[dict[str, Any]]]:
    """Return (plain-text fallback, Block Kit blocks) for a presentation."""
    blocks: list[dict[str, Any]] = [_section(presentation.headline)]
    if presentation.table:
        blocks.extend(_section(text) for text in _table_sections(presentation.table))
    for line in presentation.lines:
        blocks.append(_section(line))
    context = [escape(item) for item in presentation.scope][:MAX_CONTEXT_ELEMENTS]
    tail: list[dict[str, Any]] = []
    if context:
        tail.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text[:MAX_SECTION_CHARS]} for text in context]})
    if presentation.follow_ups:
        asks = " · ".join(f"“{escape(question)}”" for question in presentation.follow_ups)
        tail.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Try next: {asks}"[:MAX_SECTION_CHARS]}]})
    room = MAX_BLOCKS - len(tail)
    if len(blocks) > room:
        left_out = len(blocks) - (room - 1)
        blocks = blocks[: room - 1] + [_section(f"_{left_out} more parts not shown: Slack shows at most {MAX_BLOCKS} blocks._")]
    blocks.extend(tail)

    text_parts = [plain(presentation.headline)]
    if presentation.table:
        text_parts.append("\n".join(table_text(presentation.table)))
    text_parts.extend(plain(line) for line in presentation.lines)
    text_parts.extend(presentation.scope)
    if presentation.follow_ups:
        text_parts.append("Try next: " + " · ".join(f"“{question}”" for question in presentation.follow_ups))
    return "\n\n".join(part for part in text_parts if part), blocks
