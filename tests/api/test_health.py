"""GET /healthz (no I/O) and GET /readyz (PostgreSQL, Redis, broker), against real servers.

A dependency that is down is simulated by pointing its URL at a port nobody listens on.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from flask import Flask
from sqlalchemy import make_url

from shared.config import Settings
from web import create_app
from worker.base import resources_for


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def app_with(settings: Settings) -> Iterator[Callable[..., Flask]]:
    """Build an app whose settings differ from the test's: app_with(redis_url=...)."""
    made: list[Flask] = []

    def build(**changes: object) -> Flask:
        app = create_app(replace(settings, ready_timeout_s=1.0, **changes))
        made.append(app)
        return app

    yield build
    for app in made:
        resources_for(app.extensions["celery"]).close()
        app.extensions["quiz.resources"].close()


def test_healthz_answers_without_touching_any_dependency(app_with):
    port = closed_port()
    app = app_with(
        database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{port}/nowhere",
        redis_url=f"redis://127.0.0.1:{port}/0",
        celery_broker_url=f"redis://127.0.0.1:{port}/0",
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_is_ready_when_every_dependency_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json == {
        "status": "ready",
        "checks": {"postgres": "ok", "redis": "ok", "broker": "ok"},
    }


@pytest.mark.parametrize(
    ("dependency", "change"),
    [
        (
            "postgres",
            lambda s, port: {
                "database_url": make_url(s.database_url)
                .set(port=port)
                .render_as_string(hide_password=False)
            },
        ),
        ("redis", lambda s, port: {"redis_url": f"redis://127.0.0.1:{port}/0"}),
        ("broker", lambda s, port: {"celery_broker_url": f"redis://127.0.0.1:{port}/0"}),
        (
            "broker",
            lambda s, port: {"celery_broker_url": f"amqp://guest:guest@127.0.0.1:{port}//"},
        ),
    ],
    ids=["postgres", "redis", "redis-broker", "rabbitmq-broker"],
)
def test_readyz_names_the_dependency_that_is_down(settings, app_with, dependency, change):
    app = app_with(**change(settings, closed_port()))
    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    body = response.json
    assert body["code"] == 503
    assert body["message"] == f"not ready: {dependency} unavailable"
    assert body["checks"][dependency].startswith("unavailable (")
    others = {name: outcome for name, outcome in body["checks"].items() if name != dependency}
    assert others == {name: "ok" for name in others}
    assert response.headers["Retry-After"] == "2"
    # the reason names the kind of failure, never a URL or credential
    assert "127.0.0.1" not in response.get_data(as_text=True)


def test_readyz_names_every_dependency_that_is_down(app_with):
    port = closed_port()
    app = app_with(
        database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{port}/nowhere",
        redis_url=f"redis://127.0.0.1:{port}/0",
        celery_broker_url=f"redis://127.0.0.1:{port}/0",
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["message"] == "not ready: postgres, redis, broker unavailable"


def test_probes_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json["paths"]
    assert {"/healthz", "/readyz"} <= set(paths)
