"""The connections one process shares: an engine, a session factory and a Redis client."""

from __future__ import annotations

from functools import cached_property

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.db import make_engine, make_session_factory


def make_redis(settings: Settings, url: str | None = None) -> redis.Redis:
    """A Redis client with explicit timeouts: a stalled Redis must fail a call, not hang it."""
    return redis.Redis.from_url(
        url or settings.redis_url,
        socket_timeout=settings.redis_socket_timeout_s,
        socket_connect_timeout=settings.redis_socket_timeout_s,
        health_check_interval=30,
        max_connections=settings.redis_max_connections,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        decode_responses=True,
    )


class Resources:
    """Created lazily so a forking server or worker opens connections in each child."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def redis(self) -> redis.Redis:
        return make_redis(self.settings)

    def forget_connections(self) -> None:
        """Drop connections inherited from a parent process (call right after fork)."""
        if "engine" in self.__dict__:
            self.engine.dispose(close=False)
        if "redis" in self.__dict__:
            self.redis.connection_pool.reset()

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "redis" in self.__dict__:
            self.redis.close()
