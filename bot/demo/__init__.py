"""A seeded generator of realistic exports in the real formats the importers read.

`generate` writes 90 days of an organisation's AI spend (OpenAI, Anthropic, LiteLLM, FOCUS,
nvidia-smi, outcomes, tools) plus a mapping and a budgets file, with the cases listed in
`bot.demo.cases` planted in them. The same seed, days and end give byte-identical files.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from pathlib import Path

from bot.demo.anthropic_export import write_anthropic
from bot.demo.config_files import write_config_files
from bot.demo.focus_export import write_focus
from bot.demo.generic_csv import write_outcomes, write_tools
from bot.demo.gpu_logs import write_gpu_logs
from bot.demo.ledger import Ledger
from bot.demo.litellm_export import write_litellm
from bot.demo.openai_export import write_openai
from bot.demo.workload import Workload, build_workload

logger = logging.getLogger(__name__)


def generate(out_dir: Path, *, seed: int, days: int, end: datetime) -> tuple[list[Path], Workload, Ledger]:
    """Write every demo file under `out_dir`; return the paths, the workload and its ledger."""
    is_utc = end.tzinfo is not None and end.utcoffset() == timedelta(0)
    if not is_utc or end.time() != time(0):
        raise ValueError(f"end: {end.isoformat()}: must be a UTC midnight, for example 2026-11-20T00:00:00Z")
    out_dir.mkdir(parents=True, exist_ok=True)
    workload = build_workload(seed, days, end)
    ledger = Ledger()
    paths: list[Path] = []
    paths += write_openai(workload, out_dir, ledger)
    paths += write_anthropic(workload, out_dir, ledger)
    paths += write_litellm(workload, out_dir, ledger)
    paths += write_focus(workload, out_dir, ledger)
    paths += write_gpu_logs(workload, out_dir)
    paths += write_outcomes(workload, out_dir, ledger)
    paths += write_tools(workload, out_dir, ledger)
    paths += write_config_files(workload, out_dir, ledger)
    logger.info("demo data written: dir=%s seed=%d days=%d end=%s files=%d", out_dir, seed, days,
                end.date().isoformat(), len(paths))
    return paths, workload, ledger
