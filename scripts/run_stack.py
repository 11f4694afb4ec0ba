"""Run the whole stack in the foreground, the way `make run` does.

Makes sure PostgreSQL and Redis answer (see services.py), migrates, seeds the demo quiz,
then runs every process of the stack (processes.PROCESSES) with its output prefixed by
its name, like honcho or foreman. Ctrl-C or SIGTERM stops them all, and so does any of
them dying, so a broken process is never left unnoticed behind live ones. Servers that
services.py started for this run are stopped too; the exit status is non-zero when a
process died by itself.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
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


class Stack:
    """The running children and the stop requests that arrive by signal."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.relays: list[threading.Thread] = []
        self.signals = 0

    def on_signal(self, signum, frame) -> None:
        self.signals += 1
        if self.signals > 1:
            # A second Ctrl-C means "now": don't wait for graceful shutdowns.
            self.kill_all(signal.SIGKILL)

    def start(self, name: str, command: list[str], width: int) -> None:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            # Its own process group: the terminal's Ctrl-C reaches only us, and we stop
            # the children in order, and can kill whatever a child leaves behind.
            process_group=0,
        )
        thread = threading.Thread(target=relay, args=(name, width, child.stdout), daemon=True)
        thread.start()
        self.children.append((name, child))
        self.relays.append(thread)
        say(f"started {name} (pid {child.pid})")

    def first_dead(self) -> str | None:
        for name, child in self.children:
            if child.poll() is not None:
                return f"{name} exited with status {child.returncode}"
        return None

    def kill_all(self, signum: int) -> None:
        for _, child in self.children:
            try:
                if signum == signal.SIGKILL:
                    os.killpg(child.pid, signum)  # the whole group: workers too
                elif child.poll() is None:
                    child.send_signal(signum)  # the leader shuts its workers down itself
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        self.kill_all(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and any(c.poll() is None for _, c in self.children):
            time.sleep(0.1)
        leftovers = [name for name, child in self.children if child.poll() is None]
        if leftovers:
            say(f"killing {', '.join(leftovers)} after {STOP_TIMEOUT}s")
        self.kill_all(signal.SIGKILL)  # also reaps anything a leader left in its group
        for _, child in self.children:
            child.wait()
        for thread in self.relays:
            thread.join(timeout=2)


def run_setup(env: dict[str, str], port: str) -> bool:
    for command in SETUP:
        say(command)
        if subprocess.run(argv(command, port), env=env, check=False).returncode != 0:
            say(f"`{command}` failed")
            return False
    return True


def main() -> int:
    stack = Stack()
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
    width = max(len(name) for name, _ in processes.PROCESSES)
    for name, _ in processes.PROCESSES:
        stack.start(name, processes.command(name, port, services.RUN_DIR), width)

    announced = False
    died = None
    while not stack.signals and died is None:
        died = stack.first_dead()
        if not announced and web_is_up(port):
            say(f"API on http://127.0.0.1:{port}/api/v1")
            say(f"Swagger UI on http://127.0.0.1:{port}/quiz-api-doc")
            say(f"play on http://127.0.0.1:{port}/play, board on /quizzes/<join code>/board")
            say("press Ctrl-C to stop")
            announced = True
        time.sleep(0.2)

    if died is not None:
        say(f"{died}; stopping the stack")
        return 1
    say("stopping the stack")
    return 0


if __name__ == "__main__":
    sys.exit(main())
