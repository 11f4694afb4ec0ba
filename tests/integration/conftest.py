"""Real PostgreSQL, Redis and Celery workers: the app enqueues to the broker, workers score.

A worker is a subprocess started the way production starts it (`celery -A worker worker -Q
scoring`), with this test's database and Redis DB in its environment. Its log goes to a file
in the test's tmp_path and is printed at teardown, where pytest shows it for failed tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from celery import Celery
from flask import Flask
from flask.testing import FlaskClient

from shared.config import Settings
from tests.live_stack import Process
from tests.live_stack import start_worker as start_worker_process
from web import create_app


@pytest.fixture
def start_worker(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., Process]]:
    """Start a real scoring worker: `start_worker(beat=True, QUIZ_REQUEUE_AFTER_S=1)`.

    Keyword arguments in upper case are environment variables for the worker; `beat` embeds
    celery beat, `concurrency` sets the number of prefork processes. It returns once the
    worker logs that it is ready, and every worker is stopped at teardown.
    """
    workers: list[Process] = []

    def start(*, beat: bool = False, concurrency: int = 2, **env: object) -> Process:
        worker = start_worker_process(
            settings, tmp_path, pool="prefork", concurrency=concurrency, beat=beat, **env
        )
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    for worker in workers:
        print(f"--- log of worker {worker.name} ---\n{worker.tail()}")


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """The Flask app as production builds it: tasks go to the broker, never run eagerly."""
    app = create_app(settings)
    celery = app.extensions["celery"]
    assert not celery.conf.task_always_eager
    yield app
    app.extensions["quiz.resources"].close()
    celery.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def celery_app(app: Flask) -> Celery:
    """The app's Celery (made by shared.celery.make_celery), to send or purge messages."""
    return app.extensions["celery"]
