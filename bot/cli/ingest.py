"""`costbot import`, `costbot prices missing` and `costbot reconcile`."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

import typer
from sqlmodel import Session

from bot import db
from bot.cli.apps import new_app
from bot.cli.options import parse_day
from bot.ingest.overlap import DEFAULT_POLICY, POLICIES
from bot.settings import get_settings

# --overlap's choices (bot.ingest.overlap).
OverlapPolicy = Enum("OverlapPolicy", {policy: policy for policy in POLICIES}, type=str)

# The names --format takes, written out so that help does not import every parser; a test
# checks them against the registry in bot.ingest.detect.
FORMAT_NAMES = (
    "openai_usage, openai_costs, anthropic_usage, anthropic_costs, litellm_csv, litellm_json, "
    "focus, nvidia_smi, dcgm, outcomes_csv or tools_csv"
)

# Errors printed per file before the rest are cut off; the import stops reading there too.
MAX_ERRORS_SHOWN = 20


def _load_mapping(settings):
    from bot.mapping import MappingError, load_mapping

    try:
        return load_mapping(settings.mapping_file)
    except MappingError as exc:
        typer.echo(f"costbot: invalid mapping file:\n{exc}", err=True)
        raise typer.Exit(2) from None


def _missing_mapping_warning(path: Path) -> str:
    # Dimensions are mapped when rows are written; importing the same file again with a mapping
    # updates them.
    return (
        f"warning: mapping file {path} not found, so source ids (projects, API keys, teams, tags, hosts) "
        "are stored without team, feature, tenant or owner. Create the mapping file or set "
        "COSTBOT_MAPPING_FILE, then import the same files again to map their rows (see docs/formats.md)."
    )


def _load_pricer(settings):
    from bot.pricing import load_pricer
    from bot.pricing.overrides import OverridesError

    try:
        return load_pricer(settings.price_overrides_file)
    except OverridesError as exc:
        typer.echo(f"costbot: invalid price overrides file:\n{exc}", err=True)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    @app.command("import")
    def import_(
        files: list[Path] = typer.Argument(..., metavar="FILE", help="Export files to import.", show_default=False),
        format_name: str | None = typer.Option(
            None, "--format", metavar="NAME", help=f"Format name: {FORMAT_NAMES}. Detected from the content when omitted."
        ),
        skip_bad_rows: bool = typer.Option(
            False, "--skip-bad-rows", help="Import the good rows and write the bad ones to FILE.rejects.csv."
        ),
        host: str | None = typer.Option(
            None, "--host", metavar="NAME", help="GPU logs: host name of the samples (default: the file name up to its first dot)."
        ),
        host_tz: str | None = typer.Option(
            None, "--host-tz", metavar="ZONE", help="nvidia-smi logs: IANA time zone of the host's clock (default: the mapping, else UTC)."
        ),
        sample_time: str | None = typer.Option(
            None, "--time", metavar="TIME", help="GPU logs without timestamps: RFC 3339 time of the samples (default: file modification time)."
        ),
        interval_seconds: int | None = typer.Option(
            None, "--interval-seconds", min=1, metavar="SECONDS", help="GPU logs: seconds each sample covers (default: time to the next sample)."
        ),
        overlap: OverlapPolicy = typer.Option(
            DEFAULT_POLICY, "--overlap", metavar="POLICY",
            help="Stored usage of the same source at another bucket width or grouping in the file's time: "
                 "fail (import nothing), replace (the file wins), keep (the stored rows win) or add (count both).",
        ),
    ) -> None:
        """Import usage and cost exports into the database.

        A file with a bad row imports nothing unless --skip-bad-rows. Formats: OpenAI usage
        and costs, Anthropic usage and cost reports, LiteLLM spend logs, FOCUS, nvidia-smi,
        DCGM, and the outcomes and tools CSVs (docs/formats.md describes each).

        \b
        Examples:
          costbot import examples/openai/usage_completions.json examples/openai/costs.json
          costbot import spend_logs.csv --skip-bad-rows
          costbot import billing.csv --format focus
          costbot import gpu-07.nvidia-smi.csv --host-tz Europe/Berlin
          costbot import usage_hourly.jsonl --overlap replace
        """
        from bot.ingest.base import ImportFailed
        from bot.ingest.loader import import_file

        settings = get_settings()
        mapping = _load_mapping(settings)
        if not Path(settings.mapping_file).exists() and any(path.is_file() for path in files):
            # Only worth saying when a file can be read: a wrong path gets its own error below.
            typer.echo(_missing_mapping_warning(settings.mapping_file), err=True)
        pricer = _load_pricer(settings)
        engine = db.get_engine(settings.database_url)
        options = {"host": host, "host_tz": host_tz, "time": sample_time, "interval_seconds": interval_seconds}
        options = {name: value for name, value in options.items() if value is not None}
        failed = 0
        for path in files:
            try:
                with _progress(path) as on_progress:
                    summary = import_file(
                        path, engine=engine, format_name=format_name, skip_bad_rows=skip_bad_rows,
                        mapping=mapping, pricer=pricer, max_errors=MAX_ERRORS_SHOWN, on_progress=on_progress,
                        options=options, overlap=overlap.value,
                    )  # fmt: skip
            except ImportFailed as exc:
                failed += 1
                for error in exc.errors:
                    typer.echo(str(error), err=True)
                hint = "; fix the rows above or rerun with --skip-bad-rows" if exc.skippable else ""
                typer.echo(f"{path}: nothing imported{hint}", err=True)
                continue
            typer.echo(summary.line())
            for warning in summary.warnings:
                typer.echo(f"warning: {warning}", err=True)
        if failed:
            raise typer.Exit(1)

    prices_app = new_app("Inspect model prices.\n\n\b\nExample:\n  costbot prices missing")

    @prices_app.command("missing")
    def missing() -> None:
        """List models whose usage is stored without a price.

        Shows each model's row count, requests and tokens. Add the models to the price
        overrides file (COSTBOT_PRICE_OVERRIDES_FILE) and import again.

        \b
        Example:
          costbot prices missing
        """
        from bot.pricing.reports import missing_prices, unpriced_tool_rows

        with Session(db.get_engine(get_settings().database_url)) as session:
            rows = missing_prices(session)
            tools = unpriced_tool_rows(session)
        if not rows:
            typer.echo("every LLM usage row has a price")
        else:
            table = [("provider", "model", "rows", "requests", "input tokens", "output tokens")]
            table += [(row.provider, row.model or "(no model in export)", str(row.rows), str(row.requests),
                       str(row.input_tokens), str(row.output_tokens)) for row in rows]
            _print_table(table)
        if tools:
            typer.echo(f"{tools} tool usage rows have no price either (tools the export gives no model or rate for)")

    app.add_typer(prices_app, name="prices")

    @app.command("reconcile")
    def reconcile_(
        start: str | None = typer.Option(None, "--start", metavar="DATE", help="First UTC day, YYYY-MM-DD (default: all)."),
        end: str | None = typer.Option(None, "--end", metavar="DATE", help="Day after the last, YYYY-MM-DD (default: all)."),
        provider: list[str] | None = typer.Option(None, "--provider", metavar="NAME", help="Only this provider; repeatable."),
    ) -> None:
        """Compare reported and priced cost per provider and day.

        Shows the provider-reported cost, the cost priced from usage and the gap between them
        per provider and UTC day. A large gap points at a wrong or missing price, or at usage
        not imported.

        \b
        Examples:
          costbot reconcile
          costbot reconcile --start 2026-11-01 --end 2026-11-08 --provider openai
        """
        from bot.pricing.reports import reconcile

        start_day = parse_day(start, "--start") if start is not None else None
        end_day = parse_day(end, "--end") if end is not None else None
        if start_day is not None and end_day is not None and end_day <= start_day:
            raise typer.BadParameter(f"{end} is not after --start {start}; --end is the day after the last", param_hint="--end")
        with Session(db.get_engine(get_settings().database_url)) as session:
            rows = reconcile(session, start=start_day, end=end_day, providers=provider)
        if not rows:
            typer.echo("no reported costs in this period; import an OpenAI Costs API or Anthropic cost report export")
            return
        table = [("day", "provider", "reported USD", "priced USD", "gap USD", "gap %", "unpriced rows")]
        for row in rows:
            table.append((
                row.day.isoformat(), row.provider,
                _usd(row.reported_usd) if row.reported_usd is not None else "(none)",
                _usd(row.priced_usd),
                _usd(row.gap_usd) if row.gap_usd is not None else "-",
                _percent(row.gap_pct) if row.gap_pct is not None else "-",
                str(row.unpriced_rows),
            ))  # fmt: skip
        _print_table(table)


def _usd(amount) -> str:
    return _without_negative_zero(f"{amount:,.4f}")


def _percent(share) -> str:
    return _without_negative_zero(f"{share:.1f}")


def _without_negative_zero(text: str) -> str:
    """Drop the sign of a small negative value that rounds to zero: "-0.0" becomes "0.0"."""
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[index]) for row in rows) for index in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(width) if index < 2 else cell.rjust(width) for index, (cell, width) in enumerate(zip(row, widths))]
        typer.echo("  ".join(cells).rstrip())


class _progress:
    """A rich progress bar over the file's bytes on a terminal; nothing in a pipe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bar = None

    def __enter__(self):
        if not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TextColumn("{task.fields[rows]} rows"),
            TimeRemainingColumn(), console=Console(stderr=True), transient=True,
        )  # fmt: skip
        self.bar.start()
        task = self.bar.add_task(self.path.name, total=self.path.stat().st_size if self.path.is_file() else None, rows=0)

        def update(done: int, rows: int) -> None:
            self.bar.update(task, completed=done, rows=rows)

        return update

    def __exit__(self, *exc_info) -> None:
        if self.bar is not None:
            self.bar.stop()
