"""Starting the stack's own processes for a test: gunicorn, Flower, and talking HTTP to them.

Each process gets this test's database, Redis DB and broker in its environment (nothing
leaks in from the caller or a `.env`), a free local port, a log file in the test's
tmp_path, and is stopped (its whole process group) when the test ends.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from shared.config import Settings
from tests.helpers import TEST_HOST_KEY, TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0

# names a process of ours could read from the environment, dropped before ours are set
FOREIGN_PREFIXES = ("QUIZ_", "FLOWER_", "SENTRY_", "NEW_RELIC_", "PROMETHEUS_")
FOREIGN_NAMES = {
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "PORT",
    "SOURCE_COMMIT",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_env(settings: Settings, **extra: object) -> dict[str, str]:
    """The environment of a stack process for this test's settings, plus `extra`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in FOREIGN_NAMES and not name.startswith(FOREIGN_PREFIXES)
    }
    env.update(
        QUIZ_ENV=settings.env.value,
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        CELERY_BROKER_URL=settings.celery_broker_url,
        QUIZ_HOST_KEY=TEST_HOST_KEY,
        SECRET_KEY=TEST_SECRET_KEY,
        PYTHONUNBUFFERED="1",
    )
    env.update({name: str(value) for name, value in extra.items()})
    return env


class Process:
    """A subprocess in its own session, its output in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "wb")  # closed in stop()
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.output().splitlines() if line.startswith("{")]

    def wait_http(self, url: str, timeout: float = START_TIMEOUT_S) -> None:
        """Wait until `url` answers at all (any status), or fail with the process's output."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.args[:4]} exited with {self.process.returncode}:\n{self.output()}"
                )
            try:
                get(url)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{url} did not answer within {timeout:.0f} s:\n{self.output()}"
                    ) from None
                time.sleep(0.1)

    def stop(self) -> int:
        """SIGTERM (graceful), then SIGKILL the group after a bound; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        code = self.process.wait(STOP_TIMEOUT_S)
        self._log.close()
        return code


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET without raising on HTTP errors: (status, headers, body)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def basic(user_password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(user_password.encode()).decode()}


def start_gunicorn(env: dict[str, str], log_path: Path, port: int, workers: int = 2) -> Process:
    """gunicorn as `make run` starts it (gunicorn.conf.py is read from the checkout)."""
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "gevent",
        "--workers",
        str(workers),
        "--worker-connections",
        "100",
        "--graceful-timeout",
        "5",
        "web:create_app()",
    ]
    server = Process(args, env, log_path)
    server.wait_http(f"http://127.0.0.1:{port}/healthz")
    return server
