"""The one Slack app factory, used by `costbot serve` over HTTP and in Socket Mode.

`create_app` checks the settings, the database and the bot token before it returns, and
raises StartupError with a message that names the setting to fix (never its value).
"""

from __future__ import annotations

import logging
from urllib.error import URLError

import sqlalchemy as sa
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from bot.clock import Clock, SystemClock
from bot.db import get_engine
from bot.settings import Settings
from bot.slack import actions, commands, events
from bot.slack.clients import make_web_client
from bot.slack.deps import SlackDeps
from bot.slack.middleware import AdminCheck, dedupe_events, ignore_bot_events

logger = logging.getLogger(__name__)


class _DropClientTokenWarning(logging.Filter):
    """Drops Bolt's warning that SLACK_BOT_TOKEN, which Bolt reads from the environment itself,
    is unused because a client was given: the client is built from that same token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


BOLT_LOGGER = logging.getLogger("bot.slack.bolt")
BOLT_LOGGER.addFilter(_DropClientTokenWarning())


class StartupError(Exception):
    """A setting, the database or the Slack token is missing or invalid; the message names which."""


def check_settings(settings: Settings, *, socket_mode: bool) -> tuple[str, str | None]:
    """Return the bot token and signing secret, or raise StartupError naming what is missing or invalid."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    if not token:
        raise StartupError("SLACK_BOT_TOKEN is missing: set it to the app's Bot User OAuth Token (xoxb-…)")
    if not token.startswith("xoxb-"):
        raise StartupError("SLACK_BOT_TOKEN is invalid: a bot token starts with xoxb-; copy the Bot User OAuth Token")
    if socket_mode:
        app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
        if not app_token:
            raise StartupError(
                "SLACK_APP_TOKEN is missing: Socket Mode needs an app-level token (xapp-…) with connections:write"
            )
        if not app_token.startswith("xapp-"):
            raise StartupError("SLACK_APP_TOKEN is invalid: an app-level token starts with xapp-")
        return token, None
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    if not secret:
        raise StartupError(
            "SLACK_SIGNING_SECRET is missing: copy the Signing Secret from the app's Basic Information page"
        )
    return token, secret


def check_database(engine: Engine) -> None:
    """Raise StartupError unless the database responds and has costbot's tables."""
    display_url = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as connection:
            has_outbox = sa.inspect(connection).has_table("outbox")
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise StartupError(f"DATABASE_URL ({display_url}) cannot be opened: {reason}") from None
    if not has_outbox:
        raise StartupError(f"DATABASE_URL ({display_url}) has no costbot tables; run `costbot db upgrade` first")


def check_token(client: WebClient, settings: Settings) -> dict:
    """Call auth.test; raise StartupError naming SLACK_BOT_TOKEN or SLACK_API_URL when it fails."""
    try:
        return client.auth_test().data  # type: ignore[return-value]
    except SlackApiError as exc:
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else f"HTTP {exc.response.status_code}"
        raise StartupError(
            f"SLACK_BOT_TOKEN is invalid: Slack's auth.test returned {error}; "
            "copy the Bot User OAuth Token from the app's OAuth & Permissions page"
        ) from None
    except (URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc.__class__.__name__
        raise StartupError(f"SLACK_API_URL ({settings.slack_api_url}) cannot be reached: {reason}") from None


def create_app(
    settings: Settings,
    *,
    socket_mode: bool = False,
    engine: Engine | None = None,
    clock: Clock | None = None,
) -> App:
    """Build the Bolt app with every listener and middleware, after checking settings, database and token."""
    token, secret = check_settings(settings, socket_mode=socket_mode)
    engine = engine or get_engine(settings.database_url)
    check_database(engine)
    client = make_web_client(token, settings.slack_api_url)
    identity = check_token(client, settings)

    app = App(
        client=client,
        signing_secret=secret,
        # Long-running server: ack() returns the HTTP response at once and the listener
        # goes on in Bolt's thread pool.
        process_before_response=False,
        # Bolt calls auth.test once more here and keeps the result, so requests that arrive
        # while Slack is unreachable still pass Bolt's authorization step.
        token_verification_enabled=True,
        request_verification_enabled=not socket_mode,
        ignoring_self_events_enabled=False,  # ignore_bot_events below covers this bot and every other
        logger=BOLT_LOGGER,
    )
    deps = SlackDeps(settings=settings, engine=engine, clock=clock or SystemClock())
    admin = AdminCheck(settings, deps.clock)
    app.use(ignore_bot_events)
    app.use(dedupe_events(deps))
    commands.register(app, deps, admin)
    events.register(app, deps)
    actions.register(app, deps, admin)
    logger.info(
        "slack app ready mode=%s team=%s bot_user=%s", "socket" if socket_mode else "http",
        identity.get("team_id"), identity.get("user_id"),
    )
    return app
