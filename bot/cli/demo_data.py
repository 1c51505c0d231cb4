"""`costbot demo-data`: write the seeded example exports, or a large usage file for benchmarks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from bot.demo import cases, generate
from bot.demo.bench_rows import write_llm_rows

BENCH_FILE = "openai_usage_completions_bench.jsonl"


def _parse_end(value: str) -> datetime:
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise typer.BadParameter(f"{value!r}: invalid date; use YYYY-MM-DD, for example 2026-11-20") from None
    return day.replace(tzinfo=UTC)


def register(app: typer.Typer) -> None:
    @app.command("demo-data")
    def demo_data(
        out_dir: Path = typer.Argument(..., metavar="DIR", help="Folder to write the files into; created if missing."),
        seed: int = typer.Option(cases.DEFAULT_SEED, "--seed", metavar="N", help="Random seed; the same seed gives identical files."),
        days: int = typer.Option(cases.DEFAULT_DAYS, "--days", min=30, max=3660, metavar="N",
                                 help="Days of data, ending at --end."),
        end: str = typer.Option(cases.DEFAULT_END.date().isoformat(), "--end", metavar="DATE",
                                help="Exclusive end of the data as a UTC date (YYYY-MM-DD)."),
        llm_rows: int | None = typer.Option(None, "--llm-rows", min=0, metavar="N",
                                            help=f"Write only {BENCH_FILE}: this many OpenAI completions "
                                                 "usage rows in hourly buckets, for benchmarks."),
    ) -> None:
        """Write example exports with planted cost problems.

        The exports are --days (90 by default) of OpenAI usage and costs, Anthropic usage and
        cost reports, LiteLLM spend logs, a FOCUS CSV with rented GPUs, nvidia-smi logs,
        outcomes and tools, plus the mapping.yml and budgets.yml that go with them.

        \b
        Examples:
          costbot demo-data examples/ --seed 2026
          costbot demo-data /tmp/bench --llm-rows 1000000
        """
        end_time = _parse_end(end)
        if llm_rows is not None:
            path = out_dir / BENCH_FILE
            written = write_llm_rows(path, rows=llm_rows, seed=seed, days=days, end=end_time)
            typer.echo(f"wrote {written} usage rows to {path}")
            return
        paths, _workload, _ledger = generate(out_dir, seed=seed, days=days, end=end_time)
        for path in paths:
            typer.echo(str(path))
        typer.echo(f"wrote {len(paths)} files to {out_dir} (seed {seed}, {days} days ending {end})")
