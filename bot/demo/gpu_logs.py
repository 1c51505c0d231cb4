"""nvidia-smi CSV logs, one file per host, as written by

    nvidia-smi --query-gpu=timestamp,name,index,uuid,utilization.gpu,memory.used,memory.total,power.draw \
        --format=csv -l 600

Units sit in the header and again in each value. Timestamps are the host's local clock (UTC
on these hosts) with no zone. A few power readings print `[N/A]`, as real drivers sometimes do.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

from bot.demo import cases
from bot.demo.catalog import A100_MEMORY_MIB, A100_NAME, H100_MEMORY_MIB, H100_NAME, HOSTS, Host
from bot.demo.workload import Workload, rng_for

HEADER = (
    "timestamp, name, index, uuid, utilization.gpu [%], memory.used [MiB], memory.total [MiB], power.draw [W]"
)
IDLE_UTILIZATION_PCT = 1.0  # an idle GPU still shows a percent or two now and then
JOB_UTILIZATION_PCT = 85.0
POWER_MISSING_PROBABILITY = 0.002


def _idle_host_load(rng: random.Random, samples: int, target_pct: float) -> list[bool]:
    """Place fine-tuning jobs of 1 to 4 hours so they fill the share of samples that gives
    `target_pct` mean utilization. Return, per sample, whether a job runs."""
    busy = round(samples * (target_pct - IDLE_UTILIZATION_PCT) / (JOB_UTILIZATION_PCT - IDLE_UTILIZATION_PCT))
    jobs: list[int] = []
    while sum(jobs) < busy:
        jobs.append(min(rng.randint(6, 24), busy - sum(jobs)))
    weights = [rng.random() for _ in range(len(jobs) + 1)]
    idle = samples - busy
    gaps = [math.floor(idle * weight / sum(weights)) for weight in weights]
    gaps[-1] += idle - sum(gaps)
    load: list[bool] = []
    for gap, job in zip(gaps, [*jobs, 0], strict=True):
        load.extend([False] * gap)
        load.extend([True] * job)
    return load


def _sample(host: Host, rng: random.Random, moment: datetime, busy: bool) -> tuple[int, int, float]:
    """Return utilization %, memory used MiB and power W of one reading."""
    if host.name in cases.IDLE_H100_HOSTS:
        if busy:
            utilization = rng.gauss(JOB_UTILIZATION_PCT, 6)
            return _clip(utilization), round(rng.gauss(61_000, 800)), 150 + utilization * 5.2
        return _clip(rng.choice((0, 0, 0, 1, 2, 2))), round(rng.gauss(host.memory_used_mib, 40)), rng.gauss(71, 2.5)
    swing = 18 if host.gpu_model == "H100" else 10
    daily = math.sin(2 * math.pi * (moment.hour + moment.minute / 60 - 9) / 24)
    utilization = rng.gauss(host.utilization_pct + swing * daily, 5)
    memory = round(rng.gauss(host.memory_used_mib, 300))
    watts_per_pct = 5.5 if host.gpu_model == "H100" else 3.1
    return _clip(utilization), memory, 90 + _clip(utilization) * watts_per_pct


def _clip(value: float) -> int:
    return max(0, min(100, round(value)))


def write_gpu_logs(workload: Workload, out_dir: Path) -> list[Path]:
    """Write `gpu/<host>.csv` for every host, one reading every 10 minutes over the last GPU_LOG_DAYS."""
    folder = out_dir / "gpu"
    folder.mkdir(parents=True, exist_ok=True)
    samples = cases.GPU_LOG_DAYS * 86400 // cases.GPU_LOG_INTERVAL_SECONDS
    first = workload.end - timedelta(days=cases.GPU_LOG_DAYS)
    paths = []
    for host in HOSTS:
        rng = rng_for(workload.seed, f"gpu:{host.name}")
        uuid = f"GPU-{UUID(int=rng.getrandbits(128), version=4)}"
        name, total = (H100_NAME, H100_MEMORY_MIB) if host.gpu_model == "H100" else (A100_NAME, A100_MEMORY_MIB)
        load = _idle_host_load(rng, samples, host.utilization_pct) if host.name in cases.IDLE_H100_HOSTS else []
        path = folder / f"{host.name}.csv"
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(HEADER + "\n")
            for index in range(samples):
                # nvidia-smi -l wakes a few milliseconds late each time.
                moment = first + timedelta(seconds=index * cases.GPU_LOG_INTERVAL_SECONDS,
                                           milliseconds=rng.randint(1, 480))
                utilization, memory, power = _sample(host, rng, moment, bool(load) and load[index])
                watts = "[N/A]" if rng.random() < POWER_MISSING_PROBABILITY else f"{power:.2f} W"
                stamp = moment.strftime("%Y/%m/%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
                handle.write(f"{stamp}, {name}, 0, {uuid}, {utilization} %, {memory} MiB, {total} MiB, {watts}\n")
        paths.append(path)
    return paths
