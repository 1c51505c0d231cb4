"""The HTTP server of `costbot serve`: Slack requests on /slack/events and a health endpoint.

A threading server from the standard library, so one slow request never holds up the
ack of another; Bolt verifies each request's signature and returns 401 when it is invalid.
"""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sqlalchemy as sa
from slack_bolt import App, BoltRequest
from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/health"
MAX_BODY_BYTES = 1_000_000  # Slack's payloads are far smaller; anything larger is rejected with 413
MAX_DISCARD_BYTES = 16_000_000


class SlackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: App, engine: Engine) -> None:
        self.app = app
        self.engine = engine
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: SlackHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        # The access log goes through logging at DEBUG; request bodies are never logged.
        logger.debug("http %s", format % args)

    def do_GET(self) -> None:
        if self.path.partition("?")[0] != HEALTH_PATH:
            self._send(404, {"error": "not found"})
            return
        try:
            with self.server.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            logger.warning("health check failed: database error %s", exc.__class__.__name__)
            self._send(503, {"status": "unhealthy", "database": "unreachable"})
            return
        self._send(200, {"status": "ok", "database": "ok"})

    def do_POST(self) -> None:
        path, _, query = self.path.partition("?")
        if path != EVENTS_PATH:
            self._send(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            logger.warning("http request rejected: body of %d bytes is over %d", length, MAX_BODY_BYTES)
            self._discard_body(length)
            self._send(413, {"error": f"request body over {MAX_BODY_BYTES} bytes"})
            return
        body = self.rfile.read(length).decode("utf-8")
        headers = {name.lower(): [value] for name, value in self.headers.items()}
        response = self.server.app.dispatch(BoltRequest(body=body, query=query, headers=headers))
        data = response.body if isinstance(response.body, str) else json.dumps(response.body)
        self._send_raw(response.status, data.encode("utf-8"), response.headers)

    def _discard_body(self, length: int) -> None:
        """Read and drop up to MAX_DISCARD_BYTES of a rejected body, so the client can read the reply.

        A longer body is left unread and the connection is closed after the reply, because
        the rest of it must not be parsed as the next request.
        """
        remaining = min(length, MAX_DISCARD_BYTES)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                break
            remaining -= len(chunk)
        if length > MAX_DISCARD_BYTES:
            self.close_connection = True

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        self._send_raw(status, json.dumps(payload).encode(), {"content-type": ["application/json"]})

    def _send_raw(self, status: int, data: bytes, headers: dict[str, Any]) -> None:
        self.send_response(status)
        for name, values in headers.items():
            if name.lower() == "content-length":
                continue
            for value in values if isinstance(values, (list, tuple)) else [values]:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def make_server(app: App, engine: Engine, port: int, host: str = "0.0.0.0") -> SlackHTTPServer:
    """Bind the server; `serve_forever()` runs it."""
    return SlackHTTPServer((host, port), app, engine)
