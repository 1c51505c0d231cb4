"""The migrations and the SQLModel tables describe the same schema, on both databases."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel, func, select

from bot import db
from bot.models import LlmUsage


def test_migrations_match_models(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_money_sums_exactly(session) -> None:
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    # 0.1 + 0.2 is the classic float error; 0.0000001 is the OpenAI Costs API's smallest step.
    for index, amount in enumerate(["0.1", "0.2", "0.0000001"]):
        session.add(
            LlmUsage(
                source="test", natural_key=str(index), start_time=start, provider="openai", cost_usd=Decimal(amount)
            )
        )
    session.commit()
    total = session.exec(select(func.sum(LlmUsage.cost_usd))).one()
    assert total == Decimal("0.3000001")
    assert isinstance(total, Decimal)


def test_times_come_back_aware_utc(session) -> None:
    berlin_noon = datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    session.add(LlmUsage(source="test", natural_key="t", start_time=berlin_noon, provider="openai"))
    session.commit()
    stored = session.exec(select(LlmUsage.start_time)).one()
    assert stored == datetime(2026, 7, 1, 10, 0, tzinfo=timezone.utc)
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)


def test_naive_time_rejected(session) -> None:
    session.add(LlmUsage(source="test", natural_key="n", start_time=datetime(2026, 7, 1), provider="openai"))
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        session.commit()


def _roundtrip(url: str) -> tuple[set[str], set[str]]:
    db.upgrade(url)
    tables_at_head = set(sa.inspect(db.get_engine(url)).get_table_names())
    db.downgrade(url, "base")
    tables_at_base = set(sa.inspect(db.get_engine(url)).get_table_names())
    return tables_at_head, tables_at_base


def test_sqlite_upgrade_downgrade_roundtrip(tmp_path) -> None:
    tables_at_head, tables_at_base = _roundtrip(f"sqlite:///{tmp_path / 'roundtrip.db'}")
    assert tables_at_head == set(SQLModel.metadata.tables) | {"alembic_version"}
    assert tables_at_base == {"alembic_version"}


def test_postgresql_upgrade_downgrade_roundtrip(postgresql_admin_url: str) -> None:
    # A second, empty database on the same server, so the shared test database stays at head.
    admin = sa.create_engine(postgresql_admin_url, isolation_level="AUTOCOMMIT")
    name = f"costbot_roundtrip_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = postgresql_admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        tables_at_head, tables_at_base = _roundtrip(url)
    finally:
        db.get_engine(url).dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    assert tables_at_head == set(SQLModel.metadata.tables) | {"alembic_version"}
    assert tables_at_base == {"alembic_version"}
