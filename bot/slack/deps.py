"""Dependencies shared by the Slack handlers: settings, the database engine and the clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.clock import Clock
from bot.db import session_scope
from bot.settings import Settings


@dataclass
class SlackDeps:
    settings: Settings
    engine: Engine
    clock: Clock

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.engine) as session:
            yield session

