"""Dependencies shared by the Slack handlers: settings, the database engine and the clock."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

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


def optional_function(module: str, name: str) -> Callable[..., Any] | None:
    """Return `module.name`, or None while another part of costbot does not provide it yet."""
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None
        raise
    return getattr(found, name, None)
