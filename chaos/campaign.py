"""The campaign's servers and stack, one quiz per fault, and the wait for convergence.

A PostgreSQL cluster of its own (made and started with scripts/services.py's code, on a
free port, in the run's directory), so it can be stopped with `-m immediate`; a Redis of
its own (scripts/processes.py), so it can be killed, flushed and restarted; the
processes of `make run` against both (bench/stack.py). Nothing else is touched.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import create_engine, text

from bench import client as http
from bench import scenarios
from bench.stack import FloorStack, ProjectStack, Servers
from chaos.checks import Findings, Row, StoredAnswer, compare
from scripts import services
from scripts.processes import free_port
from shared import redis_keys

# how long a fault's quiz may take to converge once the fault ended; past it, no recovery
CONVERGE_TIMEOUT_S = 120.0
CHECK_EVERY_S = 0.25
# a host call refused while a server is down is tried again for this long
HOST_RETRY_S = 90.0
STATUS_POLL_CONCURRENCY = 32


def progress(message: str) -> None:
    print(f"chaos: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Sizes:
    players: int = 1000
    questions: int = 3
    concurrency: int = 64
    # the fault starts this long into the second question's burst
    fault_delay_s: float = 1.0

    @classmethod
    def quick(cls) -> Sizes:
        return cls(players=200, fault_delay_s=0.3)


class Postgres:
    """A PostgreSQL cluster of the campaign's own, on a free port under its directory."""

    def __init__(self, work_dir: Path) -> None:
        self.cluster = services.Cluster(work_dir / "postgres", free_port())
        self.user = services.pg_user()
        self.bin_dir: Path | None = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.cluster.port}/postgres"

    def create(self) -> None:
        self.bin_dir = services.pick_pg_bin_dir(self.cluster)
        if self.bin_dir is None:
            raise RuntimeError("no PostgreSQL binaries (initdb, pg_ctl) found")
        services.init_cluster(self.bin_dir, self.user, self.cluster)
        self.start()

    def start(self) -> None:
        assert self.bin_dir is not None
        services.start_cluster(self.bin_dir, self.user, self.cluster)

    def stop(self, mode: str = "fast") -> None:
        if self.bin_dir is not None and (self.cluster.data / "postmaster.pid").exists():
            services.stop_cluster(self.bin_dir, self.user, self.cluster, mode)

    def remove(self) -> None:
        self.stop()
        home = self.cluster.home  # the directory outside .run when it is a link
        shutil.rmtree(home, ignore_errors=True)
        if self.cluster.directory.is_symlink():
            self.cluster.directory.unlink()


