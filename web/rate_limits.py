"""Rate limits, counted in Redis with `limits` (the library under Flask-Limiter), and who a
request comes from.

Answers are limited per player (the token's participant), joins, quiz reads and streams
per client address. The defaults let a whole school behind one NAT address play; each is
a setting, and `QUIZ_RATE_LIMITS=off` turns them all off (with the stream caps of
web/live.py) for load tests, whose players all come from one address.

A check is one Redis round trip (a fixed window: INCR and EXPIRE in one script). The
views call `limits` directly rather than through Flask-Limiter's extension, whose
bookkeeping around that same call (a before-request pass and limit resolution on every
request) cost about 0.2 ms more CPU per request, measured in-process. The answer path,
the hot one, does not even pay the round trip: it counts in the pipeline that reads the
quiz state (`count_on`, `enforce`); `make bench`'s `limits` scenario measures both ways.
While Redis is unreachable each process counts on its own, so an outage neither lifts
the limits nor fails a request the rest of the stack could answer.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis.exceptions
from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter, RateLimiter
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from shared.config import Settings
from shared.errors import REDIS_DOWN
from shared.resources import Resources

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

KEY_PREFIX = "quiz:limits"
# after Redis failed a check, this process counts on its own for this long
LOCAL_COUNTING_S = 5.0


def client_address() -> str:
    """The client's address: the peer's, or X-Forwarded-For's when proxies are trusted."""
    return request.remote_addr or "unknown"


def answering_player() -> str:
    """Answers count per player; participant_required has read the token already."""
    return f"participant:{g.participant.participant_id}"


class RateLimits:
    """The process's limits: parsed once, counted in Redis, or here while Redis is down."""

    def __init__(self, settings: Settings, resources: Resources) -> None:
        self.enabled = settings.rate_limits
        self.items: dict[str, list[RateLimitItem]] = {
            kind: parse_many(getattr(settings, f"rate_limit_{kind}"))
            for kind in ("answers", "joins", "lookups", "streams")
        }
        self._resources = resources
        self._lock = threading.Lock()
        self._local: RateLimiter | None = None
        self._local_until = 0.0

    @functools.cached_property
    def _shared(self) -> RateLimiter:
        # the process's own Redis pool, timeouts and retries (made after gunicorn forked)
        pool = self._resources.redis.connection_pool
        storage = RedisStorage(
            self._resources.settings.redis_url, connection_pool=pool, key_prefix=KEY_PREFIX
        )
        return FixedWindowRateLimiter(storage)

    def _local_limiter(self) -> RateLimiter:
        with self._lock:
            if self._local is None:
                self._local = FixedWindowRateLimiter(MemoryStorage())
            return self._local

    def check(self, kind: str, key: str, message: str) -> None:
        """Count one request of `kind` for `key`; 429 with Retry-After past a limit."""
        for item in self.items[kind]:
            limiter = self._local_limiter() if time.monotonic() < self._local_until else None
            try:
                limiter = limiter or self._shared
                allowed = limiter.hit(item, kind, key)
            except REDIS_DOWN as exc:
                log.warning(
                    "rate_limits.counting_locally", extra={"for_s": LOCAL_COUNTING_S, "error": exc}
                )
                self._local_until = time.monotonic() + LOCAL_COUNTING_S
                limiter = self._local_limiter()
                allowed = limiter.hit(item, kind, key)
            if not allowed:
                self._refuse(limiter, item, kind, key, message)

    def count_on(self, pipe: redis.client.Pipeline, kind: str, key: str) -> None:
        """Queue the counts of one request on `pipe`, a round trip the caller makes anyway
        (the answer path's read of the quiz state); `enforce` reads their replies. The
        same count, key and window as `check`: limits' own script, by its SHA1 (a Script
        object would cost the pipeline a SCRIPT EXISTS round trip each time)."""
        storage = self._shared.storage
        script = storage.lua_incr_expire  # type: ignore[attr-defined]
        for item in self.items[kind]:
            limit_key = storage.prefixed_key(item.key_for(kind, key))  # type: ignore[attr-defined]
            pipe.evalsha(script.sha, 1, limit_key, item.get_expiry(), 1)

    def enforce(self, kind: str, key: str, counts: list[Any], message: str) -> None:
        """429 with Retry-After when a count queued by `count_on` is past its limit.

        `counts` are the pipeline's replies (raise_on_error=False): a Redis that lost its
        scripts (restarted) answered NoScriptError, so the counting is done again by `check`.
        """
        if any(isinstance(count, redis.exceptions.NoScriptError) for count in counts):
            self.check(kind, key, message)
            return
        for item, count in zip(self.items[kind], counts, strict=True):
            if isinstance(count, Exception):
                raise count
            if int(count) > item.amount:
                self._refuse(self._shared, item, kind, key, message)

    def _refuse(
        self, limiter: RateLimiter, item: RateLimitItem, kind: str, key: str, message: str
    ) -> None:
        reset_at = limiter.get_window_stats(item, kind, key).reset_time
        wait_s = max(1, math.ceil(reset_at - time.time()))
        raise TooManyRequests(
            f"{message} (at most {item}); retry in {wait_s} s", retry_after=wait_s
        )


def limited(kind: str, message: str, key: Callable[[], str] = client_address) -> Callable[[F], F]:
    """A view decorator: the request counts towards the `kind` limit of `key()`."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            limits: RateLimits = current_app.extensions["quiz.rate_limits"]
            if limits.enabled:
                limits.check(kind, key(), message)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


# the decorators of the views, one per kind of request (answers count on the answer
# path's own round trip: web/api/answers.py)
joins = limited("joins", "too many joins from this address")
lookups = limited("lookups", "too many quiz reads from this address")
streams = limited("streams", "too many streams opened from this address")


def init_app(app: Flask, settings: Settings, resources: Resources) -> None:
    app.extensions["quiz.rate_limits"] = RateLimits(settings, resources)
    if settings.trusted_proxies:
        # the last N hops of X-Forwarded-For are ours; never believed without this setting
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)  # type: ignore[method-assign]
