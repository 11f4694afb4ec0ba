"""The faults: each is done to the running stack mid-burst, then ended as an operator (or
`make run`'s supervisor, which starts a dead process again after 1 s) would end it."""

from __future__ import annotations

import os
import signal
import time

import redis

from bench import scenarios
from bench.stack import read_proc_stats
from chaos.campaign import Campaign, Fault

# `make run` starts a process that died again after this long (scripts/processes.py)
SUPERVISOR_DELAY_S = 1.0
PG_DOWN_S = 20.0
REDIS_RESTARTS = 10
DUPLICATE_PLAYERS = 10
DUPLICATE_COPIES = 50


def _stack(c: Campaign):
    assert c.stack is not None
    return c.stack


def kill_pool_child(c: Campaign) -> None:
    """SIGKILL the busiest pool child of the Celery worker; its main process forks another."""
    main = _stack(c).processes["worker"].pid
    children = [s for s in read_proc_stats() if s.ppid == main]
    if not children:
        raise RuntimeError("the worker has no pool child")
    os.kill(max(children, key=lambda s: s.cpu_s).pid, signal.SIGKILL)


def restart_after_kill(name: str):
    def fault(c: Campaign) -> None:
        """SIGKILL the process (not its children), then what the supervisor does: kill what
        it left behind and start it again."""
        stack = _stack(c)
        os.kill(stack.processes[name].pid, signal.SIGKILL)
        time.sleep(SUPERVISOR_DELAY_S)
        stack.stop(name)
        stack.start(name)

    return fault


# --- Redis ----------------------------------------------------------------------------------


def _redis_down(c: Campaign, hard: bool) -> None:
    server = c.servers.redis
    assert server.process is not None
    if hard:
        server.process.process.send_signal(signal.SIGKILL)
    else:
        try:
            redis.Redis(port=server.port).shutdown()
        except redis.ConnectionError:
            pass  # the server closes the connection as it goes
    server.process.process.wait()
    server.stop()


def redis_restart(hard: bool, times: int = 1):
    def fault(c: Campaign) -> None:
        for n in range(times):
            _redis_down(c, hard)
            c.servers.redis.start()
            if n + 1 < times:
                time.sleep(0.5)

    return fault


def aof_on(c: Campaign) -> None:
    """Append-only file on, fsync every second; the restart reads it back."""
    client = c.redis
    client.config_set("appendfsync", "everysec")
    client.config_set("appendonly", "yes")
    c.servers.redis.appendonly = True
    deadline = time.monotonic() + 30
    while client.info("persistence").get("aof_rewrite_in_progress"):
        if time.monotonic() > deadline:
            raise RuntimeError("the append-only file was not written within 30 s")
        time.sleep(0.1)


def aof_off(c: Campaign) -> None:
    c.servers.redis.appendonly = False
    c.redis.config_set("appendonly", "no")


def flushdb(c: Campaign) -> None:
    """FLUSHDB on the stack's Redis DB (broker, results, boards): the processes stay up."""
    c.redis.flushdb()


# --- PostgreSQL -----------------------------------------------------------------------------


def postgres_immediate_stop(c: Campaign) -> None:
    """pg_ctl stop -m immediate (no checkpoint, every connection cut), 20 s down, start."""
    c.postgres.stop("immediate")
    time.sleep(PG_DOWN_S)
    c.postgres.start()


# --- identical submissions ------------------------------------------------------------------


def identical_copies(quiz: scenarios.SeededQuiz, bodies: list[dict[str, int]]):
    """The first players each send 50 identical submissions at once (same token, same
    body), half of them with one Idempotency-Key; the other players answer once."""
    players, copies, keys = [], [], []
    for n, player in enumerate(quiz.players):
        count = DUPLICATE_COPIES if n < DUPLICATE_PLAYERS else 1
        for copy in range(count):
            players.append(player)
            copies.append(bodies[n])
            keys.append(f"same-{player[0]}" if count > 1 and copy % 2 else None)
    # copies side by side, so they are in flight together
    return players, copies, keys


FAULTS = [
    Fault("worker pool child SIGKILL", kill_pool_child),
    Fault("worker main SIGKILL, restarted", restart_after_kill("worker")),
    Fault("Redis SHUTDOWN + start, no persistence", redis_restart(hard=False)),
    Fault("Redis SHUTDOWN + start, AOF", redis_restart(hard=False), aof_on, aof_off),
    Fault("Redis SIGKILL + start, AOF everysec", redis_restart(hard=True), aof_on, aof_off),
    Fault("Redis SIGKILL + start, no persistence", redis_restart(hard=True)),
    Fault("Redis restarted 10 times in a row", redis_restart(hard=False, times=REDIS_RESTARTS)),
    Fault("PostgreSQL stop -m immediate, 20 s", postgres_immediate_stop),
    Fault("consumer SIGKILL holding an event", restart_after_kill("leaderboard")),
    Fault("FLUSHDB mid-game", flushdb),
    Fault("50 identical concurrent submissions", duplicates=identical_copies),
]
