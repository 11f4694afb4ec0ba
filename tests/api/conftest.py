"""The Flask app with eager Celery: the scoring task runs inside the request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shared.config import Settings
from tests.helpers import Stream
from web import create_app
from worker.base import resources_for


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    celery = app.extensions["celery"]
    celery.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield app
    hub = app.extensions.get("quiz.live_hub")  # made by the first stream
    if hub is not None:
        hub.stop()
    resources_for(celery).close()
    app.extensions["quiz.resources"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def stream(app, client):
    """Open a leaderboard stream of the app: `stream(quiz_id, limit=5).next_event()`."""
    app.config["QUIZ_LEADERBOARD_HEARTBEAT_S"] = 0.2
    opened = []

    def open_stream(quiz_id, headers=None, **query):
        response = client.get(
            f"/api/v1/quizzes/{quiz_id}/leaderboard/stream",
            query_string=query,
            headers=headers or {},
            buffered=False,
        )
        assert response.status_code == 200, response.get_data()
        assert response.mimetype == "text/event-stream"
        opened.append(Stream(response))
        return opened[-1]

    yield open_stream
    for s in opened:
        s.close()
