"""`costbot demo`: the main job on the bundled example exports, printing what it would post.

It migrates the database, imports every file under `examples/`, runs a budget check and the
rule pack as of the moment the examples end, prints the Slack messages that would go out,
and answers sample questions. Every step is idempotent: a second run imports nothing new and
posts nothing twice. With SLACK_BOT_TOKEN and SLACK_APP_TOKEN set it starts the bot in
Socket Mode instead.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import typer
from sqlmodel import Session

from bot import db
from bot.cli.options import parse_timestamp
from bot.clock import FixedClock
from bot.settings import Settings, get_settings, load_settings

logger = logging.getLogger(__name__)

EXAMPLES_DIR = db.PROJECT_ROOT / "examples"

# The examples end at this moment (bot.demo.cases.DEFAULT_END); the demo looks at them from there.
EXAMPLES_END = datetime(2026, 11, 20, tzinfo=timezone.utc)

DEMO_CHANNEL = "#ai-costs"

SAMPLE_QUESTIONS = (
    "spend by team last week",
    "why did spend go up last week",
    "cost per success by workflow last 30 days",
    "how much would batch save us last 30 days",
    "idle gpu cost by host last week",
)

# The example exports, by source. Order does not change totals: the query layer decides at
# read time which of two overlapping sources counts (e.g. a FOCUS bill over GPU sample rates).
EXAMPLE_FILES = (
    "openai/usage_completions.json",
    "openai/costs.json",
    "anthropic/usage_report_messages.json",
    "anthropic/cost_report.json",
    "litellm/spend_logs.csv",
    "focus/aws_focus_1.2.csv",
    "gpu/*.csv",
    "outcomes.csv",
    "tools.csv",
)


def _demo_settings(examples: Path) -> Settings:
    """Use the examples' mapping and budgets files and the bundled rules unless the environment names others."""
    overrides: dict[str, object] = {}
    if "COSTBOT_RULES_DIR" not in os.environ:
        overrides["rules_dir"] = db.PROJECT_ROOT / "rules"
    if "COSTBOT_MAPPING_FILE" not in os.environ:
        overrides["mapping_file"] = examples / "mapping.yml"
    if "COSTBOT_BUDGETS_FILE" not in os.environ:
        overrides["budgets_file"] = examples / "budgets.yml"
    if "COSTBOT_DEFAULT_CHANNEL" not in os.environ:
        # Findings with no owner in the examples' mapping (unallocated spend) go here.
        overrides["default_channel"] = DEMO_CHANNEL
    return load_settings(**overrides)


def _heading(text: str) -> None:
    typer.echo("")
    typer.secho(f"== {text}", bold=True)


def _import_examples(settings: Settings, examples: Path) -> None:
    from bot.ingest.base import ImportFailed
    from bot.ingest.loader import import_file
    from bot.mapping import load_mapping
    from bot.pricing import load_pricer

    mapping = load_mapping(settings.mapping_file)
    pricer = load_pricer(settings.price_overrides_file)
    engine = db.get_engine(settings.database_url)
    for pattern in EXAMPLE_FILES:
        paths = sorted(examples.glob(pattern))
        if not paths:
            raise typer.BadParameter(f"{examples / pattern}: not found; is {examples} a costbot examples folder?")
        for path in paths:
            try:
                summary = import_file(path, engine=engine, mapping=mapping, pricer=pricer)
            except ImportFailed as exc:
                typer.echo(str(exc), err=True)
                raise typer.Exit(1) from None
            typer.echo(summary.line())


def _check_budgets(settings: Settings, session: Session, at: datetime) -> None:
    from bot.budgets.alerts import run_check
    from bot.budgets.config import load_budgets

    budgets = load_budgets(settings.budgets_file)
    report = run_check(session, budgets, now=at, tz=settings.tz, guidance_base_url=settings.guidance_base_url)
    queued = len(report.sent)
    line = f"{len(report.statuses)} budgets checked, {queued} new {'alert' if queued == 1 else 'alerts'} queued"
    if queued:
        # An alert is one message to its owner plus one to its budget's channel, if it has one.
        owner_dms = queued
        channel_posts = sum(1 for plan in report.sent if plan.status.budget.channel)
        messages = owner_dms + channel_posts
        parts = [f"{owner_dms} owner {'DM' if owner_dms == 1 else 'DMs'}"]
        if channel_posts:
            parts.append(f"{channel_posts} channel {'post' if channel_posts == 1 else 'posts'}")
        line += f" as {messages} {'message' if messages == 1 else 'messages'}: {', '.join(parts)}"
    if report.sent_earlier:
        line += f" ({report.sent_earlier} already sent this period)"
    typer.echo(line)


def _run_rules(settings: Settings, session: Session, at: datetime) -> None:
    from bot.rules.runner import run_rules

    report = run_rules(session, settings=settings, clock=FixedClock(at), at=at)
    typer.echo(report.summary())
    for error in report.errors:
        typer.echo(f"  {error}", err=True)


def _deliver(settings: Settings, session: Session, at: datetime) -> None:
    from bot.slack.delivery import ConsoleSender, deliver_pending

    report = deliver_pending(session, ConsoleSender(), FixedClock(at), limit=1000)
    if report.delivered == 0:
        typer.echo("nothing new to post: every alert and finding was posted by an earlier run")


def _answer_samples(settings: Settings, session: Session, at: datetime) -> None:
    from bot.questions import answer_question

    for question in SAMPLE_QUESTIONS:
        typer.secho(f"\n> {question}", fg=typer.colors.CYAN)
        answer = answer_question(session, question, settings=settings, clock=FixedClock(at), chart=False)
        typer.echo(answer.text)


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        examples: Path = typer.Option(EXAMPLES_DIR, "--examples", metavar="DIR", help="Folder of example exports to import."),
        at: str = typer.Option(
            EXAMPLES_END.isoformat(), "--at", metavar="TIME", help="Run the checks as of this ISO 8601 timestamp with a zone (default: where the examples end)."
        ),
    ) -> None:
        """Run the main job on the example exports.

        Migrates the database (DATABASE_URL, an SQLite file by default), imports the examples,
        checks budgets, runs the rule pack, prints the Slack messages it would post, and
        answers five sample questions. Safe to run again. With SLACK_BOT_TOKEN and
        SLACK_APP_TOKEN set, it starts the bot in Socket Mode instead.

        \b
        Examples:
          costbot demo
          DATABASE_URL=sqlite:///demo2.db costbot demo --at 2026-11-13T00:00Z
        """
        settings = get_settings()
        if settings.slack_bot_token and settings.slack_app_token:
            from bot.cli.serve import run_socket_mode

            run_socket_mode(settings)
            return

        moment = parse_timestamp(at, "--at")

        started = time.monotonic()
        settings = _demo_settings(examples)
        _heading(f"Migrating {db.display_url(settings.database_url)}")
        db.upgrade(settings.database_url)

        _heading(f"Importing {examples}")
        _import_examples(settings, examples)

        engine = db.get_engine(settings.database_url)
        with Session(engine, expire_on_commit=False) as session:
            _heading(f"Checking budgets as of {moment.isoformat()}")
            _check_budgets(settings, session, moment)
            _heading("Running the rule pack")
            _run_rules(settings, session, moment)
            _heading("Messages costbot would post to Slack")
            _deliver(settings, session, moment)
            _heading("Sample questions")
            _answer_samples(settings, session, moment)

        typer.echo(f"\ndone in {time.monotonic() - started:.1f} s; database: {db.display_url(settings.database_url)}")
