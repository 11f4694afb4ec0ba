"""Run the integration tests with RabbitMQ as the Celery broker (`make test-rabbitmq`).

Usage (with the venv's python, PostgreSQL and Redis URLs exported by services.py)::

    python scripts/rabbitmq_pass.py [--if-reachable] [pytest arguments]

The broker is RABBITMQ_URL (default amqp://guest:guest@127.0.0.1:5672//). The run gets a
virtual host of its own (created with rabbitmqctl, removed afterwards), so two runs on one
machine never consume each other's messages; the tests empty its queues before each test.
Without rabbitmqctl (or the right to use it) the URL's own virtual host is used, and the
run says so. With --if-reachable an unreachable RabbitMQ skips the pass with the reason
(exit 0), which is what `make test` does; otherwise it is an error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672//"
CONNECT_TIMEOUT_S = 3
RABBITMQCTL_TIMEOUT_S = 60


def say(message: str) -> None:
    print(f"rabbitmq: {message}", flush=True)


def hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def problem(url: str) -> str | None:
    """Log in to the broker; None when it answers, else why not."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            conn.ensure_connection(max_retries=0)
            conn.default_channel  # noqa: B018  the login happens here
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def rabbitmqctl(*args: str) -> bool:
    command = shutil.which("rabbitmqctl")
    if command is None:
        return False
    try:
        done = subprocess.run(
            [command, *args], capture_output=True, text=True, timeout=RABBITMQCTL_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def with_vhost(url: str, vhost: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + quote(vhost, safe="")))


def own_vhost(url: str) -> str | None:
    """Create a virtual host for this run, open to the URL's user; None when we can't."""
    user = unquote(urlsplit(url).username or "guest")
    vhost = f"quiz-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    if not rabbitmqctl("add_vhost", vhost):
        return None
    if not rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*"):
        rabbitmqctl("delete_vhost", vhost)
        return None
    return vhost


def main(argv: list[str]) -> int:
    if_reachable = "--if-reachable" in argv
    pytest_args = [arg for arg in argv if arg != "--if-reachable"]
    from dotenv import load_dotenv

    load_dotenv(ROOT / ".env", override=False)
    url = os.environ.get("RABBITMQ_URL") or DEFAULT_URL
    why_not = problem(url)
    if why_not is not None:
        message = f"RabbitMQ at {hide_password(url)} is not reachable ({why_not})"
        if if_reachable:
            say(f"{message}: SKIPPED the integration tests on RabbitMQ.")
            return 0
        say(f"{message}: start it or set RABBITMQ_URL.")
        return 1
    vhost = own_vhost(url)
    broker = with_vhost(url, vhost) if vhost else url
    if vhost:
        say(f"running the integration tests on RabbitMQ, virtual host {vhost}")
    else:
        say(
            f"running the integration tests on RabbitMQ at {hide_password(url)} (rabbitmqctl "
            "could not create a virtual host: runs at the same time would share its queues)"
        )
    env = dict(os.environ, TEST_BROKER_URL=broker)
    # the integration tests, unless the arguments name tests themselves
    paths = [] if any(arg.startswith("tests") for arg in pytest_args) else ["tests/integration"]
    try:
        return subprocess.run(
            [sys.executable, "-m", "pytest", *paths, *pytest_args], cwd=ROOT, env=env
        ).returncode
    finally:
        if vhost:
            rabbitmqctl("delete_vhost", vhost)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
