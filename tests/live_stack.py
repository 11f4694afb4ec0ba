"""Processes of the live stack for tests: consumer, web (gunicorn gevent), worker, brokers.

Each is started the way production starts it, as a subprocess with the test's own
database and Redis DB in its environment; its output goes to a log file that failing tests
print. Brokers started here listen on free ports, never on the machine's own services.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

from scripts.processes import (
    ROOT,
    Process,
    RedisServer,
    command,
    free_port,
    pid_alive,
    port_open,
    wait_for,
)
from scripts.rabbitmq_pass import problem
from shared.config import Environment, Settings
from tests.helpers import TEST_HOST_KEY, TEST_SECRET_KEY

# the process helpers live in scripts/processes.py; tests import them from here too
__all__ = [
    "ROOT",
    "Process",
    "RedisServer",
    "RabbitServer",
    "environment",
    "free_port",
    "stack_settings",
    "port_open",
    "start_consumer",
    "start_web",
    "start_worker",
    "wait_for",
]

# what a process of ours reads from the environment: dropped from the caller's, then set
FOREIGN_PREFIXES = ("QUIZ_", "FLOWER_", "SENTRY_", "NEW_RELIC_", "PROMETHEUS_")
FOREIGN_NAMES = {
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "PORT",
    "SOURCE_COMMIT",
}


def stack_settings(database_url: str, redis_url: str, broker_url: str) -> Settings:
    """Settings for a database, Redis DB and broker of a test's own (or `make fuzz`'s)."""
    return replace(
        Settings(),
        env=Environment.TESTING,
        database_url=database_url,
        redis_url=redis_url,
        celery_broker_url=broker_url,
        host_key=TEST_HOST_KEY,
        secret_key=TEST_SECRET_KEY,
        db_pool_size=5,
    )


def environment(settings: Settings, **overrides: object) -> dict[str, str]:
    """The caller's environment without our variables, then the test's settings and `overrides`.

    Nothing leaks in from the caller or a `.env`: a process started with it sees the test's
    database, Redis DB and broker, and defaults for everything else.
    """
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
        QUIZ_DB_POOL_SIZE=str(settings.db_pool_size),
        PYTHONUNBUFFERED="1",
    )
    env.update({name: str(value) for name, value in overrides.items()})
    return env


def start_consumer(settings: Settings, log_dir: Path, **env: object) -> Process:
    consumer = Process(
        "consumer",
        [sys.executable, "-m", "worker.leaderboard", "--loglevel", "INFO"],
        environment(settings, **env),
        log_dir,
    )
    consumer.wait_until(lambda: "leaderboard_consumer.ready" in consumer.log(), "ready")
    return consumer


def start_web(settings: Settings, log_dir: Path, port: int, **env: object) -> Process:
    """One gunicorn worker of the gevent class, as `make run` serves the API and streams."""
    web = Process(
        "web",
        command("web", port, log_dir, workers=1, graceful_timeout=2),
        environment(settings, PORT=port, **env),
        log_dir,
    )
    web.wait_until(lambda: port_open(port), f"listening on {port}")
    return web


def start_worker(
    settings: Settings,
    log_dir: Path,
    *,
    pool: str = "solo",
    concurrency: int = 1,
    beat: bool = False,
    **env: object,
) -> Process:
    """`celery -A worker worker -Q scoring`, with embedded beat when `beat` is set."""
    name = f"worker-{uuid.uuid4().hex[:8]}"
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
        pool,
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
        args += ["-B", "-s", str(log_dir / f"{name}-beat-schedule")]
    worker = Process(name, args, environment(settings, **env), log_dir)
    try:
        worker.wait_until(lambda: " ready." in worker.log(), "ready")
    except AssertionError:
        worker.stop()  # a worker that never got ready must not outlive the test
        raise
    return worker


class RabbitServer:
    """A RabbitMQ node of the test's own (its own name, ports and data directory).

    The server runs as the rabbitmq user, which cannot enter pytest's private tmp_path:
    its directory is made beside it and removed by `cleanup()`.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.dist_port = free_port()
        self.data_dir = Path(tempfile.mkdtemp(prefix="quiz-test-rabbitmq-"))
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self) -> None:
        binary = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"
        if not os.path.exists(binary):
            raise FileNotFoundError("rabbitmq-server")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "enabled_plugins").write_text("[].\n")
        (self.data_dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        if os.geteuid() == 0:
            # the server drops to the rabbitmq user, which must own its directory
            shutil.chown(self.data_dir, "rabbitmq", "rabbitmq")
            for path in self.data_dir.rglob("*"):
                shutil.chown(path, "rabbitmq", "rabbitmq")
        env = dict(
            os.environ,
            RABBITMQ_CONFIG_FILE=str(self.data_dir / "rabbitmq.conf"),
            RABBITMQ_NODENAME=f"quiztest{self.port}@localhost",
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.data_dir / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.data_dir / "log"),
            RABBITMQ_PID_FILE=str(self.data_dir / "pid"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.data_dir / "enabled_plugins"),
            ERL_CRASH_DUMP=str(self.data_dir / "erl_crash.dump"),
        )
        self.process = Process(f"rabbitmq-{self.port}", [binary], env, self.data_dir)
        # an open port is not enough: wait until a client can log in
        self.process.wait_until(lambda: problem(self.url) is None, f"rabbitmq on {self.port}")

    def stop(self) -> None:
        """Stop the node and return only once it is gone, its port closed."""
        if self.process is None:
            return
        vm_pid = self._vm_pid()
        if vm_pid is not None:
            # the Erlang VM runs in a process group of its own, not the launcher's: signal it
            # and wait, or a restart would find the old node still on the port
            with contextlib.suppress(ProcessLookupError):
                os.kill(vm_pid, signal.SIGTERM)
            try:
                wait_for(lambda: not pid_alive(vm_pid), f"rabbitmq pid {vm_pid} to exit")
            except AssertionError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(vm_pid, signal.SIGKILL)
                wait_for(lambda: not pid_alive(vm_pid), f"rabbitmq pid {vm_pid} to die")
        self.process.stop()
        self.process = None
        wait_for(lambda: not port_open(self.port), f"port {self.port} to close")

    def _vm_pid(self) -> int | None:
        try:
            pid = int((self.data_dir / "pid").read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
