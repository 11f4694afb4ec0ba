"""`make run` supervises its processes: one that dies is started again, the rest stay up.

scripts/run_stack.py runs here as `make run` runs it, on the test's database and Redis DB
and ports of its own. Each kind of process is killed in turn (SIGKILL, as a crash): the
log says so, the process comes back, and the API answers throughout. Only SIGTERM stops
the whole stack, with status 0.
"""

from __future__ import annotations

import os
import re
import signal
import sys

import pytest

from scripts.processes import ROOT, pid_alive
from tests.integration.processes import get
from tests.live_stack import Process, environment, free_port, wait_for

pytestmark = pytest.mark.integration

KINDS = ("worker", "leaderboard", "beat", "flower", "web")
RESTART_TIMEOUT_S = 60.0


def pids_of(log: str, name: str) -> list[int]:
    """Every pid the stack reported for `name`, in order (started, then restarted)."""
    return [int(p) for p in re.findall(rf"run: (?:re)?started {name} \(pid (\d+)\)", log)]


def api_answers(port: int) -> bool:
    try:
        return get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    except OSError:
        return False


def test_a_process_that_dies_is_started_again_and_the_rest_stay_up(settings, tmp_path):
    port = free_port()
    env = environment(
        settings,
        PORT=port,
        FLOWER_PORT=free_port(),
        FLOWER_BASIC_AUTH="admin:test-flower-password",
    )
    stack = Process("run", [sys.executable, str(ROOT / "scripts/run_stack.py")], env, tmp_path)
    seen: list[int] = []
    try:
        stack.wait_until(lambda: "run: API on" in stack.log(), "the API up", RESTART_TIMEOUT_S)
        for name in KINDS:
            [*_, pid] = pids_of(stack.log(), name)
            seen.append(pid)
            os.kill(pid, signal.SIGKILL)
            stack.wait_until(
                lambda name=name, pid=pid: pids_of(stack.log(), name)[-1] != pid,
                f"{name} started again",
                RESTART_TIMEOUT_S,
            )
            seen.append(pids_of(stack.log(), name)[-1])
            assert f"{name} exited with status -9; starting it again in 1 s" in stack.log()
            if name != "web":
                assert api_answers(port), f"the API stopped answering when {name} died"
            stack.wait_until(lambda: api_answers(port), f"the API after {name}", RESTART_TIMEOUT_S)
        # every process still runs: the one restarted, and the others
        for name in KINDS:
            assert pid_alive(pids_of(stack.log(), name)[-1]), f"{name} is not running"
        assert stack.stop() == 0
        assert "run: stopping the stack" in stack.log()
        wait_for(lambda: not any(pid_alive(pid) for pid in seen), "every process to stop")
    finally:
        stack.stop()
        for pid in seen:
            if pid_alive(pid):
                os.killpg(pid, signal.SIGKILL)
        print(f"--- run ---\n{stack.tail(120)}")
