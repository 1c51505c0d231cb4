"""The real Bolt app served over HTTP on loopback, with signed requests in Slack's payload shapes."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode

from slack_bolt import App
from slack_sdk.signature import SignatureVerifier

from bot.slack.server import SlackHTTPServer, make_server
from tests.fakeslack import BOT_USER_ID, TEAM_ID

SIGNING_SECRET = "test-signing-secret-4f1e2d"


@dataclass
class Reply:
    status: int
    body: str

    def json(self) -> dict:
        return json.loads(self.body) if self.body else {}


class SlackRequests:
    """Sends requests to a costbot server at `url` as Slack would: signed, in Slack's payload shapes."""

    def __init__(self, url: str, secret: str = SIGNING_SECRET, first_event_id: int = 1) -> None:
        self.url = url.rstrip("/")
        self.secret = secret
        self._event_ids = iter(range(first_event_id, 10**12))

    def signed_headers(self, body: str, timestamp: int | None = None, secret: str | None = None) -> dict[str, str]:
        """Return Slack's signature headers for `body`, signed now (or at `timestamp`)."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        verifier = SignatureVerifier(secret or self.secret)
        signature = verifier.generate_signature(timestamp=str(timestamp), body=body)
        return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}

    def post(self, body: str, content_type: str, headers: dict[str, str] | None = None, path: str = "/slack/events") -> Reply:
        request = urllib.request.Request(
            self.url + path,
            data=body.encode(),
            headers={"Content-Type": content_type, **(headers or {})},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Reply(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read().decode())

    def get(self, path: str) -> Reply:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return Reply(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read().decode())

    def send_json(self, payload: dict, retry_num: int | None = None, **sign) -> Reply:
        body = json.dumps(payload)
        headers = self.signed_headers(body, **sign)
        if retry_num is not None:
            headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post(body, "application/json", headers)

    def send_form(self, fields: dict[str, str], **sign) -> Reply:
        body = urlencode(fields)
        return self.post(body, "application/x-www-form-urlencoded", self.signed_headers(body, **sign))

    def slash_command(self, text: str, response_url: str, user: str = "U0ENG0001", channel: str = "C0GENERAL", **sign) -> Reply:
        return self.send_form(
            {
                "token": "legacy-verification-token",
                "team_id": TEAM_ID,
                "team_domain": "acme",
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": "engineer",
                "command": "/cost",
                "text": text,
                "api_app_id": "A0COSTBOT",
                "is_enterprise_install": "false",
                "response_url": response_url,
                "trigger_id": "1337.42.abcdef",
            },
            **sign,
        )

    def event(self, event: dict, event_id: str | None = None, retry_num: int | None = None) -> Reply:
        payload = {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": "A0COSTBOT",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._event_ids):08d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }
        return self.send_json(payload, retry_num=retry_num)

    def block_action(self, action: dict, user: str, *, response_url: str | None, channel: str = "C0ALERTS", view: dict | None = None) -> Reply:
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM_ID, "domain": "acme"},
            "user": {"id": user, "username": "someone", "team_id": TEAM_ID},
            "api_app_id": "A0COSTBOT",
            "token": "legacy-verification-token",
            "trigger_id": "1337.42.abcdef",
            "actions": [{"type": "button", "block_id": "b1", "action_ts": f"{time.time():.6f}", **action}],
        }
        if response_url is not None:
            payload["response_url"] = response_url
            payload["channel"] = {"id": channel, "name": "alerts"}
            payload["container"] = {"type": "message", "channel_id": channel, "message_ts": "1764800000.000100"}
        if view is not None:
            payload["view"] = view
            payload["container"] = {"type": "view", "view_id": view.get("id", "V0001")}
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded", self.signed_headers(body))


class SlackAppServer(SlackRequests):
    """Serves `app` on 127.0.0.1 (a free port) and sends it requests as Slack would."""

    def __init__(self, app: App, engine, secret: str = SIGNING_SECRET) -> None:
        self.server: SlackHTTPServer = make_server(app, engine, 0, host="127.0.0.1")
        host, port = self.server.server_address[:2]
        super().__init__(f"http://{host}:{port}", secret)
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> SlackAppServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    """Send one signed request to a running `costbot serve`, as Slack would, and print the reply."""
    import argparse

    parser = argparse.ArgumentParser(description="Send a signed Slack request to a running costbot serve.")
    parser.add_argument("--app", default="http://127.0.0.1:3000", help="Base URL of costbot serve.")
    parser.add_argument("--fake", default="http://127.0.0.1:8765", help="Base URL of the fake Slack (for response_url).")
    parser.add_argument("--secret", required=True, help="The SLACK_SIGNING_SECRET costbot serve runs with.")
    parser.add_argument("--user", default="U0ENG0001", help="Slack user id of the sender.")
    parser.add_argument("kind", choices=("cost", "mention", "dm", "home"), help="What to send.")
    parser.add_argument("text", nargs="?", default="", help="Command text or message text.")
    arguments = parser.parse_args()

    # Event ids start at the current second, so ids stay unique across runs.
    sender = SlackRequests(arguments.app, arguments.secret, first_event_id=int(time.time()))
    ts = f"{time.time():.6f}"
    if arguments.kind == "cost":
        reply = sender.slash_command(arguments.text, f"{arguments.fake}/response/cli", user=arguments.user)
    elif arguments.kind == "mention":
        text = f"<@{BOT_USER_ID}> {arguments.text}"
        reply = sender.event({"type": "app_mention", "user": arguments.user, "text": text, "ts": ts, "channel": "C0GENERAL"})
    elif arguments.kind == "dm":
        dm = "D" + arguments.user[1:]
        reply = sender.event({"type": "message", "channel_type": "im", "user": arguments.user, "text": arguments.text, "ts": ts, "channel": dm})
    else:
        reply = sender.event({"type": "app_home_opened", "user": arguments.user, "tab": "home", "event_ts": ts})
    print(f"HTTP {reply.status} {reply.body}")


if __name__ == "__main__":
    main()
