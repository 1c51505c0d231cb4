"""`costbot ask …` and `costbot rollups …`: cost questions from the terminal, and the rollups behind them."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from bot.cli.apps import new_app
from bot.cli.options import parse_timestamp
from bot.clock import FixedClock, SystemClock
from bot.db import session_scope
from bot.settings import get_settings


def register(app: typer.Typer) -> None:
    @app.command("ask")
    def ask(
        question: str = typer.Argument(..., metavar="QUESTION", help="The cost question, in quotes."),
        as_json: bool = typer.Option(False, "--json", help="Print the structured query and result as JSON instead of text."),
        chart: Path | None = typer.Option(None, "--chart", metavar="FILE", help="Write the answer's chart (PNG) to this file, when it has one."),
        at: str | None = typer.Option(None, "--at", metavar="TIME", help="Answer as if now were this ISO 8601 timestamp with a zone, such as 2026-11-20T00:00Z; periods like 'last week' count from it."),
    ) -> None:
        """Answer a cost question from the imported usage.

        docs/questions.md lists the questions it understands.

        \b
        Examples:
          costbot ask "how much did we spend last week by team"
          costbot ask --at 2026-11-20T00:00Z "cost per success by workflow last 30 days"
          costbot ask --json "top 5 features by spend last week"
          costbot ask --chart spend.png "spend by day last 30 days"
        """
        from bot.questions import answer_question

        clock = FixedClock(parse_timestamp(at, "--at")) if at is not None else SystemClock()
        settings = get_settings()
        with session_scope() as session:
            answer = answer_question(session, question, settings=settings, clock=clock, chart=chart is not None,
                                     at_hint=True)
        if as_json:
            typer.echo(json.dumps({**answer.data, "follow_ups": answer.follow_ups}, indent=2, sort_keys=False))
        else:
            typer.echo(answer.text)
        if chart is not None:
            if answer.chart_png is None:
                typer.echo(f"costbot: this answer has no chart (no time series, or no spend to plot), "
                           f"so nothing was written to {chart}", err=True)
            else:
                chart.write_bytes(answer.chart_png)
                typer.echo(f"chart written to {chart}", err=True)

    rollups_app = new_app(
        "Pre-aggregated hourly usage that keeps cost questions fast.\n\n\b\nExample:\n  costbot rollups rebuild"
    )

    @rollups_app.command("rebuild")
    def rebuild() -> None:
        """Delete the rollups and build them again from every usage row.

        \b
        Example:
          costbot rollups rebuild
        """
        from bot.queries.rollups import rebuild_rollups

        with session_scope() as session:
            rows = rebuild_rollups(session)
        typer.echo(f"rollups rebuilt: {rows} rows")

    app.add_typer(rollups_app, name="rollups")
