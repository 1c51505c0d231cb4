"""The worker: fire times, leases, missed runs, failing jobs, racing workers and Slack outages."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlmodel import Session, select

from bot.clock import FixedClock
from bot.models import BudgetAlert, JobLease, LlmUsage, OutboxMessage
from bot.scheduler.leases import claim_run, release_run
from bot.scheduler.worker import JOB_DEFAULTS, Worker, latest_fire_time
from bot.settings import load_settings
from tests.fakeslack import BOT_TOKEN, FakeSlack

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")

BUDGETS = """\
budgets:
  - name: search
    scope: {team: [search]}
    period: monthly
    amount_usd: "3000"
    forecast_alerts: false
    owner: U0SEARCH1
"""


@pytest.fixture
def settings(tmp_path, db_url):
    path = tmp_path / "budgets.yml"
    path.write_text(BUDGETS)
    return load_settings(database_url=db_url, budgets_file=path, timezone="Europe/Berlin", slack_bot_token=None)


def _spend(session, when: datetime, amount: str) -> None:
    session.add(LlmUsage(
        source="test", natural_key=f"{when.isoformat()}:{amount}", start_time=when, bucket_seconds=3600,
        provider="openai", model="gpt-5", team="search", feature="semantic-search",
        cost_usd=Decimal(amount), cost_origin="reported",
    ))
    session.commit()


@pytest.mark.parametrize(
    ("cron", "now", "expected"),
    [
        ("0 * * * *", datetime(2026, 11, 25, 10, 30, tzinfo=UTC), datetime(2026, 11, 25, 10, 0, tzinfo=UTC)),
        ("* * * * *", datetime(2026, 11, 25, 10, 30, 15, tzinfo=UTC), datetime(2026, 11, 25, 10, 30, tzinfo=UTC)),
        # Monday 09:00 in Berlin is 08:00 UTC in November; Wednesday the 25th looks back to the 23rd.
        ("0 9 * * mon", datetime(2026, 11, 25, 10, 30, tzinfo=UTC), datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
        # On the DST change day 06:00 local is 05:00 UTC (CET), the day before 04:00 UTC (CEST).
        ("0 6 * * *", datetime(2026, 10, 25, 4, 30, tzinfo=UTC), datetime(2026, 10, 24, 4, 0, tzinfo=UTC)),
        ("0 6 * * *", datetime(2026, 10, 25, 5, 0, tzinfo=UTC), datetime(2026, 10, 25, 5, 0, tzinfo=UTC)),
    ],
)
def test_latest_fire_time(cron, now, expected):
    assert latest_fire_time(CronTrigger.from_crontab(cron, timezone=BERLIN), now) == expected


def test_claim_run_once_per_fire_time(session):
    nine = datetime(2026, 11, 25, 9, tzinfo=UTC)
    ttl = timedelta(minutes=30)

    assert claim_run(session, "budget_check", scheduled_at=nine, holder="a", now=nine, ttl=ttl) is True
    # Worker b, same fire time, while a holds the lease and after a released it.
    assert claim_run(session, "budget_check", scheduled_at=nine, holder="b", now=nine, ttl=ttl) is False
    release_run(session, "budget_check", holder="a", now=nine + timedelta(minutes=1))
    assert claim_run(session, "budget_check", scheduled_at=nine, holder="b", now=nine + timedelta(minutes=2), ttl=ttl) is False
    # The next fire time is claimable once.
    ten = nine + timedelta(hours=1)
    assert claim_run(session, "budget_check", scheduled_at=ten, holder="b", now=ten, ttl=ttl) is True
    assert claim_run(session, "budget_check", scheduled_at=ten, holder="a", now=ten, ttl=ttl) is False


def test_overrunning_run_blocks_next_until_lease_expires(session):
    nine = datetime(2026, 11, 25, 9, tzinfo=UTC)
    ttl = timedelta(minutes=30)
    assert claim_run(session, "budget_check", scheduled_at=nine, holder="a", now=nine, ttl=ttl) is True

    # Worker a still holds the lease at 09:20, so worker b cannot start the 09:20 run.
    at_920 = nine + timedelta(minutes=20)
    assert claim_run(session, "budget_check", scheduled_at=at_920, holder="b", now=at_920, ttl=ttl) is False
    # a crashed without releasing; once its lease expired, b takes the next run.
    at_940 = nine + timedelta(minutes=40)
    assert claim_run(session, "budget_check", scheduled_at=at_940, holder="b", now=at_940, ttl=ttl) is True
    lease = session.get(JobLease, "budget_check")
    session.refresh(lease)
    assert lease.holder == "b"
    assert lease.last_scheduled_at == at_940


def test_missed_run_runs_once_on_start(engine, session, settings):
    clock = FixedClock(datetime(2026, 11, 25, 10, 30, tzinfo=UTC))
    # The budget check last ran at 06:00 UTC; the worker was down for the 07:00 to 10:00 runs.
    session.add(JobLease(job_id="budget_check", last_scheduled_at=datetime(2026, 11, 25, 6, tzinfo=UTC)))
    session.add(JobLease(job_id="outbox_delivery", last_scheduled_at=datetime(2026, 11, 25, 10, 30, tzinfo=UTC)))
    session.commit()
    worker = Worker(settings, engine=engine, clock=clock, holder="w1")

    assert worker.missed_jobs() == ["budget_check"]
    scheduler = worker.build_scheduler(BackgroundScheduler)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert jobs["budget_check"].next_run_time == clock.now()
    for job in jobs.values():
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)
    assert JOB_DEFAULTS == {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}

    first = worker.run("budget_check")
    again = worker.run("budget_check")

    assert (first.outcome, first.scheduled_at) == ("ran", datetime(2026, 11, 25, 10, tzinfo=UTC))
    assert again.outcome == "skipped"


def test_scheduler_coalesces_missed_runs(engine, session, settings):
    # The worker's clock is weeks behind the wall clock that APScheduler uses, so the
    # catch-up run is due with many hourly fire times missed. Coalescing runs it once.
    clock = FixedClock(datetime(2026, 11, 25, 10, 30, tzinfo=UTC))
    session.add(JobLease(job_id="budget_check", last_scheduled_at=datetime(2026, 11, 25, 6, tzinfo=UTC)))
    session.commit()
    worker = Worker(settings, engine=engine, clock=clock, holder="w1")
    scheduler = worker.build_scheduler(BackgroundScheduler)
    executed: list[str] = []
    done = threading.Event()

    def on_executed(event):
        executed.append(event.job_id)
        if event.job_id == "budget_check":
            done.set()

    scheduler.add_listener(on_executed, EVENT_JOB_EXECUTED)
    scheduler.start()
    try:
        assert done.wait(timeout=20), "the missed budget check did not run"
        job = scheduler.get_job("budget_check")
        assert job.next_run_time > datetime.now(UTC)
    finally:
        scheduler.shutdown(wait=True)
    assert executed.count("budget_check") == 1


def test_failing_job_logged_and_worker_continues(engine, session, settings, caplog):
    clock = FixedClock(datetime(2026, 11, 25, 10, 30, tzinfo=UTC))
    settings.budgets_file.write_text("budgets:\n  - name: broken\n")
    worker = Worker(settings, engine=engine, clock=clock, holder="w1")

    with caplog.at_level(logging.INFO, logger="bot.scheduler.worker"):
        failed = worker.run("budget_check")
        delivered = worker.run("outbox_delivery")

    assert failed.outcome == "failed"
    assert failed.error.startswith("BudgetFileError: ")
    assert "budget broken: missing required key 'period'" in failed.error
    failure_logs = [record for record in caplog.records if record.levelno == logging.ERROR and record.name == "bot.scheduler.worker"]
    assert [record.getMessage() for record in failure_logs] == [
        "job failed job=budget_check scheduled_at=2026-11-25T10:00:00+00:00 holder=w1"
    ]
    assert delivered.outcome == "ran"
    assert session.get(JobLease, "budget_check").holder is None  # released despite the failure
    ends = [record.getMessage() for record in caplog.records if record.getMessage().startswith("job end")]
    assert ends[0].startswith("job end job=budget_check scheduled_at=2026-11-25T10:00:00+00:00 outcome=failed duration_s=")
    assert ends[1].startswith("job end job=outbox_delivery")


def test_last_good_budgets_kept_by_worker(engine, session, settings):
    clock = FixedClock(datetime(2026, 11, 2, 12, tzinfo=UTC))
    worker = Worker(settings, engine=engine, clock=clock, holder="w1")
    assert worker.run("budget_check").counts["budgets"] == 1

    settings.budgets_file.write_text(BUDGETS.replace("monthly", "yearly"))
    _spend(session, datetime(2026, 11, 2, 13, tzinfo=UTC), "1600")
    clock.set(datetime(2026, 11, 2, 14, tzinfo=UTC))
    result = worker.run("budget_check")

    assert result.outcome == "ran"
    assert result.counts == {"budgets": 1, "alerts_sent": 1, "already_sent": 0, "snoozed": 0, "file_rejected": True}


def test_two_workers_racing_one_alert(engine, session, settings):
    _spend(session, datetime(2026, 11, 2, tzinfo=UTC), "2500")
    clock = FixedClock(datetime(2026, 11, 2, 12, 0, 5, tzinfo=UTC))
    workers = [Worker(settings, engine=engine, clock=clock, holder=f"w{index}") for index in (1, 2)]
    barrier = threading.Barrier(2)
    results = []

    def run(worker):
        barrier.wait(timeout=10)
        results.append(worker.run("budget_check"))

    threads = [threading.Thread(target=run, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(result.outcome for result in results) == ["ran", "skipped"]
    session.expire_all()
    alerts = session.exec(select(BudgetAlert).order_by(BudgetAlert.threshold_pct)).all()
    assert [(alert.threshold_pct, alert.covered_by_pct) for alert in alerts] == [(50, 80), (80, None)]
    assert len(session.exec(select(OutboxMessage)).all()) == 1


def test_slack_down_alert_delivered_once(engine, session, settings):
    _spend(session, datetime(2026, 11, 2, tzinfo=UTC), "1600")
    clock = FixedClock(datetime(2026, 11, 2, 12, 0, 5, tzinfo=UTC))
    with FakeSlack(now=lambda: clock.now().timestamp()) as fake:
        slack_settings = load_settings(database_url=settings.database_url, budgets_file=settings.budgets_file,
                                       timezone="Europe/Berlin", slack_bot_token=BOT_TOKEN, slack_api_url=fake.api_url)
        worker = Worker(slack_settings, engine=engine, clock=clock, holder="w1")
        fake.set_down(True)

        checked = worker.run("budget_check")
        failed = worker.run("outbox_delivery")
        session.expire_all()
        row = session.exec(select(OutboxMessage)).one()
        assert checked.counts["alerts_sent"] == 1
        assert failed.counts["retrying"] == 1
        assert (row.status, row.attempts) == ("pending", 1)
        # The wording belongs to the Slack delivery module; the method and status are what matter here.
        assert row.last_error.startswith("chat_postMessage: ")
        assert row.last_error.endswith("HTTP 503")

        fake.set_down(False)
        clock.advance(timedelta(minutes=1))
        delivered = worker.run("outbox_delivery")
        clock.advance(timedelta(minutes=1))
        again = worker.run("outbox_delivery")
        rechecked = worker.run("budget_check")  # the 12:00 check already ran; the 13:00 one is not due

        assert delivered.counts["sent"] == 1
        assert again.counts.get("sent", 0) == 0
        assert rechecked.outcome == "skipped"
        messages = fake.messages("D0SEARCH1")
        assert len(messages) == 1
        assert messages[0]["text"].startswith("Budget search crossed 50%: $1,600.00 of $3,000.00 (53%) used")
        session.expire_all()
        assert session.exec(select(OutboxMessage)).one().status == "sent"
