"""`costbot worker`: the scheduler process of the Procfile's `worker` entry."""

from __future__ import annotations

import logging

import typer

from bot import db
from bot.settings import get_settings

logger = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    @app.command("worker")
    def worker() -> None:
        """Run the scheduled jobs until stopped with Ctrl-C.

        The jobs are budget checks, rule evaluation, the weekly digest and outbox retries, each
        on its cron setting (COSTBOT_BUDGET_CHECK_CRON, COSTBOT_RULES_CRON,
        COSTBOT_DIGEST_CRON, COSTBOT_OUTBOX_CRON). Run one worker per SQLite database. With
        PostgreSQL, several workers share the runs.

        \b
        Examples:
          costbot worker
          costbot -v worker
        """
        from apscheduler.schedulers.blocking import BlockingScheduler

        from bot.scheduler.worker import Worker

        settings = get_settings()
        engine = db.get_engine(settings.database_url)
        if engine.dialect.name == "sqlite":
            logger.warning("SQLite database: run only one worker process against it")
        scheduler = Worker(settings, engine=engine).build_scheduler(BlockingScheduler)
        typer.echo(f"worker started; jobs: {', '.join(job.id for job in scheduler.get_jobs())}", err=True)
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            scheduler.shutdown(wait=True)
            typer.echo("worker stopped", err=True)
