"""The Flask app with eager Celery: the scoring task runs inside the request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shared.config import Settings
from web import create_app
from worker.base import resources_for


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    celery = app.extensions["celery"]
    celery.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield app
    resources_for(celery).close()
    app.extensions["quiz.resources"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
