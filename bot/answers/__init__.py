"""Answer rendering: Block Kit within Slack's limits, a plain-text fallback and PNG charts."""

from bot.answers.render import Presentation, render

__all__ = ["Presentation", "render"]
