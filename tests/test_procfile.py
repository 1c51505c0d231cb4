"""Each Procfile entry starts a real costbot command; its --help must run."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"


def _entries() -> dict[str, list[str]]:
    entries = {}
    for line in PROCFILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = shlex.split(command)
    return entries


def test_procfile_has_three_processes() -> None:
    assert set(_entries()) == {"web", "worker", "release"}


@pytest.mark.parametrize("process", ["web", "worker", "release"])
def test_procfile_command_help(process: str) -> None:
    command = _entries()[process]
    assert command[0] == "costbot"
    # Run through this interpreter so the test does not depend on PATH.
    result = subprocess.run(
        [sys.executable, "-m", "bot", *command[1:], "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Usage: " in result.stdout
