"""The costbot command line as a user meets it: help, and clear errors instead of tracebacks."""

from __future__ import annotations

import os
import re
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


def test_rules_on_unmigrated_database(tmp_path) -> None:
    # Every rule's metric reads a missing table, so expect one upgrade hint, not a traceback per rule.
    repository = Path(__file__).resolve().parents[1]  # its rules/ folder is the default COSTBOT_RULES_DIR
    for command in (["rules", "run", "--dry-run"], ["rules", "backtest", "--from", "2026-11-01", "--to", "2026-11-02"]):
        result = _costbot(*command, cwd=repository, database_url=f"sqlite:///{tmp_path / 'new.db'}")
        assert result.returncode == 1, command
        assert "costbot: database error: no such table" in result.stderr
        assert "run `costbot db upgrade` first" in result.stderr
        assert "Traceback" not in result.stderr
        assert "rules skipped" not in result.stderr


def test_sqlite_missing_folder_named(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-folder' / 'costbot.db'}"
    result = _costbot("db", "upgrade", cwd=tmp_path, database_url=url)
    assert result.returncode == 1
    assert "costbot: database error: unable to open database file" in result.stderr
    assert (f"Check that the folder of the SQLite file in DATABASE_URL ({url}) exists and is writable; "
            "sqlite:///NAME is relative to the working folder, sqlite:////PATH is absolute.") in result.stderr
    assert "running server" not in result.stderr
    assert "Traceback" not in result.stderr


def test_database_password_hidden_in_error(tmp_path) -> None:
    url = "postgresql://postgres:secret-pw@127.0.0.1:5432/costbot_no_such_database"
    result = _costbot("ask", "spend last week", cwd=tmp_path, database_url=url)
    assert result.returncode == 1
    assert "secret-pw" not in result.stderr
    assert "postgres:***@127.0.0.1" in result.stderr
    # The database itself is missing, so `costbot db upgrade` alone would not help.
    assert 'database "costbot_no_such_database" does not exist' in result.stderr
    assert ("Check that DATABASE_URL (postgresql://postgres:***@127.0.0.1:5432/costbot_no_such_database) names a "
            "running server and an existing database. Create the database if needed, then run `costbot db upgrade`."
            ) in result.stderr
    assert "If tables are missing" not in result.stderr


def _commands(command=None, path=("costbot",)):
    """Yield (path, command) for the root app, every group and every command under it."""
    if command is None:
        from typer.main import get_command

        from bot.cli import app

        command = get_command(app)
    yield list(path), command
    for name, child in getattr(command, "commands", {}).items():
        yield from _commands(child, (*path, name))


def _help(path: list[str]) -> str:
    from typer.testing import CliRunner

    from bot.cli import app

    result = CliRunner().invoke(app, [*path[1:], "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.output


def _section(text: str, title: str) -> str:
    """Return the lines of a help section such as "Options:" up to the next section."""
    match = re.search(rf"^{title}:\n(.*?)(?=^\S|\Z)", text, re.MULTILINE | re.DOTALL)
    return match.group(1) if match else ""


def test_help_shows_flags_plainly() -> None:
    for path, command in _commands():
        text = _help(path)
        assert "<bool>" not in text, path
        # Options that take a value show a metavar (--at TIME), never a type such as <str>.
        assert re.search(r"<\w", _section(text, "Options")) is None, (path, _section(text, "Options"))
        for param in command.params:
            if param.param_type_name == "option" and not param.is_flag:
                assert re.fullmatch(r"[A-Z_]+", param.metavar or ""), (path, param.name)


def test_help_has_summary_and_example() -> None:
    for path, command in _commands():
        text = _help(path)
        assert "Example" in text, path
        summary = (command.help or "").split("\n\n")[0]
        assert "\n" not in summary, path
        assert summary.endswith("."), path
        # A group lists each command's summary on one 80-column line, cut with "..." when too long.
        assert not re.search(r"\.\.\.$", _section(text, "Commands"), re.MULTILINE), path


def test_help_keeps_example_lines() -> None:
    for path, command in _commands():
        block = (command.help or "").split("\b\n", 1)
        assert len(block) == 2, path  # the examples are a paragraph that Click leaves as written
        examples = [line.strip() for line in block[1].splitlines()[1:] if line.strip()]
        assert examples, path
        help_lines = [line.strip() for line in _help(path).splitlines()]
        for example in examples:
            assert "costbot " in example, (path, example)
            assert example in help_lines, (path, example)


def test_at_option_help_names_format() -> None:
    # Every --at rejects a time without a zone, so every help text says that a zone is needed.
    options = [(path, param) for path, command in _commands() for param in command.params if param.name == "at"]
    assert len(options) == 6
    for path, param in options:
        assert "ISO 8601 timestamp with a zone" in param.help, path


def test_readme_commands_exist() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    usages = re.findall(r"`(costbot [^`]*)`", readme)
    for block in re.findall(r"```bash\n(.*?)```", readme, re.DOTALL):
        usages += [line for line in block.splitlines() if line.startswith("costbot ")]
    assert len(usages) > 10
    _, root = next(_commands())
    for usage in usages:
        _check_usage(root, usage)


def _check_usage(root, usage: str) -> None:
    """Check that a usage line such as `costbot budgets check / list [--at TIME]` names real commands and options."""
    group, leaves, sibling = root, [], False
    for token in re.sub(r'"[^"]*"', "", usage).split()[1:]:
        word = token.strip("[]")
        if word == "/":
            sibling = True
            continue
        if word.startswith("-"):
            command = leaves[-1] if leaves else group
            names = {name for param in command.params for name in (*param.opts, *param.secondary_opts)}
            assert word in names | {"--help", "-h"}, (usage, word)
            continue
        if word in ("…", "...") or (leaves and not sibling):
            continue  # an elision, or an argument value such as FILE... or a rule id
        assert word in group.commands, (usage, word)
        child = group.commands[word]
        if hasattr(child, "commands") and not sibling:
            group = child
        else:
            leaves.append(child)
        sibling = False


def test_ask_chart_of_empty_forecast(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert _costbot("db", "upgrade", cwd=tmp_path, database_url=url).returncode == 0
    chart = tmp_path / "forecast.png"

    result = _costbot("ask", "--at", "2026-11-20T00:00Z", "--chart", str(chart), "month-end forecast",
                      cwd=tmp_path, database_url=url)

    assert result.returncode == 0
    assert "No spend in the last 7 days, so there is no daily chart to show." in result.stdout
    assert (f"costbot: this answer has no chart (no time series, or no spend to plot), so nothing was written to "
            f"{chart}") in result.stderr
    assert not chart.exists()


def test_import_help_lists_formats() -> None:
    from bot.cli.ingest import FORMAT_NAMES
    from bot.ingest.detect import load_formats

    listed = FORMAT_NAMES.replace(" or ", ", ").split(", ")
    assert sorted(listed) == sorted(load_formats())
    options = " ".join(_section(_help(["costbot", "import"]), "Options").split())
    assert f"Format name: {FORMAT_NAMES}." in options
