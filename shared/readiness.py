"""Readiness checks: can this process reach PostgreSQL, Redis and the broker right now?

Each check opens its own short-lived connection with its own timeout, never a pooled
one: a pool that is exhausted or holds a dead connection must not hang the probe, and a
probe must show what a new request would meet. The three run at the same time, so a
probe takes about one timeout at worst.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import redis
from kombu import Connection
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from shared.config import Settings

log = logging.getLogger(__name__)

OK = "ok"
DEPENDENCIES = ("postgres", "redis", "broker")


def check_postgres(url: str, timeout_s: float) -> None:
    # libpq takes whole seconds and treats anything under 2 as 2
    connect_timeout = max(2, math.ceil(timeout_s))
    engine = create_engine(
        url,
        poolclass=NullPool,
        connect_args={
            "connect_timeout": connect_timeout,
            "options": f"-c statement_timeout={int(timeout_s * 1000)}",
        },
    )
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def check_redis(url: str, timeout_s: float) -> None:
    client = redis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        client.ping()
    finally:
        client.close()


def check_broker(url: str, timeout_s: float) -> None:
    transport_options = {
        "socket_timeout": timeout_s,
        "socket_connect_timeout": timeout_s,
        "max_retries": 0,
    }
    with Connection(url, connect_timeout=timeout_s, transport_options=transport_options) as conn:
        conn.ensure_connection(max_retries=0)
        conn.default_channel  # noqa: B018  a channel proves the login, not just the socket


def check_all(settings: Settings) -> dict[str, str]:
    """`{dependency: "ok" | "unavailable (<error type>)"}` for postgres, redis and broker."""
    timeout = settings.ready_timeout_s
    checks: dict[str, Callable[[], None]] = {
        "postgres": lambda: check_postgres(settings.database_url, timeout),
        "redis": lambda: check_redis(settings.redis_url, timeout),
        "broker": lambda: check_broker(settings.celery_broker_url, timeout),
    }
    with ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="readyz") as pool:
        futures = {name: pool.submit(check) for name, check in checks.items()}
        return {name: _outcome(name, future.exception()) for name, future in futures.items()}


def _outcome(name: str, error: BaseException | None) -> str:
    if error is None:
        return OK
    # the detail goes to the log; the probe's answer names only the kind of failure
    log.warning("readyz.dependency_unavailable", extra={"dependency": name, "error": error})
    return f"unavailable ({type(error).__name__})"
