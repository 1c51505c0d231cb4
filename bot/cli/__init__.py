"""The `costbot` command line. Each concept has its own module that adds its commands here."""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from bot.cli.apps import new_app
from bot.settings import SettingsError, get_settings

app = new_app(
    "Keep AI spend explainable and owned: import usage, ask cost questions, check budgets, run rules.\n\n"
    "Each command has --help with examples.\n\n"
    "\b\n"
    "Examples:\n"
    "  costbot demo\n"
    "  costbot import examples/openai/usage_completions.json\n"
    '  costbot ask "spend by team last week"\n'
    "  costbot -v budgets check --dry-run",
    name="costbot",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Modules under bot.cli that define `register(app)`. Each adds the commands of one concept.
COMMAND_MODULES = [
    "bot.cli.db",
    "bot.cli.ask",
    "bot.cli.budgets",
    "bot.cli.worker",
    "bot.cli.ingest",
    "bot.cli.demo_data",
    "bot.cli.rules",
    "bot.cli.serve",
    "bot.cli.demo",
]


@app.callback()
def _configure(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log each stage at INFO level to stderr."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        get_settings()
    except SettingsError as exc:
        typer.echo(f"costbot: {exc}", err=True)
        raise typer.Exit(2) from None


for _module_name in COMMAND_MODULES:
    importlib.import_module(_module_name).register(app)


def main() -> None:
    """Entry point of the `costbot` console script."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        app()
    except (OperationalError, ProgrammingError) as exc:
        from bot.db import is_missing_table

        # Most often a database that was never migrated; the full error goes to the log.
        logging.getLogger(__name__).debug("database error", exc_info=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        if is_missing_table(exc):
            hint = f"If tables are missing, run `costbot db upgrade` first (DATABASE_URL={_safe_url()})."
        elif get_settings().database_url.startswith("sqlite"):
            hint = (f"Check that the folder of the SQLite file in DATABASE_URL ({_safe_url()}) exists and is "
                    "writable; sqlite:///NAME is relative to the working folder, sqlite:////PATH is absolute.")
        else:
            hint = (f"Check that DATABASE_URL ({_safe_url()}) names a running server and an existing database. "
                    "Create the database if needed, then run `costbot db upgrade`.")
        typer.echo(f"costbot: database error: {reason}\n{hint}", err=True)
        sys.exit(1)


def _safe_url() -> str:
    from bot.db import display_url

    return display_url(get_settings().database_url)
