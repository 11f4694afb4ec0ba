"""Make the web app cooperative under gunicorn's gevent worker.

gevent patches sockets, so Redis and broker calls yield to other greenlets on their own.
psycopg2 talks to PostgreSQL in C, so a query would block every greenlet of the worker
(each live stream and each plain request) until it returns: a wait callback makes it
yield while it waits for the server, as psycogreen does. Thousands of open streams also
need as many file descriptors, so the soft limit is raised to the hard one. And hundreds
of greenlets may call Redis or PostgreSQL at once: they queue for a bounded pool of
connections that stay open, instead of failing with "Too many connections" (redis-py's
default pool refuses past 100) or opening and closing PostgreSQL connections (a backend
process forked for each) whenever a burst overflows the pool.
"""

from __future__ import annotations

import logging
import resource
import sys
from typing import Any

import redis
from flask import Flask
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from sqlalchemy import Engine

from shared.config import Settings
from shared.db import make_engine

log = logging.getLogger(__name__)

# enough descriptors for thousands of streams; the hard limit still caps it
WANTED_OPEN_FILES = 65536


def under_gevent() -> bool:
    """Whether gevent has patched this process's sockets (gunicorn --worker-class gevent)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("socket"))


def _gevent_wait(conn: Any, timeout: float | None = None) -> None:
    import psycopg2
    from gevent.socket import wait_read, wait_write
    from psycopg2 import extensions

    while True:
        state = conn.poll()
        if state == extensions.POLL_OK:
            return
        if state == extensions.POLL_READ:
            wait_read(conn.fileno(), timeout=timeout)
        elif state == extensions.POLL_WRITE:
            wait_write(conn.fileno(), timeout=timeout)
        else:
            raise psycopg2.OperationalError(f"bad state from poll: {state!r}")


def raise_open_files_limit(wanted: int = WANTED_OPEN_FILES) -> int:
    """Raise the soft limit on open files towards `wanted` (never above the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def waiting_redis(settings: Settings) -> redis.Redis:
    """Like shared.resources.make_redis, over a pool where callers wait for a connection."""
    pool = redis.BlockingConnectionPool.from_url(
        settings.redis_url,
        # QUIZ_REDIS_MAX_CONNECTIONS; greenlets beyond wait for one to be free
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_socket_timeout_s,
        socket_timeout=settings.redis_socket_timeout_s,
        socket_connect_timeout=settings.redis_socket_timeout_s,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        decode_responses=True,
    )
    return redis.Redis(connection_pool=pool)


def waiting_engine(settings: Settings) -> Engine:
    """Like shared.db.make_engine, over a fixed pool where callers wait for a connection."""
    return make_engine(settings, pool_size=2 * settings.db_pool_size, max_overflow=0)


def init_app(app: Flask) -> None:
    if not under_gevent():
        return
    from psycopg2 import extensions

    extensions.set_wait_callback(_gevent_wait)
    resources = app.extensions["quiz.resources"]
    resources.redis = waiting_redis(resources.settings)
    resources.engine = waiting_engine(resources.settings)
    limit = raise_open_files_limit()
    log.info("web.gevent_ready", extra={"open_files": limit})
