"""Run the whole stack in the foreground, the way `make run` does.

Makes sure PostgreSQL and Redis answer (see services.py), migrates, seeds the demo quiz,
then runs every process of the stack (processes.PROCESSES) with its output prefixed by
its name, like honcho or foreman, and supervises them: a process that dies is started
again (after a backoff that doubles with each death, at most five times a minute:
processes.next_start), and the log says so; the others stay up meanwhile. Only Ctrl-C
or SIGTERM stops them all, and the servers services.py started for this run with them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import processes
import services

# Run once, in order, before the processes start; any failure stops the run.
SETUP = [
    "alembic upgrade head",
    "flask --app web seed-demo",
]

STOP_TIMEOUT = 15  # seconds between SIGTERM and SIGKILL
BIN_DIR = Path(sys.executable).parent

_print_lock = threading.Lock()


def say(message: str) -> None:
    with _print_lock:
        print(f"run: {message}", flush=True)


def argv(command: str, port: str) -> list[str]:
    """A setup command's argv, run from the venv's bin directory."""
    words = [word.format(port=port, run=services.RUN_DIR) for word in command.split()]
    return [os.path.join(BIN_DIR, words[0]), *words[1:]]


def relay(name: str, width: int, stream) -> None:
    """Copy a child's output line by line, prefixed with its name."""
    for line in iter(stream.readline, ""):
        if not line.endswith("\n"):
            line += "\n"  # a last line without one would run into the next prefix
        with _print_lock:
            sys.stdout.write(f"{name:<{width}} | {line}")
            sys.stdout.flush()
    stream.close()


def web_is_up(port: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Child:
    name: str
    command: list[str]
    process: subprocess.Popen | None = None
    # when it was restarted, within the last minute
    restarts: deque[float] = field(default_factory=deque)
    # when it is to be started again after dying (None: it runs)
    restart_at: float | None = None


class Stack:
    """The supervised children and the stop requests that arrive by signal."""

    def __init__(self, width: int = 0) -> None:
        self.children: list[Child] = []
        self.relays: list[threading.Thread] = []
        self.signals = 0
        self.width = width

    def on_signal(self, signum, frame) -> None:
        self.signals += 1
        if self.signals > 1:
            # A second Ctrl-C means "now": don't wait for graceful shutdowns.
            self.kill_all(signal.SIGKILL)

    def start(self, name: str, command: list[str]) -> None:
        child = Child(name, command)
        self.children.append(child)
        self._spawn(child)
        say(f"started {name} (pid {child.process.pid})")

    def _spawn(self, child: Child) -> None:
        process = subprocess.Popen(
            child.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            # Its own process group: the terminal's Ctrl-C reaches only us, and we stop
            # the children in order, and can kill whatever a child leaves behind.
            process_group=0,
        )
        thread = threading.Thread(
            target=relay, args=(child.name, self.width, process.stdout), daemon=True
        )
        thread.start()
        child.process = process
        self.relays.append(thread)

    def supervise(self, now: float) -> None:
        """Notice the children that died; start again those whose backoff is over."""
        for child in self.children:
            if child.restart_at is None and child.process.poll() is not None:
                _kill_group(child.process)  # what a dead leader left behind (its workers)
                child.restart_at = processes.next_start(child.restarts, now)
                say(
                    f"{child.name} exited with status {child.process.returncode}; "
                    f"starting it again in {child.restart_at - now:.0f} s"
                )
            elif child.restart_at is not None and now >= child.restart_at:
                child.restart_at = None
                child.restarts.append(now)
                self._spawn(child)
                say(
                    f"restarted {child.name} (pid {child.process.pid}), "
                    f"{len(child.restarts)} time(s) in the last minute"
                )

    def kill_all(self, signum: int) -> None:
        for child in self.children:
            try:
                if signum == signal.SIGKILL:
                    _kill_group(child.process)  # the whole group: workers too
                elif child.process.poll() is None:
                    child.process.send_signal(signum)  # the leader stops its workers itself
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        self.kill_all(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and any(c.process.poll() is None for c in self.children):
            time.sleep(0.1)
        leftovers = [c.name for c in self.children if c.process.poll() is None]
        if leftovers:
            say(f"killing {', '.join(leftovers)} after {STOP_TIMEOUT}s")
        self.kill_all(signal.SIGKILL)  # also reaps anything a leader left in its group
        for child in self.children:
            child.process.wait()
        for thread in self.relays:
            thread.join(timeout=2)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_setup(env: dict[str, str], port: str) -> bool:
    for command in SETUP:
        say(command)
        if subprocess.run(argv(command, port), env=env, check=False).returncode != 0:
            say(f"`{command}` failed")
            return False
    return True


def main() -> int:
    stack = Stack(width=max(len(name) for name, _ in processes.PROCESSES))
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stack.on_signal)

    try:
        exports, started_services = services.ensure()
    except (services.ServiceError, subprocess.CalledProcessError) as exc:
        print(exc, file=sys.stderr)
        return 1
    os.environ.update(exports)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    port = os.environ.get("PORT") or "8000"

    try:
        return run(stack, env, port)
    finally:
        stack.stop()
        if started_services:
            services.stop(started_services)


def run(stack: Stack, env: dict[str, str], port: str) -> int:
    """Set up, start the processes and watch them; return the exit status."""
    if stack.signals or not run_setup(env, port):
        return 1
    for name, _ in processes.PROCESSES:
        stack.start(name, processes.command(name, port, services.RUN_DIR))

    announced = False
    while not stack.signals:
        stack.supervise(time.monotonic())
        if not announced and web_is_up(port):
            say(f"API on http://127.0.0.1:{port}/api/v1")
            say(f"Swagger UI on http://127.0.0.1:{port}/quiz-api-doc")
            say(f"play on http://127.0.0.1:{port}/play, board on /quizzes/<join code>/board")
            say("press Ctrl-C to stop")
            announced = True
        time.sleep(0.2)

    say("stopping the stack")
    return 0


if __name__ == "__main__":
    sys.exit(main())
