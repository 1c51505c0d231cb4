"""The `costbot` command line. Each concept has its own module that adds its commands here."""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from bot.settings import SettingsError, get_settings

app = typer.Typer(
    name="costbot",
    help="Keep AI spend explainable and owned: import usage, ask cost questions, check budgets, run rules.",
    no_args_is_help=True,
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
    app()
