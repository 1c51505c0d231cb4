"""Shared fixtures: real SQLite and PostgreSQL databases, migrated to head once per run.

Every test that takes `engine` or `session` runs once per database. PostgreSQL is the
server at COSTBOT_TEST_PG_URL (127.0.0.1:5432, user postgres, by default); each run creates
a uniquely named database and drops it at the end. Without a reachable server the
PostgreSQL cases are skipped, except with CI=true, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel

import bot.models  # noqa: F401  (registers the tables)
from bot import db

PG_ADMIN_URL = os.environ.get("COSTBOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DATABASES = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("all", *DATABASES),
        default=os.environ.get("COSTBOT_TEST_DB", "all"),
        help="Which databases the database tests run on (default: all).",
    )


def _postgres_reachable() -> str | None:
    """Return None when the PostgreSQL server answers, else the reason it does not."""
    engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return None
    except sa.exc.OperationalError as exc:
        return str(exc.orig).strip().splitlines()[0]
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgresql_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Create a uniquely named PostgreSQL database, migrated to head; drop it afterwards."""
    reason = _postgres_reachable()
    if reason is not None:
        message = f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {reason}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true requires it)")
        pytest.skip(message)

    name = f"costbot_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        db.upgrade(url)
        yield url
    finally:
        db.dispose_engines()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgresql_admin_url(postgresql_url: str) -> str:
    """The URL of the server's maintenance database, for tests that create databases of their own."""
    return PG_ADMIN_URL


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An SQLite file migrated to head."""
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'costbot.db'}"
    db.upgrade(url)
    return url


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest) -> str:
    """The URL of a migrated database; tests using it run once on SQLite and once on PostgreSQL."""
    chosen = request.config.getoption("--db")
    if chosen not in ("all", request.param):
        pytest.skip(f"--db={chosen}")
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """The engine of a migrated database, emptied after the test."""
    engine = db.get_engine(db_url)
    yield engine
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def cli_env(db_url, engine, monkeypatch, tmp_path):
    """Point `costbot` commands at the test database, with no mapping or price overrides file."""
    from bot import settings

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("COSTBOT_MAPPING_FILE", str(tmp_path / "no-mapping.yml"))
    monkeypatch.setenv("COSTBOT_PRICE_OVERRIDES_FILE", str(tmp_path / "no-prices.yml"))
    settings.get_settings.cache_clear()
    yield
    settings.get_settings.cache_clear()
