"""Job leases: each scheduled run is claimed by one worker, even with several on one PostgreSQL.

A run is identified by its job id and scheduled fire time. `claim_run` updates the job's
lease row only when no other worker holds an unexpired lease and no worker has claimed
this fire time (or a later one) yet. The condition and the update are one UPDATE
statement, so the database serialises competing workers: on PostgreSQL the second
UPDATE waits for the first to commit and then matches no row.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.models import JobLease

logger = logging.getLogger(__name__)


def claim_run(session: Session, job_id: str, *, scheduled_at: datetime, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Claim the run of `job_id` scheduled at `scheduled_at`; return False when it is taken or done."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(JobLease).values(job_id=job_id).on_conflict_do_nothing(index_elements=["job_id"]))
    session.commit()

    lease_free = sa.or_(JobLease.holder.is_(None), JobLease.expires_at.is_(None), JobLease.expires_at <= now)
    run_unclaimed = sa.or_(JobLease.last_scheduled_at.is_(None), JobLease.last_scheduled_at < scheduled_at)
    result = session.execute(
        sa.update(JobLease)
        .where(JobLease.job_id == job_id, lease_free, run_unclaimed)
        .values(holder=holder, expires_at=now + ttl, last_started_at=now, last_scheduled_at=scheduled_at)
    )
    session.commit()
    claimed = result.rowcount == 1
    if not claimed:
        logger.info("job run not claimed job=%s scheduled_at=%s holder=%s", job_id, scheduled_at.isoformat(), holder)
    return claimed


def release_run(session: Session, job_id: str, *, holder: str, now: datetime) -> None:
    """Release the lease `holder` holds on `job_id` and record when the run finished."""
    session.execute(
        sa.update(JobLease)
        .where(JobLease.job_id == job_id, JobLease.holder == holder)
        .values(holder=None, expires_at=None, last_finished_at=now)
    )
    session.commit()


def last_scheduled(session: Session, job_id: str) -> tuple[bool, datetime | None]:
    """Return whether the job has a lease row, and the fire time of its last claimed run."""
    row = session.get(JobLease, job_id)
    if row is None:
        return False, None
    return True, row.last_scheduled_at
