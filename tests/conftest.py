"""Fixtures: a database of the test's own (cloned from a migrated template) and a Redis DB.

PostgreSQL and Redis are the real servers at DATABASE_URL and REDIS_URL (`make test` finds
or starts them). Each test gets a fresh database `quiz_test_<random>` and the Redis DB
index TEST_REDIS_DB (default 15), flushed before and after the test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import make_engine, make_session_factory
from shared.resources import make_redis
from tests.live_stack import stack_settings
from tests.rabbitmq import broker_url_for_test

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _server_settings() -> Settings:
    """The servers to test against: DATABASE_URL and REDIS_URL, from the environment or .env."""
    return Settings.from_env()


def _admin_engine(database_url: str) -> Engine:
    url = make_url(database_url).set(database="postgres")
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1)


@pytest.fixture(scope="session")
def template_database() -> Iterator[str]:
    """Migrate one template database per test session with `alembic upgrade head`."""
    server = _server_settings()
    name = f"quiz_test_template_{os.getpid()}"
    admin = _admin_engine(server.database_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server.database_url).set(database=name).render_as_string(hide_password=False)
    config = Config(os.path.join(ROOT, "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(template_database: str) -> Iterator[str]:
    """A database of this test's own, cloned from the migrated template."""
    server = _server_settings()
    name = f"quiz_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(server.database_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    yield make_url(server.database_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The test Redis DB, empty before and after the test."""
    server = _server_settings()
    db_index = int(os.environ.get("TEST_REDIS_DB", "15"))
    url = with_redis_db(server.redis_url, db_index)
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


def with_redis_db(url: str, db_index: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db_index}"))


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    return stack_settings(database_url, redis_url, broker_url_for_test(redis_url))


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_session_factory(engine)() as session:
        yield session


@pytest.fixture
def redis_client(settings: Settings) -> Iterator[redis.Redis]:
    client = make_redis(settings)
    yield client
    client.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder, so `-m unit` or `-m "not e2e"` select by kind."""
    for item in items:
        for kind in ("unit", "api", "integration", "e2e"):
            if f"{os.sep}tests{os.sep}{kind}{os.sep}" in str(item.path):
                item.add_marker(kind)
