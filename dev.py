#!/usr/bin/env python3
"""Run costbot's main job or its tests from a fresh clone, with nothing installed but Python 3.11.

    python3 dev.py demo     # the main job: example exports -> budget check, rules, answers (printed)
    python3 dev.py test     # the test suite on SQLite and PostgreSQL

Both create `.venv/` on first use and install costbot into it (again whenever
pyproject.toml changes). Extra arguments go to the command: `python3 dev.py test -k budgets`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".costbot-install-stamp"


def _python311() -> str:
    """Return a Python 3.11 interpreter: this one, or python3.11 on PATH."""
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    found = shutil.which("python3.11")
    if found:
        return found
    sys.exit(f"dev.py: costbot needs Python 3.11, found {sys.version.split()[0]} and no python3.11 on PATH")


def _ensure_venv() -> None:
    if not (BIN / "python").exists():
        print(f"dev.py: creating {VENV}", flush=True)
        if sys.version_info[:2] == (3, 11):
            venv.create(VENV, with_pip=True)
        else:
            subprocess.run([_python311(), "-m", "venv", str(VENV)], check=True)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print("dev.py: installing costbot and its dependencies into .venv (takes a minute the first time)", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _quiet_unless_failed([*pip, "--upgrade", "pip"])
    _quiet_unless_failed([*pip, "--editable", f"{ROOT}[test]"])
    STAMP.write_text(wanted)


def _quiet_unless_failed(command: list[str]) -> None:
    """Run an install step; show its output (warnings included) only when it fails."""
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        sys.exit(f"dev.py: {' '.join(command[2:5])} failed with exit status {result.returncode}")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test"):
        print(__doc__.strip())
        return 2
    _ensure_venv()
    command, rest = argv[0], argv[1:]
    if command == "test":
        # Two worker processes by default (pytest-xdist); each test module stays on one worker
        # so its module-scoped fixtures (an imported example database, say) are built once.
        parallel = [] if any(arg.startswith(("-n", "--numprocesses")) for arg in rest) else ["-n", "2", "--dist", "loadscope"]
        args = [str(BIN / "python"), "-m", "pytest", *parallel, *rest]
    else:
        args = [str(BIN / "costbot"), "demo", *rest]
    return subprocess.run(args, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
