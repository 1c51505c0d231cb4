"""The worker process: APScheduler 3.x runs the jobs on their cron schedules.

Each job is scheduled with `coalesce=True` and `misfire_grace_time=None`, so a run delayed
for any length of time still happens, once, however many fire times it missed. Each job
also has `max_instances=1`, so a run that overruns its interval is not started again.
The scheduler's job store lives in memory, so downtime is caught up from the job lease
rows: a job whose last claimed fire time is older than its latest due fire time runs once
on start. Every run claims its fire time in the database first (see `bot.scheduler.leases`),
so with several workers on one PostgreSQL each scheduled run happens once.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.budgets.config import BudgetRegistry
from bot.clock import Clock, SystemClock
from bot.scheduler import jobs
from bot.scheduler.leases import claim_run, last_scheduled, release_run

logger = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
# How far back `latest_fire_time` looks; a cron that fires less often than this never counts as missed.
MAX_LOOKBACK = timedelta(days=400)


@dataclass(frozen=True)
class JobSpec:
    """A scheduled job: its id, the settings field with its cron, what it runs and its lease length."""

    id: str
    cron_setting: str
    run: Callable[..., dict[str, Any]]
    lease: timedelta


JOB_SPECS = (
    JobSpec("budget_check", "budget_check_cron", jobs.budget_check, timedelta(minutes=30)),
    JobSpec("rule_evaluation", "rules_cron", jobs.rule_evaluation, timedelta(hours=1)),
    JobSpec("weekly_digest", "digest_cron", jobs.weekly_digest, timedelta(minutes=30)),
    JobSpec("outbox_delivery", "outbox_cron", jobs.outbox_delivery, timedelta(minutes=5)),
)


@dataclass
class RunResult:
    """The outcome of one run: ran, skipped (claimed elsewhere or not due) or failed."""

    job_id: str
    outcome: str
    scheduled_at: datetime | None
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def latest_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """Return the trigger's latest fire time at or before `now`, or None within MAX_LOOKBACK."""
    step = timedelta(minutes=2)
    candidate = None
    while step <= MAX_LOOKBACK * 2:
        first = trigger.get_next_fire_time(None, now - step)
        if first is not None and first <= now:
            candidate = first
            break
        step *= 2
    if candidate is None:
        return None
    while True:
        following = trigger.get_next_fire_time(candidate, candidate + timedelta(seconds=1))
        if following is None or following > now:
            return candidate
        candidate = following


class Worker:
    """Runs the jobs against one database; `build_scheduler` puts them on a schedule."""

    def __init__(self, settings, *, engine: Engine, clock: Clock | None = None, holder: str | None = None,
                 registry: BudgetRegistry | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock or SystemClock()
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.registry = registry or BudgetRegistry(settings.budgets_file)
        self.specs = {spec.id: spec for spec in JOB_SPECS}

    def trigger(self, job_id: str) -> CronTrigger:
        spec = self.specs[job_id]
        return CronTrigger.from_crontab(getattr(self.settings, spec.cron_setting), timezone=self.settings.tz)

    def run(self, job_id: str) -> RunResult:
        """Claim the job's latest due run and run it; log its start, end, duration and counts.

        An exception in the job is logged with the job id, fire time and holder and returned
        as a failed result, so the scheduler keeps running the other jobs.
        """
        spec = self.specs[job_id]
        now = self.clock.now()
        latest = latest_fire_time(self.trigger(job_id), now)
        if latest is None:
            logger.info("job not due job=%s now=%s", job_id, now.isoformat())
            return RunResult(job_id, "skipped", None)
        scheduled_at = latest.astimezone(timezone.utc)

        with Session(self.engine, expire_on_commit=False) as session:
            if not claim_run(session, job_id, scheduled_at=scheduled_at, holder=self.holder, now=now, ttl=spec.lease):
                return RunResult(job_id, "skipped", scheduled_at)

        logger.info("job start job=%s scheduled_at=%s holder=%s", job_id, scheduled_at.isoformat(), self.holder)
        started = time.monotonic()
        result = RunResult(job_id, "ran", scheduled_at)
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                result.counts = spec.run(session, settings=self.settings, clock=self.clock, registry=self.registry)
                session.commit()
        except Exception as exc:  # one failing job must not stop the scheduler
            result.outcome, result.error = "failed", f"{type(exc).__name__}: {exc}"
            logger.exception("job failed job=%s scheduled_at=%s holder=%s", job_id, scheduled_at.isoformat(), self.holder)
        finally:
            with Session(self.engine, expire_on_commit=False) as session:
                release_run(session, job_id, holder=self.holder, now=self.clock.now())
        duration = time.monotonic() - started
        logger.info(
            "job end job=%s scheduled_at=%s outcome=%s duration_s=%.3f counts=%s",
            job_id, scheduled_at.isoformat(), result.outcome, duration, result.counts,
        )
        return result

    def missed_jobs(self) -> list[str]:
        """Return the jobs whose latest due fire time was never claimed by any worker.

        A job that has never run anywhere (no lease row) is not counted as missed, so a
        fresh install waits for the first fire time instead of sending a digest at once.
        """
        now = self.clock.now()
        missed = []
        with Session(self.engine) as session:
            for job_id in self.specs:
                exists, last = last_scheduled(session, job_id)
                due = latest_fire_time(self.trigger(job_id), now)
                if exists and due is not None and (last is None or last < due):
                    missed.append(job_id)
        return missed

    def build_scheduler(self, scheduler_class: type[BaseScheduler]) -> BaseScheduler:
        """Create a scheduler of `scheduler_class` with every job; missed jobs fire at once."""
        scheduler = scheduler_class(
            executors={"default": ThreadPoolExecutor(max_workers=len(self.specs))},
            job_defaults=JOB_DEFAULTS,
            timezone=self.settings.tz,
        )
        missed = set(self.missed_jobs())
        now = self.clock.now()
        for job_id in self.specs:
            options: dict[str, Any] = dict(JOB_DEFAULTS)
            if job_id in missed:
                options["next_run_time"] = now
            scheduler.add_job(self.run, self.trigger(job_id), args=[job_id], id=job_id, name=job_id, **options)
        scheduler.add_listener(_log_scheduler_event, EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES)
        logger.info(
            "worker scheduled holder=%s jobs=%s missed=%s timezone=%s",
            self.holder,
            {job_id: getattr(self.settings, spec.cron_setting) for job_id, spec in self.specs.items()},
            sorted(missed),
            self.settings.timezone,
        )
        return scheduler


def _log_scheduler_event(event: JobExecutionEvent) -> None:
    if event.code == EVENT_JOB_MAX_INSTANCES:
        logger.warning("job still running, this run skipped job=%s scheduled_at=%s", event.job_id, event.scheduled_run_time)
    else:
        logger.error("job raised in the scheduler job=%s scheduled_at=%s error=%r", event.job_id, event.scheduled_run_time, event.exception)
