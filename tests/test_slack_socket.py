"""Socket Mode: the real Bolt SocketModeHandler, apps.connections.open at the fake Slack, and a
websocket server on loopback that pushes envelopes and reads the acks."""

from __future__ import annotations

import json
import queue
import threading
from datetime import datetime, timezone

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from sqlmodel import SQLModel
from websockets.sync.server import ServerConnection, serve

from bot import db
from bot.clock import FixedClock
from bot.settings import load_settings
from bot.slack import messages
from bot.slack.app import create_app
from tests.fakeslack import APP_TOKEN, BOT_TOKEN, BOT_USER_ID, TEAM_ID, FakeSlack

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
WAIT = 10  # seconds; a bound on loopback I/O, not a pause


class EnvelopeServer:
    """A websocket server that plays Slack's Socket Mode side: hello, then queued envelopes."""

    def __init__(self) -> None:
        self.outgoing: queue.Queue[dict] = queue.Queue()
        self.acks: queue.Queue[dict] = queue.Queue()
        self.connected = threading.Event()
        self._server = serve(self._handle, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link/?ticket=test"

    def _handle(self, connection: ServerConnection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0COSTBOT"}}))
        self.connected.set()
        while True:
            try:
                envelope = self.outgoing.get(timeout=0.05)
            except queue.Empty:
                envelope = None
            if envelope is not None:
                connection.send(json.dumps(envelope))
            try:
                message = connection.recv(timeout=0.05)
            except TimeoutError:
                continue
            except Exception:
                return
            self.acks.put(json.loads(message))

    def __enter__(self) -> EnvelopeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()


@pytest.fixture
def fake():
    with FakeSlack() as server:
        yield server


@pytest.fixture
def sqlite_engine(sqlite_url):
    """SQLite only: Socket Mode does not depend on the database, and each connection takes seconds."""
    engine = db.get_engine(sqlite_url)
    yield engine
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def socket_app(fake, sqlite_engine, sqlite_url):
    engine = sqlite_engine
    settings = load_settings(
        slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN, slack_signing_secret=None,
        slack_api_url=fake.api_url, database_url=sqlite_url,
    )
    app = create_app(settings, socket_mode=True, engine=engine, clock=FixedClock(NOW))
    with EnvelopeServer() as envelopes:
        fake.state.socket_url = envelopes.url
        handler = SocketModeHandler(app, APP_TOKEN)
        handler.connect()
        assert envelopes.connected.wait(WAIT), "the Socket Mode client did not connect"
        yield envelopes
        handler.close()


def test_socket_slash_command_acked(socket_app, fake):
    command = {
        "team_id": TEAM_ID, "channel_id": "C0GENERAL", "user_id": "U0ENG0001", "command": "/cost", "text": "help",
        "api_app_id": "A0COSTBOT", "response_url": fake.response_url("socket"), "trigger_id": "1.2.3",
    }
    socket_app.outgoing.put({"envelope_id": "env-1", "type": "slash_commands", "payload": command, "accepts_response_payload": True})

    ack = socket_app.acks.get(timeout=WAIT)

    assert ack["envelope_id"] == "env-1"
    assert ack["payload"] == {"text": messages.HELP}
    assert fake.calls("apps.connections.open")[0].headers["authorization"] == f"Bearer {APP_TOKEN}"


def test_socket_mention_answered(socket_app, fake):
    event = {"type": "app_mention", "user": "U0ENG0001", "text": f"<@{BOT_USER_ID}>", "ts": "1764800000.000900", "channel": "C0GENERAL"}
    body = {"type": "event_callback", "team_id": TEAM_ID, "event_id": "Ev0SOCKET1", "event_time": 1764800000, "event": event}
    socket_app.outgoing.put({"envelope_id": "env-2", "type": "events_api", "payload": body, "accepts_response_payload": False})

    ack = socket_app.acks.get(timeout=WAIT)
    post = fake.wait_for("chat.postMessage")[0]

    assert ack == {"envelope_id": "env-2"}
    assert post.params["text"] == messages.EMPTY_MENTION
    assert post.params["thread_ts"] == "1764800000.000900"
