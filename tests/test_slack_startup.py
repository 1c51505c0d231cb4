"""Starting the Slack app: bad settings fail naming the setting, `costbot serve` serves, secrets stay out of logs."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
from datetime import datetime, timezone

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from bot import db, outbox
from bot.cli import app as cli_app
from bot.clock import FixedClock
from bot.settings import get_settings, load_settings
from bot.slack import messages
from bot.slack.app import StartupError, check_token, create_app
from bot.slack.clients import make_web_client
from bot.slack.delivery import SlackSender, deliver_pending
from tests.fakeslack import APP_TOKEN, BOT_TOKEN, BOT_USER_ID, FakeSlack
from tests.slackharness import SIGNING_SECRET, SlackAppServer, SlackRequests

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
WAIT = 20  # seconds; a bound on a subprocess starting on loopback, not a pause


@pytest.fixture
def fake():
    with FakeSlack() as server:
        yield server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _settings(fake: FakeSlack, database_url: str, **overrides):
    values = dict(
        slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.api_url, database_url=database_url
    )
    return load_settings(**(values | overrides))


def _startup_error(settings, **kwargs) -> str:
    with pytest.raises(StartupError) as raised:
        create_app(settings, **kwargs)
    return str(raised.value)


def test_missing_bot_token_named(fake, sqlite_url):
    message = _startup_error(_settings(fake, sqlite_url, slack_bot_token=None))

    assert message == "SLACK_BOT_TOKEN is missing: set it to the app's Bot User OAuth Token (xoxb-…)"


def test_user_token_instead_of_bot_token(fake, sqlite_url):
    message = _startup_error(_settings(fake, sqlite_url, slack_bot_token="xoxp-user-token-value"))

    assert message == "SLACK_BOT_TOKEN is invalid: a bot token starts with xoxb-; copy the Bot User OAuth Token"
    assert "xoxp-user-token-value" not in message


def test_rejected_bot_token_named(fake, sqlite_url):
    message = _startup_error(_settings(fake, sqlite_url, slack_bot_token="xoxb-revoked-token-value"))

    assert message == (
        "SLACK_BOT_TOKEN is invalid: Slack's auth.test returned invalid_auth; "
        "copy the Bot User OAuth Token from the app's OAuth & Permissions page"
    )
    assert "xoxb-revoked-token-value" not in message


def test_missing_signing_secret_named(fake, sqlite_url):
    message = _startup_error(_settings(fake, sqlite_url, slack_signing_secret=None))

    assert message == "SLACK_SIGNING_SECRET is missing: copy the Signing Secret from the app's Basic Information page"


def test_socket_mode_needs_app_token(fake, sqlite_url):
    missing = _startup_error(_settings(fake, sqlite_url), socket_mode=True)
    wrong = _startup_error(_settings(fake, sqlite_url, slack_app_token=BOT_TOKEN), socket_mode=True)

    assert missing == "SLACK_APP_TOKEN is missing: Socket Mode needs an app-level token (xapp-…) with connections:write"
    assert wrong == "SLACK_APP_TOKEN is invalid: an app-level token starts with xapp-"


def test_unmigrated_database_named(fake, tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"

    message = _startup_error(_settings(fake, url))

    assert message == f"DATABASE_URL ({url}) has no costbot tables; run `costbot db upgrade` first"


def test_unreachable_database_hides_password(fake):
    url = f"postgresql+psycopg://costbot:hunter2-secret@127.0.0.1:{_free_port()}/costbot"

    message = _startup_error(_settings(fake, url))

    assert message.startswith(f"DATABASE_URL (postgresql+psycopg://costbot:***@127.0.0.1:{url.split(':')[3].split('/')[0]}/costbot) cannot be opened: ")
    assert "hunter2-secret" not in message


def test_unreachable_slack_api_named(fake):
    url = f"http://127.0.0.1:{_free_port()}/api/"
    waits: list[float] = []
    settings = _settings(fake, "sqlite:///unused.db", slack_api_url=url)

    with pytest.raises(StartupError) as raised:
        check_token(make_web_client(BOT_TOKEN, url, sleep=waits.append), settings)

    assert str(raised.value).startswith(f"SLACK_API_URL ({url}) cannot be reached: ")
    assert len(waits) == 2  # the connection-error handler retried auth.test twice


def test_serve_cli_reports_missing_token(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "COSTBOT_SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()

    result = CliRunner().invoke(cli_app, ["serve"])
    get_settings.cache_clear()

    assert result.exit_code == 2
    assert "costbot: SLACK_BOT_TOKEN is missing: set it to the app's Bot User OAuth Token (xoxb-…)" in result.output


def test_serve_command_serves_http(fake, tmp_path):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    db.upgrade(url)
    port = _free_port()
    env = os.environ | {
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": url, "PORT": str(port),
    }
    command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    ready = threading.Event()
    lines: list[str] = []

    def read_stderr() -> None:
        for line in process.stderr:  # type: ignore[union-attr]
            lines.append(line)
            if "serving Slack on" in line:
                ready.set()

    threading.Thread(target=read_stderr, daemon=True).start()
    try:
        assert ready.wait(WAIT), f"costbot serve did not start: {''.join(lines)}"
        requests = SlackRequests(f"http://127.0.0.1:{port}")
        health = requests.get("/health")
        help_reply = requests.slash_command("help", fake.response_url("serve"))
    finally:
        process.terminate()
        process.wait(WAIT)

    assert f"costbot: serving Slack on http://127.0.0.1:{port}/slack/events (health: /health; Ctrl-C stops)\n" in lines
    assert health.json() == {"status": "ok", "database": "ok"}
    assert help_reply.body == messages.HELP


def test_secrets_never_logged(fake, engine, db_url, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    settings = _settings(fake, db_url, slack_app_token=APP_TOKEN, admin_user_ids="U0ADMIN01")
    with pytest.raises(StartupError):
        create_app(_settings(fake, db_url, slack_bot_token="xoxb-revoked-token-value"), engine=engine)
    app = create_app(settings, engine=engine, clock=FixedClock(NOW))
    with SlackAppServer(app, engine) as slack:
        slack.slash_command("spend by team last month", fake.response_url("q"))
        slack.slash_command("admin help", fake.response_url("admin"), user="U0ENG0001")
        slack.event({"type": "app_mention", "user": "U0ENG0001", "text": f"<@{BOT_USER_ID}> help", "ts": "1764800000.001000", "channel": "C0GENERAL"})
        slack.post("{}", "application/json", {"X-Slack-Signature": "v0=forged", "X-Slack-Request-Timestamp": "1"})
        fake.wait_for("response_url")
        fake.wait_for("chat.postMessage")
    fake.fail("chat.postMessage", 429, retry_after=60)
    with Session(engine) as session:
        outbox.enqueue(session, key="alert:log", kind="alert", channel="C0ALERTS", text="x", now=NOW)
        session.commit()
        deliver_pending(session, SlackSender(make_web_client(BOT_TOKEN, fake.api_url)), FixedClock(NOW))

    logged = caplog.text + capsys.readouterr().err
    assert "thread answer channel=C0GENERAL" in logged  # the logs were captured at all
    for secret in (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, "xoxb-revoked-token-value"):
        assert secret not in logged
