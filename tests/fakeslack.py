"""A fake Slack Web API on 127.0.0.1 for tests, reached by real slack_sdk clients via base_url.

It records every call and checks message payloads against Slack's documented limits. It
keeps channel histories with message metadata, and serves the three steps of
files_upload_v2 and Slack's response_url webhooks. It can also fail on purpose:

- HTTP 429 with Retry-After, or HTTP 500/503, for the next calls of a method;
- a whole outage (every call gets 503);
- a dropped connection after a message was stored;
- a reply held until the test releases it.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

BOT_TOKEN = "xoxb-test-0000-fake-bot-token"
APP_TOKEN = "xapp-1-test-fake-app-token"
BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM_ID = "T0TEST001"

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_TEXT = 40000


@dataclass
class Call:
    """One request the fake received."""

    method: str  # API method, "upload" for a file upload, "response_url" for a webhook
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Fault:
    status: int
    count: int
    retry_after: int | None = None


@dataclass
class FakeSlackState:
    calls: list[Call] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    drop_after_store: dict[str, int] = field(default_factory=dict)
    held: dict[str, threading.Event] = field(default_factory=dict)
    down: bool = False
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    socket_url: str | None = None


def _block_violations(blocks: list[dict[str, Any]], max_blocks: int) -> list[str]:
    problems = []
    if len(blocks) > max_blocks:
        problems.append(f"{len(blocks)} blocks, more than {max_blocks}")
    for index, block in enumerate(blocks):
        if block.get("type") == "section" and len((block.get("text") or {}).get("text", "")) > MAX_SECTION_TEXT:
            problems.append(f"block {index}: section text over {MAX_SECTION_TEXT} characters")
    return problems


class FakeSlack:
    """The fake server; use as a context manager, then point `base_url` at `api_url`."""

    def __init__(
        self,
        token: str = BOT_TOKEN,
        now: Callable[[], float] = time.time,
        port: int = 0,
        on_call: Callable[[Call], None] | None = None,
    ) -> None:
        self.token = token
        self.on_call = on_call
        self.now = now  # Slack's clock, which sets message ts values
        self.missing_channels: set[str] = set()
        self.state = FakeSlackState()
        self._lock = threading.Condition()
        self._ts = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for event in self.state.held.values():
            event.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self.base + "/api/"

    def response_url(self, name: str) -> str:
        return f"{self.base}/response/{name}"

    # --- test controls -----------------------------------------------------------------------
    def fail(self, method: str, status: int, count: int = 1, retry_after: int | None = None) -> None:
        """Reply to the next `count` calls of `method` with HTTP `status`."""
        with self._lock:
            self.state.faults.setdefault(method, []).append(Fault(status, count, retry_after))

    def drop_after_storing(self, method: str, count: int = 1) -> None:
        """Store the next `count` messages of `method`, then close the connection without a reply."""
        with self._lock:
            self.state.drop_after_store[method] = count

    def set_down(self, down: bool) -> None:
        """While down, every API call gets HTTP 503."""
        with self._lock:
            self.state.down = down

    def hold(self, method: str) -> threading.Event:
        """Keep replies to `method` waiting until the returned event is set."""
        event = threading.Event()
        with self._lock:
            self.state.held[method] = event
        return event

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [call for call in self.state.calls if method is None or call.method == method]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.state.history.get(channel, []))

    def wait_for(self, method: str, count: int = 1, timeout: float = 10) -> list[Call]:
        """Wait until `method` was called `count` times; fail the test after `timeout` seconds."""
        with self._lock:
            done = self._lock.wait_for(
                lambda: sum(1 for call in self.state.calls if call.method == method) >= count, timeout
            )
            found = [call for call in self.state.calls if call.method == method]
        assert done, f"fake Slack: expected {count} call(s) of {method} within {timeout}s, got {len(found)}"
        return found

    # --- request handling --------------------------------------------------------------------
    def _record(self, call: Call) -> None:
        with self._lock:
            self.state.calls.append(call)
            self._lock.notify_all()
        if self.on_call is not None:
            self.on_call(call)

    def _take_fault(self, method: str) -> Fault | None:
        with self._lock:
            if self.state.down:
                return Fault(503, 1)
            queue = self.state.faults.get(method) or []
            if not queue:
                return None
            fault = queue[0]
            fault.count -= 1
            if fault.count <= 0:
                queue.pop(0)
            return fault

    def _next_ts(self) -> str:
        return f"{int(self.now()):d}.{next(self._ts):06d}"

    def _dm_channel(self, user: str) -> str:
        return "D" + user[1:]

    def _api(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        auth = headers.get("authorization", "")
        app_methods = ("apps.connections.open",)
        if method in app_methods:
            if auth != f"Bearer {APP_TOKEN}":
                return 200, {"ok": False, "error": "invalid_auth"}
            return 200, {"ok": True, "url": self.state.socket_url}
        if auth != f"Bearer {self.token}":
            return 200, {"ok": False, "error": "invalid_auth" if auth else "not_authed"}

        if method == "auth.test":
            return 200, {"ok": True, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "team_id": TEAM_ID, "user": "costbot"}
        if method in ("chat.postMessage", "chat.postEphemeral", "chat.update"):
            return self._post_message(method, params)
        if method == "conversations.open":
            return 200, {"ok": True, "channel": {"id": self._dm_channel(params["users"])}}
        if method == "conversations.history":
            with self._lock:
                messages = list(reversed(self.state.history.get(params["channel"], [])))
            oldest = float(params.get("oldest", 0))
            found = [message for message in messages if float(message["ts"]) >= oldest]
            if str(params.get("include_all_metadata")).lower() not in ("true", "1"):
                found = [{k: v for k, v in message.items() if k != "metadata"} for message in found]
            return 200, {"ok": True, "messages": found, "has_more": False}
        if method == "views.publish":
            view = params["view"] if isinstance(params["view"], dict) else json.loads(params["view"])
            problems = _block_violations(view.get("blocks", []), MAX_VIEW_BLOCKS)
            with self._lock:
                self.state.violations.extend(problems)
                self.state.views.append({"user_id": params["user_id"], "view": view})
            if problems:
                return 200, {"ok": False, "error": "invalid_blocks"}
            return 200, {"ok": True, "view": {"id": "V0001"}}
        if method == "usergroups.users.list":
            return 200, {"ok": True, "users": self.state.usergroups.get(params["usergroup"], [])}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):08d}"
            return 200, {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = json.loads(params["files"]) if isinstance(params["files"], str) else params["files"]
            with self._lock:
                for entry in files:
                    entry = dict(entry, channel_id=params.get("channel_id"), thread_ts=params.get("thread_ts"))
                    entry["size"] = len(self.state.uploads.get(entry["id"], b""))
                    self.state.files.append(entry)
            return 200, {"ok": True, "files": [{"id": entry["id"], "title": entry.get("title")} for entry in files]}
        return 200, {"ok": False, "error": "unknown_method"}

    def _post_message(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        blocks = params.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        text = params.get("text") or ""
        problems = _block_violations(blocks, MAX_BLOCKS)
        if len(text) > MAX_TEXT:
            problems.append(f"text of {len(text)} characters, more than {MAX_TEXT}")
        if problems:
            with self._lock:
                self.state.violations.extend(problems)
            return 200, {"ok": False, "error": "invalid_blocks" if blocks else "msg_too_long"}
        if not text and not blocks:
            return 200, {"ok": False, "error": "no_text"}

        channel = params["channel"]
        if channel in self.missing_channels:
            return 200, {"ok": False, "error": "channel_not_found"}
        if channel.startswith(("U", "W")):
            channel = self._dm_channel(channel)
        if method == "chat.postEphemeral":
            return 200, {"ok": True, "message_ts": self._next_ts()}

        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        ts = params.get("ts") if method == "chat.update" else self._next_ts()
        message = {"type": "message", "ts": ts, "text": text, "blocks": blocks, "bot_id": BOT_ID}
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        if metadata:
            message["metadata"] = metadata
        with self._lock:
            self.state.history.setdefault(channel, []).append(message)
        return 200, {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._handle(b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._handle(self.rfile.read(length))

            def _handle(self, body: bytes) -> None:
                url = urlparse(self.path)
                headers = {name.lower(): value for name, value in self.headers.items()}
                if url.path.startswith("/upload/"):
                    file_id = url.path.rsplit("/", 1)[-1]
                    with fake._lock:
                        fake.state.uploads[file_id] = body
                    fake._record(Call("upload", {"file_id": file_id, "size": len(body)}, headers))
                    self._reply(200, "OK - " + str(len(body)), "text/plain")
                    return
                if url.path.startswith("/response/"):
                    held = fake.state.held.get("response_url")
                    if held is not None:
                        held.wait(10)
                    fault = fake._take_fault("response_url")
                    fake._record(Call("response_url", json.loads(body or b"{}") | {"_name": url.path.rsplit("/", 1)[-1]}, headers))
                    if fault is not None:
                        extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                        self._reply(fault.status, "rate_limited" if fault.status == 429 else "error", "text/plain", extra)
                        return
                    self._reply(200, "ok", "text/plain")
                    return
                if not url.path.startswith("/api/"):
                    self._reply(404, "not found", "text/plain")
                    return

                method = url.path.removeprefix("/api/")
                params = self._params(url.query, body, headers)
                held = fake.state.held.get(method)
                if held is not None:
                    held.wait(10)
                fault = fake._take_fault(method)
                fake._record(Call(method, params, headers))
                if fault is not None:
                    extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                    error = "ratelimited" if fault.status == 429 else "fatal_error"
                    self._reply(fault.status, json.dumps({"ok": False, "error": error}), "application/json", extra)
                    return

                status, payload = fake._api(method, params, headers)
                with fake._lock:
                    drop = fake.state.drop_after_store.get(method, 0)
                    if drop and payload.get("ok"):
                        fake.state.drop_after_store[method] = drop - 1
                if drop and payload.get("ok"):
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self._reply(status, json.dumps(payload), "application/json")

            def _params(self, query: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
                params: dict[str, Any] = {key: values[0] for key, values in parse_qs(query).items()}
                content_type = headers.get("content-type", "")
                if body and "application/json" in content_type:
                    params.update(json.loads(body))
                elif body:
                    params.update({key: values[0] for key, values in parse_qs(body.decode()).items()})
                return params

            def _reply(self, status: int, text: str, content_type: str, extra: dict[str, str] | None = None) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _print_call(call: Call) -> None:
    """Print a received call the way a person reads Slack: method, where, and the message text."""
    where = call.params.get("channel") or call.params.get("user_id") or call.params.get("_name") or ""
    thread = f" thread {call.params['thread_ts']}" if call.params.get("thread_ts") else ""
    print(f"[fake Slack] {call.method} {where}{thread}", flush=True)
    blocks = call.params.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if call.params.get("text"):
        print(call.params["text"], flush=True)
    elif blocks:
        from bot.slack.render import render_blocks

        print(render_blocks(blocks), flush=True)


def main() -> None:
    """Serve the fake Slack until Ctrl-C, printing each call: `python -m tests.fakeslack --port 8765`."""
    import argparse

    parser = argparse.ArgumentParser(description="A fake Slack Web API on 127.0.0.1 that prints every call.")
    parser.add_argument("--port", type=int, default=8765, help="TCP port on 127.0.0.1 (default 8765).")
    arguments = parser.parse_args()
    with FakeSlack(port=arguments.port, on_call=_print_call) as fake:
        print(f"fake Slack Web API on {fake.api_url}; it accepts the bot token {BOT_TOKEN}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
