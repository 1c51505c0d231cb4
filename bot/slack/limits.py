"""Slack's size limits, and fitting a message into them before it is sent.

The limits are those documented for chat.postMessage and Block Kit on api.slack.com:

- 50 blocks per message, 100 per App Home view;
- section text 3,000 characters, section fields 2,000 characters each and at most 10;
- header text 150 characters, button text 75;
- 25 elements per actions block, 10 per context block;
- 40,000 characters of top-level message text.

A message over a limit is split (long section text becomes several sections) or trimmed
with a note about what was left out, so Slack does not reject it for its size.
"""

from __future__ import annotations

import copy
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_MESSAGE_TEXT = 40000

ELLIPSIS = "…"


def trim_text(text: str, limit: int, note: str = "") -> str:
    """Cut `text` to at most `limit` characters, ending with an ellipsis and `note`."""
    if len(text) <= limit:
        return text
    tail = ELLIPSIS + note
    return text[: max(limit - len(tail), 0)] + tail


def split_text(text: str, limit: int) -> list[str]:
    """Split `text` into chunks of at most `limit` characters, preferring line breaks."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        chunks.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def _fit_block(block: dict[str, Any]) -> list[dict[str, Any]]:
    """Return `block` fitted to its type's limits; a long section becomes several sections."""
    kind = block.get("type")
    if kind == "section":
        fitted = copy.deepcopy(block)
        fields = fitted.get("fields")
        if fields:
            first_fields = fields[:MAX_SECTION_FIELDS]
            for field in first_fields:
                field["text"] = trim_text(field.get("text", ""), MAX_FIELD_TEXT)
            fitted["fields"] = first_fields
        text = fitted.get("text")
        if not text or len(text.get("text", "")) <= MAX_SECTION_TEXT:
            return [fitted]
        parts = split_text(text["text"], MAX_SECTION_TEXT)
        first = dict(fitted, text=dict(text, text=parts[0]))
        more = [{"type": "section", "text": dict(text, text=part)} for part in parts[1:]]
        return [first, *more]
    if kind == "header":
        fitted = copy.deepcopy(block)
        fitted["text"]["text"] = trim_text(fitted["text"].get("text", ""), MAX_HEADER_TEXT)
        return [fitted]
    if kind == "actions":
        fitted = copy.deepcopy(block)
        fitted["elements"] = fitted.get("elements", [])[:MAX_ACTIONS_ELEMENTS]
        for element in fitted["elements"]:
            label = element.get("text")
            if isinstance(label, dict):
                label["text"] = trim_text(label.get("text", ""), MAX_BUTTON_TEXT)
        return [fitted]
    if kind == "context":
        fitted = copy.deepcopy(block)
        fitted["elements"] = fitted.get("elements", [])[:MAX_CONTEXT_ELEMENTS]
        for element in fitted["elements"]:
            if "text" in element and isinstance(element["text"], str):
                element["text"] = trim_text(element["text"], MAX_SECTION_TEXT)
        return [fitted]
    return [copy.deepcopy(block)]


def fit_blocks(blocks: list[dict[str, Any]] | None, max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[dict[str, Any]]:
    """Fit every block to its limits, then keep at most `max_blocks`, the last one a note."""
    if not blocks:
        return []
    fitted: list[dict[str, Any]] = []
    for block in blocks:
        fitted.extend(_fit_block(block))
    if len(fitted) <= max_blocks:
        return fitted
    left_out = len(fitted) - (max_blocks - 1)
    note = {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": f"{left_out} more blocks not shown: Slack shows at most {max_blocks} in one message.",
            }
        ],
    }
    return [*fitted[: max_blocks - 1], note]


def fit_message(text: str, blocks: list[dict[str, Any]] | None) -> tuple[str, list[dict[str, Any]]]:
    """Return `text` and `blocks` fitted to chat.postMessage's limits."""
    fitted_text = trim_text(
        text,
        MAX_MESSAGE_TEXT,
        f" (trimmed: Slack accepts at most {MAX_MESSAGE_TEXT:,} characters of text)",
    )
    return fitted_text, fit_blocks(blocks)
