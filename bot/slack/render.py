"""Plain-text rendering of Block Kit blocks, for the console sender and for logs in tests."""

from __future__ import annotations

from typing import Any


def _text_of(element: Any) -> str:
    if isinstance(element, dict):
        if element.get("type") == "image":
            return f"[image: {element.get('alt_text', '')}]"
        return str(element.get("text", ""))
    return str(element or "")


def render_block(block: dict[str, Any]) -> str:
    """Render one block as readable lines of text."""
    kind = block.get("type")
    if kind == "header":
        return f"== {_text_of(block.get('text'))} =="
    if kind == "divider":
        return "----"
    if kind == "section":
        lines = []
        if block.get("text"):
            lines.append(_text_of(block["text"]))
        fields = [" ".join(_text_of(field).split("\n")) for field in block.get("fields", [])]
        if fields:
            lines.append("  " + " | ".join(fields))
        accessory = block.get("accessory")
        if accessory and accessory.get("type") == "button":
            lines.append(f"  [{_text_of(accessory.get('text'))}]")
        return "\n".join(lines)
    if kind == "context":
        return "  (" + " ".join(_text_of(element) for element in block.get("elements", [])) + ")"
    if kind == "actions":
        buttons = []
        for element in block.get("elements", []):
            label = _text_of(element.get("text"))
            buttons.append(f"[{label} -> {element['url']}]" if element.get("url") else f"[{label}]")
        return "  " + " ".join(buttons)
    if kind == "image":
        return f"[image: {block.get('alt_text', '')}]"
    return f"[{kind} block]"


def render_blocks(blocks: list[dict[str, Any]]) -> str:
    """Render blocks in order, one or more lines each."""
    return "\n".join(render_block(block) for block in blocks)
