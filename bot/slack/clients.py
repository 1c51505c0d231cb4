"""Slack Web API clients: every client points at `SLACK_API_URL` and retries with slack_sdk's handlers.

Retries run inside the call, so only code that has already acknowledged Slack (listeners
after `ack()`, the outbox worker) makes calls through these clients.

chat.postMessage is not idempotent: a 5xx reply or a dropped connection may come after
Slack stored the message. So the server-error and connection-error handlers do not retry
chat.postMessage inside the call. The outbox retries it later, after looking the message
up by its metadata (see `bot.slack.delivery`). A 429 reply means Slack posted nothing,
so rate-limited calls, chat.postMessage included, are retried after Retry-After.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Optional

from slack_sdk import WebClient
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryHandler, RetryState
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

logger = logging.getLogger(__name__)

Sleep = Callable[[float], None]

NOT_IDEMPOTENT_METHODS = ("chat.postMessage",)
# Waits longer than this are not spent inside a call: the error reaches the caller, and
# the outbox schedules the next attempt at Retry-After instead.
MAX_IN_CALL_WAIT_SECONDS = 10
REQUEST_TIMEOUT_SECONDS = 15


def _method_of(request: HttpRequest) -> str:
    return request.url.rstrip("/").rsplit("/", 1)[-1]


class _SleepMixin:
    """Sleeps through an injected function, so tests can record waits instead of waiting."""

    sleep: Sleep = time.sleep

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: Optional[HttpResponse] = None,
        error: Optional[Exception] = None,
    ) -> None:
        state.next_attempt_requested = True
        duration = self.interval_calculator.calculate_sleep_duration(state.current_attempt)  # type: ignore[attr-defined]
        logger.info("slack retry method=%s attempt=%d wait=%.1fs", _method_of(request), state.current_attempt + 1, duration)
        self.sleep(duration)
        state.increment_current_attempt()


class RateLimitRetry(RateLimitErrorRetryHandler):
    """Retries HTTP 429 after the Retry-After seconds Slack sends, up to `max_wait` seconds."""

    def __init__(self, max_retry_count: int = 2, sleep: Sleep = time.sleep, max_wait: float = MAX_IN_CALL_WAIT_SECONDS):
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep
        self.max_wait = max_wait

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        return retry_after_seconds(response) <= self.max_wait

    def prepare_for_next_attempt(self, *, state, request, response=None, error=None) -> None:
        state.next_attempt_requested = True
        wait = retry_after_seconds(response)
        logger.info("slack rate limited method=%s retry_after=%ss", _method_of(request), wait)
        self.sleep(wait)
        state.increment_current_attempt()


class ServerErrorRetry(_SleepMixin, ServerErrorRetryHandler):
    """Retries HTTP 500 and 503 with backoff, except for calls that are not idempotent."""

    def __init__(self, max_retry_count: int = 2, sleep: Sleep = time.sleep):
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        if _method_of(request) in NOT_IDEMPOTENT_METHODS:
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


class ConnectionErrorRetry(_SleepMixin, ConnectionErrorRetryHandler):
    """Retries connection resets and refusals with backoff, except for calls that are not idempotent."""

    def __init__(self, max_retry_count: int = 2, sleep: Sleep = time.sleep):
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        if _method_of(request) in NOT_IDEMPOTENT_METHODS:
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


def retry_after_seconds(response: HttpResponse | None) -> int:
    """Return the Retry-After header of `response` in seconds (1 when it is missing or invalid)."""
    if response is None:
        return 1
    for name, values in response.headers.items():
        if name.lower() == "retry-after":
            value = values[0] if isinstance(values, list) else values
            try:
                return max(int(value), 0)
            except ValueError:
                return 1
    return 1


def retry_handlers(sleep: Sleep = time.sleep) -> list[RetryHandler]:
    """Return the retry handlers every costbot WebClient uses."""
    return [RateLimitRetry(sleep=sleep), ServerErrorRetry(sleep=sleep), ConnectionErrorRetry(sleep=sleep)]


def make_web_client(token: str | None, base_url: str, sleep: Sleep = time.sleep) -> WebClient:
    """Return a WebClient for `token` that calls the Slack API at `base_url`."""
    if not base_url.endswith("/"):
        base_url += "/"
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=REQUEST_TIMEOUT_SECONDS,
        retry_handlers=retry_handlers(sleep),
    )