class Campaign:
    """Everything a fault needs: the servers, the stack, clients of its own."""

    def __init__(self, work_dir: Path, sizes: Sizes) -> None:
        self.work_dir = work_dir
        self.sizes = sizes
        self.postgres = Postgres(work_dir)
        self.servers: Servers | None = None
        self.stack: ProjectStack | None = None
        self.ctx: scenarios.Context | None = None

    def start(self) -> None:
        self.postgres.create()
        self.servers = Servers(self.work_dir, server_url=self.postgres.url)
        self.servers.start()
        # every player of the campaign comes from one address
        self.stack = ProjectStack(self.servers, QUIZ_RATE_LIMITS="off")
        self.stack.start(*ProjectStack.NAMES)
        self.ctx = scenarios.Context(self.stack, FloorStack(self.servers), scenarios.Sizes())
        # the campaign's own reads survive a server restart: checked before each use
        self.engine = create_engine(self.servers.database_url, pool_pre_ping=True)
        self.redis = redis.Redis.from_url(self.servers.redis_url(0), decode_responses=True)
        progress(
            f"PostgreSQL on {self.postgres.cluster.port}, Redis on {self.servers.redis.port}, "
            f"stack on {self.stack.base_url}"
        )

    def stop(self) -> None:
        """Stop whatever was started, each part even when stopping another failed."""
        parts = [self.postgres.remove]
        if self.servers is not None:
            parts.insert(0, self.servers.redis.stop)
        if self.stack is not None:
            parts.insert(0, self.stack.stop)
        if self.ctx is not None:
            parts.insert(0, self.ctx.close)
        for stop in parts:
            try:
                stop()
            except Exception as exc:
                progress(f"stopping: {type(exc).__name__}: {exc}")

    def forget_connections(self) -> None:
        """Drop pooled connections a restarted server closed, before a new quiz."""
        assert self.ctx is not None
        self.ctx.engine.dispose()
        self.ctx.resources.close()
        self.ctx.redis.connection_pool.disconnect()
        self.engine.dispose()
        self.redis.connection_pool.disconnect()

    # --- one fault -----------------------------------------------------------------------

    def run(self, fault: Fault) -> Row:
        assert self.ctx is not None and self.stack is not None
        self.forget_connections()
        progress(f"--- {fault.name}")
        if fault.setup:
            fault.setup(self)
        try:
            row = self._run(fault)
        finally:
            if fault.teardown:
                fault.teardown(self)
        row.notes += self.restart_the_dead(fault.name)
        return row

    def restart_the_dead(self, fault: str) -> list[str]:
        """Processes that died by themselves (a finding), started again for the next fault."""
        assert self.stack is not None
        notes = []
        for name, process in list(self.stack.processes.items()):
            status = process.process.poll()
            if status is not None:
                notes.append(f"{fault}: the {name} process exited by itself ({status})")
                self.stack.stop(name)
        self.stack.start(*ProjectStack.NAMES)
        return notes

    def _run(self, fault: Fault) -> Row:
        ctx, sizes = self.ctx, self.sizes
        assert ctx is not None and self.stack is not None
        quiz = scenarios.seed_quiz(ctx, sizes.players, sizes.questions)
        injected = threading.Event()
        outcome: dict[str, Any] = {}

        def inject() -> None:
            injected.wait()
            time.sleep(sizes.fault_delay_s)
            try:
                progress(f"{fault.name}: injecting")
                fault.inject(self)
            except Exception as exc:
                outcome["error"] = f"{type(exc).__name__}: {exc}"
            outcome["ended_at"] = time.perf_counter()
            progress(f"{fault.name}: the fault is over")

        thread = threading.Thread(target=inject, name="fault", daemon=True)
        if fault.inject is not None:
            thread.start()
        task_ids: list[str] = []
        statuses: Counter[str] = Counter()
        for n, question in enumerate(quiz.questions):
            self.host(quiz, question, "open")
            players = list(quiz.players)
            bodies = scenarios.answer_bodies(ctx, question, len(players))
            keys = None
            if n == 0 and fault.duplicates:
                players, bodies, keys = fault.duplicates(quiz, bodies)
            if n == 1:
                injected.set()
            burst = asyncio.run(
                scenarios.send_burst(
                    self.stack.base_url, quiz.code, players, bodies, sizes.concurrency, keys
                )
            )
            for reply in burst.replies:
                statuses[str(reply.status)] += 1
                if reply.status == 202:
                    task_ids.append(reply.body["task_id"])
            if fault.duplicates:  # no fault to end: recovery counts from the last burst
                outcome["ended_at"] = burst.ended_at
            self.host(quiz, question, "close")
        if fault.inject is not None:
            thread.join()
        ended_at = outcome["ended_at"]
        notes = [f"{fault.name}: {outcome['error']}"] if "error" in outcome else []
        others = {k: v for k, v in statuses.items() if k != "202"}
        if others:
            notes.append(f"{fault.name}: replies other than 202: {others}")
        recovery_s, findings = self.converge(quiz, task_ids, ended_at)
        progress(f"{fault.name}: recovered in {recovery_s} s: {findings}")
        states = asyncio.run(self.task_states(sorted(set(task_ids))))
        findings = compare(task_ids, *self.read(quiz), states)
        unfinal = {s: n for s, n in Counter(states.values()).items() if s != "SUCCESS"}
        if unfinal:
            notes.append(f"{fault.name}: task states other than SUCCESS: {unfinal}")
        return Row(fault.name, findings, recovery_s, notes)

    def host(self, quiz: scenarios.SeededQuiz, question: scenarios.Question, action: str) -> None:
        """A host call, tried again while a server is down (as a host would)."""
        deadline = time.monotonic() + HOST_RETRY_S
        while True:
            try:
                asyncio.run(scenarios.host(self.ctx, quiz, question, action))
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def read(
        self, quiz: scenarios.SeededQuiz
    ) -> tuple[list[StoredAnswer], dict[int, int], dict[str, float]]:
        """The quiz's answers and totals in PostgreSQL, and its board in Redis."""
        with self.engine.connect() as conn:
            answers = [
                StoredAnswer(str(r.task_id), r.participant_id, r.question_id, r.state, r.points)
                for r in conn.execute(
                    text(
                        "SELECT a.task_id, a.participant_id, a.question_id, a.state, a.points "
                        "FROM answers a JOIN participants p ON p.id = a.participant_id "
                        "WHERE p.quiz_id = :q"
                    ),
                    {"q": quiz.quiz_pk},
                )
            ]
            totals = dict(
                conn.execute(
                    text("SELECT id, total_score FROM participants WHERE quiz_id = :q"),
                    {"q": quiz.quiz_pk},
                ).all()
            )
        board = dict(self.redis.zrange(redis_keys.leaderboard(quiz.code), 0, -1, withscores=True))
        return answers, totals, board

    def converge(
        self, quiz: scenarios.SeededQuiz, task_ids: list[str], ended_at: float
    ) -> tuple[float | None, Findings | None]:
        """Seconds from the fault's end until every answer is scored and the board equals
        PostgreSQL (None if that did not happen in time), and what was seen last."""
        deadline = time.perf_counter() + CONVERGE_TIMEOUT_S
        findings = None
        while time.perf_counter() < deadline:
            at = time.perf_counter()
            try:
                findings = compare(task_ids, *self.read(quiz))
            except Exception as exc:  # a server still coming back: look again
                progress(f"checking: {type(exc).__name__}")
            else:
                if findings.clean:
                    return round(at - ended_at, 2), findings
            time.sleep(CHECK_EVERY_S)
        return None, findings

    async def task_states(self, task_ids: list[str]) -> dict[str, str]:
        """Every task's state as the task status API reports it."""
        assert self.stack is not None
        states: dict[str, str] = {}
        async with http.session(STATUS_POLL_CONCURRENCY) as client:

            async def poll(task_id: str) -> None:
                url = f"{self.stack.base_url}/api/v1/tasks/{task_id}"
                reply = await http.call(client, "GET", url)
                ok = reply.status == 200 and isinstance(reply.body, dict)
                states[task_id] = reply.body.get("state", "?") if ok else f"HTTP {reply.status}"

            await http.run_bounded(task_ids, poll, STATUS_POLL_CONCURRENCY)
        return states


Duplicates = Callable[
    [scenarios.SeededQuiz, list[dict[str, int]]],
    tuple[list[tuple[int, str]], list[dict[str, int]], list[str | None]],
]


@dataclass(frozen=True)
class Fault:
    """One row: what is done to the stack during the second question's burst."""

    name: str
    inject: Callable[[Campaign], None] | None = None
    setup: Callable[[Campaign], None] | None = None
    teardown: Callable[[Campaign], None] | None = None
    # instead of a fault: the first question's submissions, with copies
    duplicates: Duplicates | None = None
