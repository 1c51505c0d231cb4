"""Formatting of money, counts and shares, and escaping of values for Slack mrkdwn."""

from __future__ import annotations

import re
from datetime import datetime, timezone, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal

from bot import messages

_CENT = Decimal("0.01")
UNALLOCATED = "(unallocated)"


def money(amount: Decimal | None, currency: str = "USD") -> str:
    """Format an amount with its currency, to the cent: "$1,234.57". Amounts under a cent
    that are not zero keep four decimals, so they do not read as $0.00."""
    if amount is None:
        return "n/a"
    symbol = "$" if currency == "USD" else currency + " "
    sign = "-" if amount < 0 else ""
    value = abs(amount)
    if value and value < _CENT:
        return f"{sign}{symbol}{value.quantize(Decimal('0.0001'), ROUND_HALF_EVEN)}"
    return f"{sign}{symbol}{value.quantize(_CENT, ROUND_HALF_EVEN):,}"


def signed_money(amount: Decimal) -> str:
    """Format a change of money with an explicit sign: "+$12.00", "-$3.50"."""
    return ("+" if amount > 0 else "") + money(amount)


def count(value: int | Decimal | float) -> str:
    """Format a count with thousands separators."""
    return f"{int(value):,}"


def percent(share: Decimal | float | None, digits: int = 1) -> str:
    """Format a 0..1 share as a percentage: 0.1234 -> "12.3%"."""
    if share is None:
        return "n/a"
    return f"{float(share) * 100:.{digits}f}%"


def escape(value: object) -> str:
    """Escape a user-supplied or stored value for Slack mrkdwn.

    &, < and > become entities (Slack's documented escaping, which also stops <!channel>
    and <@U…> mentions). Formatting characters * ~ ` and an underscore that starts a word
    are preceded by a zero-width space (U+200B), so a value like "*prod*" does not turn bold.
    """
    text = UNALLOCATED if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"([*~`])", "\u200b\\1", text)
    # An underscore inside a word (proj_search, America/New_York) never starts italics.
    return re.sub(r"(?<![A-Za-z0-9])_", "\u200b_", text)


def escape_code(value: object) -> str:
    """Escape a value shown inside a ``` code block, where only &, < and > need entities."""
    text = UNALLOCATED if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("```", "'''")


def plain(mrkdwn: str) -> str:
    """Turn the renderer's mrkdwn back into plain text for the fallback and the terminal."""
    text = re.sub("(?<!\u200b)\\*", "", mrkdwn).replace("\u200b", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def period_without_usage_hint(latest_end: datetime, tz: tzinfo, *, at_action: str | None = None) -> list[str]:
    """Return the lines that explain a period without stored usage: where the stored usage
    ends (in `tz`) and, with `at_action` (the verb of a command that has `--at`), how to run
    that command as of then."""
    lines = [messages.PERIOD_WITHOUT_USAGE.format(moment=latest_end.astimezone(tz).strftime("%Y-%m-%d %H:%M"))]
    if at_action is not None:
        moment = latest_end.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
        lines.append(messages.AT_HINT.format(action=at_action, moment=moment))
    return lines
