"""manifest.yml declares what the app listens to and the scopes of the Slack methods it calls."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.slack.server import EVENTS_PATH

MANIFEST = Path(__file__).resolve().parent.parent / "manifest.yml"


def _manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text())


def test_manifest_request_urls_use_events_path():
    manifest = _manifest()
    urls = [
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
        *[command["url"] for command in manifest["features"]["slash_commands"]],
    ]

    assert all(url.endswith(EVENTS_PATH) for url in urls), urls


def test_manifest_lists_handled_events_and_command():
    manifest = _manifest()

    assert sorted(manifest["settings"]["event_subscriptions"]["bot_events"]) == ["app_home_opened", "app_mention", "message.im"]
    assert [command["command"] for command in manifest["features"]["slash_commands"]] == ["/cost"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_manifest_scopes_cover_called_methods():
    scopes = set(_manifest()["oauth_config"]["scopes"]["bot"])
    # Each Slack method the app calls, with the bot scope Slack's method reference requires.
    needed = {
        "chat.postMessage": "chat:write",
        "files.getUploadURLExternal": "files:write",
        "conversations.history (channels)": "channels:history",
        "conversations.history (DMs)": "im:history",
        "conversations.open": "im:write",
        "conversations.list": "channels:read",
        "usergroups.users.list": "usergroups:read",
        "app_mention events": "app_mentions:read",
        "/cost": "commands",
    }

    missing = {method: scope for method, scope in needed.items() if scope not in scopes}
    assert missing == {}
