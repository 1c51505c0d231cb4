"""Bolt middleware for what every listener needs: one handling per event, no replies to bots, admin checks."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from bot.models import SlackEventSeen
from bot.settings import Settings
from bot.slack import messages
from bot.slack.deps import SlackDeps

logger = logging.getLogger(__name__)

EVENT_ID_RETENTION = timedelta(days=1)
ADMIN_GROUP_CACHE = timedelta(minutes=1)
ADMIN_LOOKUP_TIMEOUT_SECONDS = 2
# Message subtypes that are someone typing to the bot; edits, deletions and joins are not.
ANSWERED_SUBTYPES = (None, "file_share", "thread_broadcast")


def dedupe_events(deps: SlackDeps) -> Callable[..., BoltResponse | None]:
    """Build middleware that handles each event_id once, whatever the X-Slack-Retry-Num header contains.

    The event id is stored before the listener runs, so an event whose handling crashed
    is not retried: answers are at most once. Ids older than a day are deleted, because
    Slack stops retrying after about an hour.
    """

    def middleware(body: dict[str, Any], request: BoltRequest, ack: Callable[..., BoltResponse], next: Callable[[], None]):
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not event_id:
            return next()
        retry_num = (request.headers.get("x-slack-retry-num") or [None])[0]
        now = deps.clock.now()
        with deps.session() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            # The RETURNING row shows whether the insert happened, because psycopg 3 reports rowcount -1 here.
            statement = (
                insert(SlackEventSeen)
                .values(event_id=event_id, seen_at=now)
                .on_conflict_do_nothing(index_elements=["event_id"])
                .returning(SlackEventSeen.event_id)
            )
            first = session.execute(statement).first() is not None
            if first:
                session.exec(delete(SlackEventSeen).where(SlackEventSeen.seen_at < now - EVENT_ID_RETENTION))  # type: ignore[call-overload]
        if not first:
            reason = (request.headers.get("x-slack-retry-reason") or ["-"])[0]
            logger.info("slack event repeated event_id=%s retry_num=%s reason=%s: ignored", event_id, retry_num, reason)
            return ack()
        return next()

    return middleware


def ignore_bot_events(body: dict[str, Any], context: BoltContext, ack: Callable[..., BoltResponse], next: Callable[[], None]):
    """Skip events from this bot or any other bot, and message edits and deletions, so bots never answer each other."""
    event = body.get("event") or {}
    if body.get("type") != "event_callback" or event.get("type") not in ("message", "app_mention"):
        return next()
    own = event.get("user") is not None and event.get("user") == context.bot_user_id
    from_bot = bool(event.get("bot_id")) or event.get("subtype") == "bot_message"
    if own or from_bot or event.get("subtype") not in ANSWERED_SUBTYPES:
        logger.debug("slack event skipped type=%s subtype=%s", event.get("type"), event.get("subtype"))
        return ack()
    return next()


class AdminCheck:
    """Decides who is an admin: a user id in COSTBOT_ADMIN_USER_IDS or a member of COSTBOT_ADMIN_USERGROUP_ID."""

    def __init__(self, settings: Settings, clock: Any) -> None:
        self.user_ids = frozenset(settings.admin_user_ids)
        self.usergroup_id = settings.admin_usergroup_id
        self.clock = clock
        self._members: frozenset[str] = frozenset()
        self._fetched_at: datetime | None = None
        self._lock = threading.Lock()

    def is_admin(self, client: WebClient, user_id: str | None) -> bool:
        if not user_id:
            return False
        if user_id in self.user_ids:
            return True
        if not self.usergroup_id:
            return False
        return user_id in self._group_members(client)

    def _group_members(self, client: WebClient) -> frozenset[str]:
        now = self.clock.now()
        with self._lock:
            if self._fetched_at is not None and now - self._fetched_at < ADMIN_GROUP_CACHE:
                return self._members
            # This lookup runs before the ack, so it gets a short timeout and no in-call retries.
            quick = WebClient(token=client.token, base_url=client.base_url, timeout=ADMIN_LOOKUP_TIMEOUT_SECONDS)
            try:
                users = quick.usergroups_users_list(usergroup=self.usergroup_id)["users"]
            except (SlackApiError, OSError) as exc:
                # Unknown membership means nobody from the group is admin until the next lookup.
                error = exc.response.get("error") if isinstance(exc, SlackApiError) else exc.__class__.__name__
                logger.warning("admin usergroup lookup failed usergroup=%s error=%s", self.usergroup_id, error)
                return frozenset()
            self._members, self._fetched_at = frozenset(users), now
            logger.info("admin usergroup loaded usergroup=%s members=%d", self.usergroup_id, len(users))
            return self._members

    def require_admin(self, client: WebClient, context: BoltContext, ack: Callable[..., BoltResponse], next: Callable[[], None]):
        """Listener middleware: reject non-admins with an ephemeral reply and run nothing."""
        if self.is_admin(client, context.user_id):
            context["is_admin"] = True
            return next()
        logger.info("admin command rejected user=%s", context.user_id)
        return ack(text=messages.NOT_ADMIN)

    def attach_flag(self, client: WebClient, context: BoltContext, next: Callable[[], None]):
        """Listener middleware: set context["is_admin"] for handlers that let admins act for others."""
        context["is_admin"] = self.is_admin(client, context.user_id)
        return next()
