"""Budget edits by admins from Slack: show the file, add or change a budget, remove one.

Every edit builds the whole new file, validates it with the same rules as `costbot budgets
validate`, and only then replaces the file atomically, so an invalid edit leaves the file
and the budgets in force as they were.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bot.budgets.config import BUDGET_KEYS, BudgetFileError, parse_budgets

logger = logging.getLogger(__name__)

# Keys whose text is kept as typed: an amount must stay the decimal the admin wrote.
TEXT_KEYS = ("name", "amount_usd", "owner", "channel", "period")


def parse_assignments(text: str) -> dict[str, str]:
    """Parse `key=value` pairs as typed in Slack, e.g. `amount_usd=15000 "thresholds=[50, 80, 100]"`.

    Raises ValueError naming the first pair that has no '=' or an unknown key.
    """
    try:
        parts = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"cannot read {text!r}: {exc}; quote values that contain spaces") from None
    fields: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"{part!r} is not key=value; for example amount_usd=15000")
        if key not in BUDGET_KEYS or key == "name":
            settable = ", ".join(name for name in BUDGET_KEYS if name != "name")
            raise ValueError(f"unknown budget key {key!r}; use {settable}")
        fields[key] = value
    return fields


def show_budgets_file(settings) -> str:
    """Return the budgets file's text for an admin to read in Slack."""
    path = Path(settings.budgets_file)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return f"{path} does not exist yet; add a budget to create it."


def update_budget(settings, *, name: str, fields: dict[str, str], user_id: str, is_admin: bool) -> str:
    """Add the budget `name` or change the given fields of it; return a confirmation.

    Field values are YAML (e.g. `[50, 80, 100]` or `{team: [search]}`), except the keys in
    TEXT_KEYS, which are kept as text. Raises PermissionError for a non-admin and
    BudgetFileError, with the usual FILE:LINE messages, when the result would be invalid.
    """
    _require_admin(user_id, is_admin, "change budgets")
    path = Path(settings.budgets_file)
    document = _read_document(path)
    entries = document["budgets"]
    entry = next((item for item in entries if isinstance(item, dict) and item.get("name") == name), None)
    created = entry is None
    if entry is None:
        entry = {"name": name}
        entries.append(entry)
    for key, raw in fields.items():
        entry[key] = raw if key in TEXT_KEYS else yaml.safe_load(raw)
    _write_validated(path, document)
    action = "added" if created else "updated"
    logger.info("budget %s by admin budget=%s user=%s keys=%s", action, name, user_id, sorted(fields))
    changes = ", ".join(f"{key}={value}" for key, value in fields.items())
    return f"<@{user_id}> {action} budget {name}: {changes}."


def remove_budget(settings, *, name: str, user_id: str, is_admin: bool) -> str:
    """Remove the budget `name` from the file; return a confirmation. Raises LookupError when absent."""
    _require_admin(user_id, is_admin, "remove budgets")
    path = Path(settings.budgets_file)
    document = _read_document(path)
    kept = [item for item in document["budgets"] if not (isinstance(item, dict) and item.get("name") == name)]
    if len(kept) == len(document["budgets"]):
        raise LookupError(f"budget {name!r} is not in {path}")
    document["budgets"] = kept
    _write_validated(path, document)
    logger.info("budget removed by admin budget=%s user=%s", name, user_id)
    return f"<@{user_id}> removed budget {name}."


def _require_admin(user_id: str, is_admin: bool, action: str) -> None:
    if not is_admin:
        raise PermissionError(f"only admins can {action}; <@{user_id}> is not an admin")


def _read_document(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"budgets": []}
    # Validate the current file first: an edit must not silently carry over a broken file.
    text = path.read_text(encoding="utf-8")
    parse_budgets(text, path)
    document = yaml.safe_load(text) or {}
    document.setdefault("budgets", [])
    if document["budgets"] is None:
        document["budgets"] = []
    return document


def _write_validated(path: Path, document: dict[str, Any]) -> None:
    # NOTE: the file is rewritten from its parsed data, so YAML comments in it are lost.
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=None)
    try:
        parse_budgets(text, path)
    except BudgetFileError as exc:
        # Line numbers would point into a file that was never written, so they are dropped.
        prefix = re.compile(re.escape(str(path)) + r":\d+: ")
        raise BudgetFileError([f"edit rejected, {path} unchanged: {prefix.sub('', error)}" for error in exc.errors]) from None
    directory = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory, text=True)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


__all__ = ["BudgetFileError", "parse_assignments", "remove_budget", "show_budgets_file", "update_budget"]
