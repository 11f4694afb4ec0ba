"""Real PostgreSQL, Redis and Celery workers: the app enqueues to the broker, workers score.

A worker is a subprocess started the way production starts it (`celery -A worker worker -Q
scoring`), with this test's database and Redis DB in its environment. Its log goes to a file
in the test's tmp_path and is printed at teardown, where pytest shows it for failed tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from celery import Celery
from flask import Flask
from flask.testing import FlaskClient

from shared.config import Settings
from tests.helpers import TEST_HOST_KEY, TEST_SECRET_KEY
from web import create_app

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0
LOG_TAIL_LINES = 300

# every variable Settings.from_env reads, so nothing leaks in from the caller or a `.env`
SETTINGS_VARIABLES = {
    "QUIZ_ENV": lambda s: s.env.value,
    "DATABASE_URL": lambda s: s.database_url,
    "REDIS_URL": lambda s: s.redis_url,
    "CELERY_BROKER_URL": lambda s: s.celery_broker_url,
    "QUIZ_HOST_KEY": lambda s: TEST_HOST_KEY,
    "SECRET_KEY": lambda s: TEST_SECRET_KEY,
    "QUIZ_TOKEN_MAX_AGE_S": lambda s: s.token_max_age_s,
    "QUIZ_IDEMPOTENCY_TTL_S": lambda s: s.idempotency_ttl_s,
    "QUIZ_TASK_STATUS_TTL_S": lambda s: s.task_status_ttl_s,
    "QUIZ_REQUEUE_AFTER_S": lambda s: s.requeue_after_s,
    "QUIZ_REQUEUE_INTERVAL_S": lambda s: s.requeue_interval_s,
    "QUIZ_OUTBOX_RELAY_AFTER_S": lambda s: s.outbox_relay_after_s,
    "QUIZ_OUTBOX_RELAY_INTERVAL_S": lambda s: s.outbox_relay_interval_s,
    "QUIZ_MAX_DELIVERY_ATTEMPTS": lambda s: s.max_delivery_attempts,
    "QUIZ_DB_POOL_SIZE": lambda s: s.db_pool_size,
    "QUIZ_REDIS_SOCKET_TIMEOUT_S": lambda s: s.redis_socket_timeout_s,
}


class WorkerProcess:
    """One `celery worker` subprocess and its log file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self._log_file = open(log_path, "wb")  # closed in stop()
        # its own session, so a stuck worker can be killed with its pool children
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def count_in_log(self, fragment: str) -> int:
        return self.log().count(fragment)

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while " ready." not in self.log():
            if self.process.poll() is not None:
                raise AssertionError(
                    f"worker exited with {self.process.returncode} before it was ready:\n"
                    + self.tail()
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"worker not ready after {timeout:.0f} s:\n" + self.tail())
            time.sleep(0.1)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM) and wait; SIGKILL the process group after a bound."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._kill_group()
                self.process.wait(STOP_TIMEOUT_S)
        # pool children or the embedded beat must not outlive the worker
        self._kill_group()
        self._log_file.close()

    def _kill_group(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def worker_environment(settings: Settings, overrides: dict[str, object]) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in SETTINGS_VARIABLES and not name.startswith("QUIZ_")
    }
    env.update({name: str(value(settings)) for name, value in SETTINGS_VARIABLES.items()})
    env.update({name: str(value) for name, value in overrides.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def start_worker(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start a real scoring worker: `start_worker(beat=True, QUIZ_REQUEUE_AFTER_S=1)`.

    Keyword arguments in upper case are environment variables for the worker; `beat` embeds
    celery beat, `concurrency` sets the number of prefork processes. It returns once the
    worker logs that it is ready, and every worker is stopped at teardown.
    """
    workers: list[WorkerProcess] = []

    def start(*, beat: bool = False, concurrency: int = 2, **env: object) -> WorkerProcess:
        name = f"it-{uuid.uuid4().hex[:8]}"
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker",
            "worker",
            "-Q",
            "scoring",
            "--pool",
            "prefork",
            "-c",
            str(concurrency),
            "-l",
            "INFO",
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        if beat:
            args += ["-B", "-s", str(tmp_path / f"{name}-beat-schedule")]
        worker = WorkerProcess(args, worker_environment(settings, env), tmp_path / f"{name}.log")
        workers.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in workers:
        worker.stop()
    for worker in workers:
        print(f"--- log of {' '.join(worker.args[5:])} ---\n{worker.tail()}")


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
