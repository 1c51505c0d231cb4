"""The costbot command line as a user meets it: help, and clear errors instead of tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _costbot(*args: str, cwd: Path, database_url: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("COSTBOT_", "SLACK_"))}
    env["DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_unmigrated_database_says_upgrade(tmp_path) -> None:
    result = _costbot("ask", "spend last week", cwd=tmp_path, database_url=f"sqlite:///{tmp_path / 'new.db'}")
    assert result.returncode == 1
    assert "costbot: database error: no such table" in result.stderr
    assert "run `costbot db upgrade` first" in result.stderr
    assert "Traceback" not in result.stderr


def test_database_password_hidden_in_error(tmp_path) -> None:
    url = "postgresql://postgres:secret-pw@127.0.0.1:5432/costbot_no_such_database"
    result = _costbot("ask", "spend last week", cwd=tmp_path, database_url=url)
    assert result.returncode == 1
    assert "secret-pw" not in result.stderr
    assert "postgres:***@127.0.0.1" in result.stderr


def test_every_command_has_an_example() -> None:
    from bot.cli import app
    from typer.main import get_command

    missing = []

    def visit(command, path):
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, child in subcommands.items():
                visit(child, [*path, name])
        elif "Example:" not in (command.help or ""):
            missing.append(" ".join(path))

    visit(get_command(app), ["costbot"])
    assert missing == []
