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
        out_dir: Path = typer.Argument(..., help="Folder to write the files into; created if missing."),
        seed: int = typer.Option(cases.DEFAULT_SEED, "--seed", help="Random seed; the same seed gives identical files."),
        days: int = typer.Option(cases.DEFAULT_DAYS, "--days", min=30, max=3660,
                                 help="Days of data, ending at --end."),
        end: str = typer.Option(cases.DEFAULT_END.date().isoformat(), "--end",
                                help="Exclusive end of the data as a UTC date (YYYY-MM-DD)."),
        llm_rows: int | None = typer.Option(None, "--llm-rows", min=0,
                                            help=f"Write only {BENCH_FILE}: this many OpenAI completions "
                                                 "usage rows in hourly buckets, for benchmarks."),
    ) -> None:
        """Write example exports with planted cost problems, plus mapping.yml and budgets.yml.

        The exports are 90 days of OpenAI usage and costs, Anthropic usage and cost reports,
        LiteLLM spend logs, a FOCUS CSV with rented GPUs, nvidia-smi logs, outcomes and tools.

        Example: costbot demo-data examples/ --seed 2026
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
