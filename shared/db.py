"""Declarative base, engine and session factory shared by web, worker and migrations."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event, exc
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from shared.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# a pooled connection idle for longer than this is pinged before it is handed out
PING_AFTER_IDLE_S = 1.0


def make_engine(settings: Settings, **overrides: object) -> Engine:
    """Create the engine; a restarted PostgreSQL costs a reconnect, not an error.

    A connection that waited in the pool is pinged first (pool_pre_ping's check), but only
    when it sat idle for PING_AFTER_IDLE_S: one in steady use is not asked a `SELECT 1`
    before every statement it runs, and an error on it invalidates the pool anyway.
    """
    options: dict[str, object] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_pool_size,
        "pool_recycle": 1800,
        # fail fast when PostgreSQL is unreachable instead of hanging a request
        "connect_args": {"connect_timeout": 5},
    }
    options.update(overrides)
    engine = create_engine(settings.database_url, **options)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _note_checkin(dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    idle_since = record.info.get("checked_in_at")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
        return  # new, or back in the pool a moment ago
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        # the pool drops this connection and hands out a fresh one
        raise exc.DisconnectionError(f"pooled connection failed its ping: {error}") from error


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
