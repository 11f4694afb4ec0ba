"""Starting the stack's own processes for a test: gunicorn, Flower, and talking HTTP to them.

Processes are tests.live_stack.Process, with tests.live_stack.environment(settings): the
test's database, Redis DB and broker, a free local port, a log file in the test's tmp_path.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from pathlib import Path

from scripts.processes import command
from tests.live_stack import Process


def answers(url: str) -> bool:
    """Whether `url` answers at all, whatever the status."""
    try:
        get(url)
    except OSError:
        return False
    return True


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
    args = command(
        "web", port, log_path.parent, workers=workers, worker_connections=100, graceful_timeout=5
    )
    server = Process(log_path.stem, args, env, log_path.parent)
    url = f"http://127.0.0.1:{port}/healthz"
    server.wait_until(lambda: answers(url), f"{url} to answer")
    return server
