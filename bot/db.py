"""Database engine, sessions and migrations.

One engine per database URL and process. SQLite runs in WAL mode with a busy timeout so
that the web process and the worker can share the embedded file.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from bot.settings import get_settings

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


def _normalise_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def display_url(url: str) -> str:
    """Return the database URL with its password replaced by ***, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def is_missing_table(exc: BaseException) -> bool:
    """Return True for "no such table" (SQLite) or an undefined table (PostgreSQL)."""
    from psycopg import errors

    original = getattr(exc, "orig", None)
    return "no such table" in str(original) or isinstance(original, errors.UndefinedTable)


def get_engine(url: str | None = None) -> Engine:
    """Return the engine for `url` (the configured DATABASE_URL by default), one per URL and process."""
    url = _normalise_url(url or get_settings().database_url)
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _create_engine(url)
    return engine


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def dispose_engines() -> None:
    """Close every engine's connections and forget the engines, e.g. before a test drops its database."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """Open a session that commits on success and rolls back on error."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None):
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", _normalise_url(url or get_settings().database_url).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision`."""
    from alembic import command

    logger.info("migrating database to %s", revision)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    from alembic import command

    logger.info("downgrading database to %s", revision)
    command.downgrade(alembic_config(url), revision)
