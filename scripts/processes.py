"""The stack's processes, and the helpers that start and stop them.

One table of process commands (`PROCESSES`) for `make run` (scripts/run_stack.py), the
tests and the benchmark, and one way to run a child: `Process`, a subprocess in a
session of its own with its output in a log file. Imports nothing of the project's, so
`scripts/run_stack.py` can load it as a plain module and tests and `bench/` as
`scripts.processes`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0

# One line per long-running process of the stack: name, command. Commands run from the
# venv's bin directory; {port} is the web port, {run} a directory for run state (beat's
# schedule). The Dockerfiles and docker-compose.yml run the same commands.
PROCESSES = [
    (
        "web",
        # gevent: thousands of idle leaderboard streams per worker beside the plain endpoints
        "gunicorn --bind 127.0.0.1:{port} --worker-class gevent --workers 2"
        " --worker-connections 5000 --graceful-timeout 10 web:create_app()",
    ),
    ("worker", "celery -A worker worker -Q scoring --loglevel INFO --concurrency 2"),
    ("beat", "celery -A worker beat --loglevel INFO --schedule {run}/celerybeat-schedule"),
    ("leaderboard", "python -m worker.leaderboard"),  # events -> Redis boards -> live pages
    ("flower", "python -m worker.flower"),  # on $FLOWER_PORT (5555), behind basic auth
]


def command(name: str, port: int | str, run_dir: Path | str, **options: object) -> list[str]:
    """The argv of the stack's process `name`, with its placeholders filled in.

    `options` change the value of a flag the command has (`workers=1` sets `--workers 1`):
    tests run a smaller web, and a flag the table does not have is an error.
    """
    template = dict(PROCESSES)[name]
    # split before formatting, so a path with spaces stays one argument
    words = [word.format(port=port, run=run_dir) for word in template.split()]
    for option, value in options.items():
        flag = "--" + option.replace("_", "-")
        if flag not in words:
            raise ValueError(f"the {name} command has no {flag}")
        words[words.index(flag) + 1] = str(value)
    # the venv's own programs; an absolute command stays as it is
    return [os.path.join(BIN, words[0]), *words[1:]]


# a process that died is started again after 1 s, then 2, 4, … up to 30 s while it keeps
# dying, and at most this many times in any minute
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
RESTARTS_PER_MINUTE = 5


def next_start(restarts: deque[float], now: float) -> float:
    """When a process that died at `now` starts again, given its restarts so far."""
    while restarts and now - restarts[0] >= 60:
        restarts.popleft()
    backoff = min(FIRST_BACKOFF_S * 2 ** len(restarts), MAX_BACKOFF_S)
    at = now + backoff
    if len(restarts) >= RESTARTS_PER_MINUTE:
        at = max(at, restarts[-RESTARTS_PER_MINUTE] + 60)
    return at


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """Whether `pid` runs; a zombie nobody has reaped yet counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T], what: str, timeout: float = START_TIMEOUT_S, interval: float = 0.05
) -> T:
    """Poll until `predicate()` is truthy and return it; fail naming `what` after `timeout`.
    The one polling helper of the scripts, the tests and the bench: a bound, no speed test."""
    deadline = time.monotonic() + timeout
    last = predicate()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
        last = predicate()
    return last


class Process:
    """A subprocess in its own session (so its children stop with it) and its log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "ab")  # closed in stop()
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def wait_until(
        self, predicate: Callable[[], object], what: str, timeout: float = START_TIMEOUT_S
    ) -> None:
        def ready() -> object:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.tail()}"
                )
            return predicate()

        try:
            wait_for(ready, f"{self.name}: {what}", timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.tail()}") from None

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
        status = self.process.wait()
        self._log.close()
        return status

    def json_lines(self) -> list[dict]:
        """The log's JSON lines (the project's structured logs), parsed."""
        return [json.loads(line) for line in self.log().splitlines() if line.startswith("{")]


class RedisServer:
    """A redis-server of the caller's own on a free port: it may be stopped and restarted.

    It keeps nothing on disk, like the machine's own, unless `appendonly` is set: then a
    restart reads back its append-only file (in `log_dir`).
    """

    def __init__(self, log_dir: Path, appendonly: bool = False) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        self.appendonly = appendonly
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise AssertionError("redis-server is not on PATH (apt-get install redis-server)")
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "yes" if self.appendonly else "no", "--dir", str(self.log_dir)]
        self.process = Process(f"redis-{self.port}", args, dict(os.environ), self.log_dir)
        self.process.wait_until(lambda: port_open(self.port), f"redis on {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
