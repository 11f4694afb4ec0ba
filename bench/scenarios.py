"""The benchmark's scenarios: each drives a stack and records what it saw.

Players are put in PostgreSQL directly (one INSERT, tokens signed with the stack's secret,
the board rebuilt with the project's own code): joining is not what is measured, and
100,000 joins over HTTP would take longer than the rest together. Everything else goes
through the public HTTP API and the real processes.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import redis
from kombu import Connection
from sqlalchemy import Engine, create_engine, text

from bench import client as http
from bench import figures
from bench.floor import BOARD_KEY, QUEUE
from bench.stack import HOST_KEY, SECRET_KEY, FloorStack, ProjectStack, read_proc_stats, self_cpu_s
from shared import events, redis_keys
from shared.events import LEADERBOARD_QUEUE, leaderboard_update
from shared.leaderboard.ranking import member_of
from shared.leaderboard.rebuild import rebuild_board
from shared.resources import Resources
from shared.tokens import issue_participant_token

# the longest timer the API allows, so a slow burst is never cut off by the question's end
TIME_LIMIT_S = 600
CHOICES = 4
SETTLE_TIMEOUT_S = 900.0
SAMPLE_EVERY_S = 0.1
SEED = 20261201

HOST = {"X-Host-Key": HOST_KEY}


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- quizzes and players -------------------------------------------------------------------


@dataclass
class Question:
    question_id: int
    correct_choice: int
    choices: list[int]


@dataclass
class SeededQuiz:
    code: str
    quiz_pk: int
    questions: list[Question]
    # (participant id, token), in id order
    players: list[tuple[int, str]]


class Context:
    """What every scenario needs: the stacks, the bench's own clients and the sizes."""

    def __init__(self, project: ProjectStack, floor: FloorStack, sizes: Sizes) -> None:
        self.project = project
        self.floor = floor
        self.sizes = sizes
        self.resources = Resources(project.settings)
        self.engine: Engine = create_engine(project.settings.database_url, pool_size=4)
        self.redis = redis.Redis.from_url(project.settings.redis_url, decode_responses=True)
        self.floor_redis = redis.Redis.from_url(floor.redis_url, decode_responses=True)
        self.rng = random.Random(SEED)

    def close(self) -> None:
        self.resources.close()
        self.engine.dispose()
        self.redis.close()
        self.floor_redis.close()


@dataclass(frozen=True)
class Sizes:
    """How big each scenario is: the full run, or `make bench QUICK=1`'s short one."""

    drain_answers: int = 20_000
    burst_players: int = 10_000
    # answers/s of the steady scenario; None: scaled to this machine (steady_rate_for)
    steady_rate: float | None = None
    steady_seconds: float = 60.0
    steady_watched: int = 200
    fanout_clients: int = 10_000
    fanout_rounds: int = 5
    read_players: int = 100_000
    read_seconds: float = 10.0
    read_concurrency: int = 32
    flat_small_players: int = 100
    flat_small_questions: int = 10
    flat_large_players: int = 100_000
    flat_large_answers: int = 5_000
    limit_answers: int = 10_000
    concurrency: int = 64

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            drain_answers=4_000,
            burst_players=2_000,
            steady_seconds=10.0,
            steady_watched=100,
            fanout_clients=1_000,
            fanout_rounds=3,
            read_seconds=3.0,
            flat_small_questions=5,
            flat_large_players=20_000,
            flat_large_answers=1_000,
            limit_answers=2_000,
        )


async def create_quiz(base_url: str, questions: int) -> dict[str, Any]:
    body = {
        "title": "Benchmark",
        "questions": [
            {
                "text": f"Benchmark question {n}",
                "time_limit_s": TIME_LIMIT_S,
                "choices": [{"text": f"choice {c}", "correct": c == 0} for c in range(CHOICES)],
            }
            for n in range(1, questions + 1)
        ],
    }
    async with http.session(4) as client:
        reply = await http.call(
            client, "POST", f"{base_url}/api/v1/quizzes", payload=body, headers=HOST
        )
    if reply.status != 201:
        raise RuntimeError(f"creating the quiz answered {reply.status}: {reply.body}")
    return reply.body


def seed_quiz(ctx: Context, players: int, questions: int = 1) -> SeededQuiz:
    """A quiz made through the API, with `players` put in PostgreSQL and on the board."""
    quiz = asyncio.run(create_quiz(ctx.project.base_url, questions))
    code = quiz["quiz_id"]
    with ctx.engine.begin() as conn:
        quiz_pk = conn.execute(text("SELECT id FROM quizzes WHERE code = :c"), {"c": code}).scalar()
        ids = conn.execute(
            text(
                "INSERT INTO participants (quiz_id, display_name, total_score) "
                "SELECT :q, 'Player ' || g, 0 FROM generate_series(1, :n) g RETURNING id"
            ),
            {"q": quiz_pk, "n": players},
        ).scalars()
        ids = sorted(ids)
    with ctx.resources.session_factory() as session:
        rebuild_board(session, ctx.resources.redis, code)
    tokens = [(pid, issue_participant_token(SECRET_KEY, code, pid)) for pid in ids]
    made = []
    for q in quiz["questions"]:
        choices = [c["choice_id"] for c in q["choices"]]
        correct = next(c["choice_id"] for c in q["choices"] if c["correct"])
        made.append(Question(q["question_id"], correct, choices))
    return SeededQuiz(code, quiz_pk, made, tokens)


async def host(ctx: Context, quiz: SeededQuiz, question: Question, action: str) -> None:
    url = (
        f"{ctx.project.base_url}/api/v1/quizzes/{quiz.code}/questions/"
        f"{question.question_id}/{action}"
    )
    async with http.session(2) as client:
        reply = await http.call(client, "POST", url, headers=HOST)
    if reply.status != 200:
        raise RuntimeError(f"{action} answered {reply.status}: {reply.body}")


def answer_bodies(
    ctx: Context, question: Question, count: int, always_right: set[int] = frozenset()
) -> list[dict[str, int]]:
    """One body per player; a quarter of the players pick right, as chance would."""
    return [
        {
            "question_id": question.question_id,
            "choice_id": question.correct_choice
            if n in always_right
            else ctx.rng.choice(question.choices),
        }
        for n in range(count)
    ]


@dataclass
class Burst:
    replies: list[http.Reply] = field(default_factory=list)
    started_at: float = 0.0
    ended_at: float = 0.0

    @property
    def accepted(self) -> int:
        return sum(1 for r in self.replies if r.status == 202)

    @property
    def errors(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for reply in self.replies:
            if reply.status != 202:
                counts[str(reply.status)] = counts.get(str(reply.status), 0) + 1
        return counts

    @property
    def wall_s(self) -> float:
        return self.ended_at - self.started_at

    @property
    def last_202_at(self) -> float:
        return max((r.received_at for r in self.replies if r.status == 202), default=0.0)

    @classmethod
    def joined(cls, bursts: list[Burst]) -> Burst:
        """Bursts sent one after another, as one: their answers over the sum of their times."""
        return cls(
            replies=[reply for burst in bursts for reply in burst.replies],
            ended_at=sum(burst.wall_s for burst in bursts),
        )

    def summary(self) -> dict[str, Any]:
        return {
            "sent": len(self.replies),
            "accepted": self.accepted,
            "errors": self.errors,
            "wall_s": round(self.wall_s, 3),
            "accepted_per_s": figures.rate(self.accepted, self.wall_s),
            "latency_ms": figures.latency_summary_ms([r.latency_s for r in self.replies]),
        }


async def send_burst(
    base_url: str,
    code: str,
    players: list[tuple[int, str]],
    bodies: list[dict[str, int]],
    concurrency: int,
    keys: list[str | None] | None = None,
) -> Burst:
    """Every player's answer, as fast as the API takes them, `concurrency` in flight;
    `keys[n]`, when given, is the n-th submission's Idempotency-Key."""
    burst = Burst(replies=[None] * len(players))  # type: ignore[list-item]
    url = f"{base_url}/api/v1/quizzes/{code}/answers"
    async with http.session(concurrency) as client:

        async def submit(n: int) -> None:
            _, token = players[n]
            headers = {"Authorization": f"Bearer {token}"}
            if keys and keys[n]:
                headers["Idempotency-Key"] = keys[n]
            burst.replies[n] = await http.call(
                client, "POST", url, payload=bodies[n], headers=headers
            )

        burst.started_at = time.perf_counter()
        await http.run_bounded(range(len(players)), submit, concurrency)
        burst.ended_at = time.perf_counter()
    return burst


# --- watching the database and the board ------------------------------------------------

_BOARD_SUM = """
local total = 0
local flat = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 2, #flat, 2 do total = total + tonumber(flat[i]) end
return tostring(total)
"""


@dataclass(frozen=True)
class Sample:
    at: float
    waiting: int
    db_total: int
    board_total: int | None


class Watcher:
    """Samples a quiz's answers in PostgreSQL and its board in Redis, in a thread.

    Board totals only rise to the database's (ZADD GT of committed totals), so once the
    sums are equal every player's board total equals their database total; `settled`
    then checks that player by player.
    """

    def __init__(self, ctx: Context, quiz: SeededQuiz, every_s: float = SAMPLE_EVERY_S) -> None:
        self.ctx = ctx
        self.quiz = quiz
        self.every_s = every_s
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._board_sum = ctx.redis.register_script(_BOARD_SUM)
        self.board_key = redis_keys.leaderboard(quiz.code)
        # read the board only once nothing waits (a 100,000-player sum is not free)
        self.board_always = False

    def sample(self) -> Sample:
        # answers waiting: the partial index of accepted answers (one quiz runs at a time)
        started = time.perf_counter()
        with self.ctx.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM answers WHERE state = 'accepted') AS waiting, "
                    "(SELECT coalesce(sum(total_score), 0) FROM participants "
                    " WHERE quiz_id = :q) AS total"
                ),
                {"q": self.quiz.quiz_pk},
            ).one()
        board = None
        if self.board_always or row.waiting == 0:
            board = int(float(self._board_sum(keys=[self.board_key])))
        # stamped with its start: it saw at least what had committed by then
        return Sample(started, row.waiting, int(row.total), board)

    def start(self) -> None:
        def run() -> None:
            while not self._stop.is_set():
                self.samples.append(self.sample())
                self._stop.wait(self.every_s)

        self._thread = threading.Thread(target=run, name="watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def wait_settled(self, after: float, timeout: float = SETTLE_TIMEOUT_S) -> float:
        """The first moment past `after` (the last 202) when no answer waited and the board
        equalled the database (perf_counter)."""
        deadline = time.perf_counter() + timeout
        seen = 0
        while time.perf_counter() < deadline:
            for sample in self.samples[seen:]:
                if (
                    sample.at >= after
                    and sample.waiting == 0
                    and sample.board_total == sample.db_total
                ):
                    return sample.at
            seen = len(self.samples)
            time.sleep(self.every_s / 2)
        raise RuntimeError(f"the board did not settle within {timeout:.0f} s")

    def board_equals_database(self) -> bool:
        """Player by player: the board's total is the database's."""
        with self.ctx.engine.connect() as conn:
            db = dict(
                conn.execute(
                    text("SELECT id, total_score FROM participants WHERE quiz_id = :q"),
                    {"q": self.quiz.quiz_pk},
                ).all()
            )
        flat = self.ctx.redis.zrange(self.board_key, 0, -1, withscores=True)
        on_board = dict(flat)
        return all(on_board.get(member_of(pid)) == float(total) for pid, total in db.items())


class CpuWindow:
    """CPU of every process of the stack (and the load generator's, apart) over a phase."""

    def __init__(self, stack: ProjectStack | FloorStack) -> None:
        self.stack = stack
        self.before = stack.cpu_by_kind(read_proc_stats())
        self.bench_before = self_cpu_s()
        self.started = time.perf_counter()

    def close(self) -> dict[str, Any]:
        after = self.stack.cpu_by_kind(read_proc_stats())
        cpu = {k: after.get(k, 0.0) - self.before.get(k, 0.0) for k in after}
        return {
            "wall_s": time.perf_counter() - self.started,
            "cpu_s": cpu,
            "load_generator_cpu_s": self_cpu_s() - self.bench_before,
        }


def per_answer(window: dict[str, Any], answers: int) -> dict[str, float]:
    return figures.cpu_per_answer_ms(window["cpu_s"], answers)


# --- the scenarios ----------------------------------------------------------------------------


# Throughput ratios come from rounds of the project and its floor in turn: on a shared
# machine the speed drifts by a fifth within minutes (the same API took 698 and 904
# answers/s in one run), and taking turns puts both figures in the same minutes.
ROUNDS = 4


def floor_burst(ctx: Context, n: int) -> Burst:
    """N answers to the floor app (its web running), as fast as it takes them."""
    players = [(i, "floor") for i in range(n)]
    bodies = [{"question_id": 1, "choice_id": ctx.rng.randrange(4)} for _ in range(n)]
    return asyncio.run(
        send_burst(ctx.floor.base_url, "FLOOR", players, bodies, ctx.sizes.concurrency)
    )


def floor_accept_and_drain(ctx: Context) -> dict[str, Any]:
    """The floor app takes N answers with no worker; then a worker drains the no-op tasks."""
    n = ctx.sizes.drain_answers
    floor = ctx.floor
    floor.start("web")
    window = CpuWindow(floor)
    burst = floor_burst(ctx, n)
    accept_cpu = window.close()
    progress(f"floor: {burst.accepted} accepted at {burst.summary()['accepted_per_s']:.0f}/s")
    queued = ctx.floor_redis.llen(QUEUE)
    window = CpuWindow(floor)
    started = time.perf_counter()
    floor.start("worker")
    ready = time.perf_counter()
    while ctx.floor_redis.llen(QUEUE) or ctx.floor_redis.hlen("unacked"):
        time.sleep(0.02)
    done = time.perf_counter()
    drain_cpu = window.close()
    floor.stop()
    progress(f"floor: {queued} no-op tasks drained in {done - started:.2f} s")
    return {
        "accept": burst.summary(),
        "accept_cpu_ms_per_answer": per_answer(accept_cpu, max(burst.accepted, 1)),
        "drain": {
            "tasks": queued,
            "from_start_s": round(done - started, 3),
            "from_ready_s": round(done - ready, 3),
            # the drain rate: from the worker's "ready" (its start-up is not draining)
            "per_s": figures.rate(queued, done - ready),
            "per_s_with_start": figures.rate(queued, done - started),
            "cpu_ms_per_task": per_answer(drain_cpu, max(queued, 1)),
        },
    }


def accept_alone(ctx: Context, n: int) -> tuple[SeededQuiz, Question, Burst, dict[str, Any]]:
    """N players of a new quiz answer its open question, each once, with the workers
    stopped: the API's own throughput and CPU."""
    stack = ctx.project
    stack.stop("worker", "beat")
    quiz = seed_quiz(ctx, n)
    question = quiz.questions[0]
    asyncio.run(host(ctx, quiz, question, "open"))
    bodies = answer_bodies(ctx, question, n)
    window = CpuWindow(stack)
    burst = asyncio.run(
        send_burst(stack.base_url, quiz.code, quiz.players, bodies, ctx.sizes.concurrency)
    )
    return quiz, question, burst, window.close()


def project_accept_and_drain(ctx: Context) -> dict[str, Any]:
    """The project takes N answers with its workers stopped, in rounds taking turns with
    the floor app; then the workers score them."""
    stack = ctx.project
    n = ctx.sizes.drain_answers
    stack.stop("worker", "beat")
    quiz = seed_quiz(ctx, n)
    question = quiz.questions[0]
    asyncio.run(host(ctx, quiz, question, "open"))
    bodies = answer_bodies(ctx, question, n)
    ours: list[Burst] = []
    floors: list[Burst] = []
    cpu: dict[str, float] = {}
    ctx.floor.start("web")
    try:
        for part in (range(n)[r::ROUNDS] for r in range(ROUNDS)):
            floors.append(floor_burst(ctx, len(part)))
            window = CpuWindow(stack)
            ours.append(
                asyncio.run(
                    send_burst(
                        stack.base_url,
                        quiz.code,
                        [quiz.players[i] for i in part],
                        [bodies[i] for i in part],
                        ctx.sizes.concurrency,
                    )
                )
            )
            for kind, seconds in window.close()["cpu_s"].items():
                cpu[kind] = cpu.get(kind, 0.0) + seconds
    finally:
        ctx.floor.stop()
        ctx.floor_redis.delete(QUEUE)  # the floor's no-op tasks of these rounds
    burst = Burst.joined(ours)
    floor = Burst.joined(floors)
    accept_cpu = {"cpu_s": cpu}
    progress(
        f"project, workers stopped: {burst.accepted} accepted at "
        f"{burst.summary()['accepted_per_s']:.0f}/s, the floor in turn at "
        f"{floor.summary()['accepted_per_s']:.0f}/s"
    )
    asyncio.run(host(ctx, quiz, question, "close"))
    watcher = Watcher(ctx, quiz)
    window = CpuWindow(stack)
    started = time.perf_counter()
    stack.start("worker")
    ready = time.perf_counter()
    watcher.start()
    try:
        done = watcher.wait_settled(started)
    finally:
        watcher.stop()
    drain_cpu = window.close()
    stack.start("beat")
    equal = watcher.board_equals_database()
    progress(f"project: {burst.accepted} answers scored and on the board in {done - started:.2f} s")
    return {
        "accept": burst.summary(),
        "floor_accept": floor.summary(),
        "accept_cpu_ms_per_answer": per_answer(accept_cpu, max(burst.accepted, 1)),
        "drain": {
            "answers": burst.accepted,
            "from_start_s": round(done - started, 3),
            "from_ready_s": round(done - ready, 3),
            "per_s": figures.rate(burst.accepted, done - ready),
            "per_s_with_start": figures.rate(burst.accepted, done - started),
            "cpu_ms_per_answer": per_answer(drain_cpu, max(burst.accepted, 1)),
            "board_equals_database": equal,
        },
    }


def rate_limit_cost(ctx: Context, rounds: int = 2) -> dict[str, Any]:
    """The API's own cost (workers stopped) with the rate limits off and on (defaults),
    alternating, so drift on a shared machine falls on both: what counting each answer
    per player in Redis costs. Each answer is another player's, so no limit is reached;
    joins are not measured (players are seeded)."""
    n = ctx.sizes.limit_answers
    stack = ctx.project
    runs: dict[str, list[tuple[Burst, dict[str, Any]]]] = {"off": [], "on": []}
    try:
        for _ in range(rounds):
            for switch, done in runs.items():
                stack.extra_env["QUIZ_RATE_LIMITS"] = switch
                stack.stop("web")
                stack.start("web")
                quiz, question, sent, cpu = accept_alone(ctx, n)
                done.append((sent, cpu))
                asyncio.run(host(ctx, quiz, question, "close"))
                progress(f"rate limits {switch}: {sent.accepted} accepted, {sent.errors} errors")
    finally:
        stack.extra_env.pop("QUIZ_RATE_LIMITS", None)
        stack.stop("web")
        stack.start("web", "worker", "beat")
    measured: dict[str, Any] = {}
    for switch, done in runs.items():
        accepted = sum(sent.accepted for sent, _ in done)
        cpu: dict[str, float] = {}
        for _, window in done:
            for kind, seconds in window["cpu_s"].items():
                cpu[kind] = cpu.get(kind, 0.0) + seconds
        measured[switch] = {
            "accepted": accepted,
            "errors": sum(sum(sent.errors.values()) for sent, _ in done),
            "accepted_per_s": figures.rate(accepted, sum(sent.wall_s for sent, _ in done)),
            "p99_ms": max(sent.summary()["latency_ms"]["p99"] for sent, _ in done),
            "cpu_ms_per_answer": figures.cpu_per_answer_ms(cpu, max(accepted, 1)),
        }
    off, on = measured["off"], measured["on"]
    measured["accept_ratio"] = figures.ratio(on["accepted_per_s"], off["accepted_per_s"])
    measured["cpu_ms_added"] = round(
        on["cpu_ms_per_answer"]["total"] - off["cpu_ms_per_answer"]["total"], 3
    )
    return measured


def burst(ctx: Context) -> dict[str, Any]:
    """N players answer one question with every process running; how long until the board
    equals PostgreSQL after the last 202, and what it cost."""
    n = ctx.sizes.burst_players
    stack = ctx.project
    quiz = seed_quiz(ctx, n)
    question = quiz.questions[0]
    asyncio.run(host(ctx, quiz, question, "open"))
    bodies = answer_bodies(ctx, question, n)
    # the floor takes as many answers just before, so both rates are of the same minutes
    ctx.floor.start("web")
    try:
        floor = floor_burst(ctx, n)
    finally:
        ctx.floor.stop()
        ctx.floor_redis.delete(QUEUE)
    watcher = Watcher(ctx, quiz)
    watcher.board_always = True
    watcher.start()
    window = CpuWindow(stack)
    try:
        sent = asyncio.run(
            send_burst(stack.base_url, quiz.code, quiz.players, bodies, ctx.sizes.concurrency)
        )
        settled = watcher.wait_settled(sent.last_202_at)
        cpu = window.close()
    finally:
        watcher.stop()
    asyncio.run(host(ctx, quiz, question, "close"))
    equal = watcher.board_equals_database()
    lag_s = settled - sent.last_202_at
    progress(f"burst: {sent.accepted} accepted; board equal to the database {lag_s:.2f} s after")
    origin = sent.started_at
    samples = [
        (s.at - origin, s.db_total, s.board_total)
        for s in watcher.samples
        if s.board_total is not None
    ]
    return {
        "players": n,
        "submit": sent.summary(),
        "floor_accept": floor.summary(),
        "lag_after_last_202_s": round(lag_s, 3),
        "board_equals_database": equal,
        "cpu_ms_per_answer": per_answer(cpu, max(sent.accepted, 1)),
        "load_generator_cpu_ms_per_answer": cpu["load_generator_cpu_s"] * 1000 / max(n, 1),
        "timeline": {
            "submit_latency_ms": figures.binned_latency(
                [(r.sent_at - origin, r.latency_s * 1000) for r in sent.replies], 0.25
            ),
            "board_lag": [(round(t, 3), round(lag, 3)) for t, lag in figures.lag_behind(samples)],
            "last_202_s": round(sent.last_202_at - origin, 3),
            "settled_s": round(settled - origin, 3),
        },
    }


async def follow_stream(
    client: aiohttp.ClientSession,
    url: str,
    ready: asyncio.Event,
    errors: list[str],
    on_data: Callable[[bytes], None],
) -> None:
    """Follow one SSE stream until cancelled, handing each `data:` line to `on_data`;
    `ready` is set at the first one (the snapshot) or when the stream fails."""
    try:
        async with client.get(url, headers={"Accept": "text/event-stream"}) as response:
            if response.status != 200:
                errors.append(str(response.status))
                ready.set()
                return
            # whole chunks, split here: thousands of streams iterated line by line would
            # time the load generator's event loop rather than the server
            pending = b""
            async for chunk in response.content.iter_any():
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    if line.startswith(b"data:"):
                        ready.set()
                        on_data(line)
    except (aiohttp.ClientError, TimeoutError) as exc:
        errors.append(type(exc).__name__)
        ready.set()


# The steady scenario's 300 answers/s was set where the floor app took 1,772 answers/s
# (the issue's measurement): the same share of this machine's floor is the same load.
TARGET_STEADY_RATE = 300.0
TARGET_FLOOR_ACCEPT_PER_S = 1772.0


def steady_rate_for(sizes: Sizes, floor_accept_per_s: float | None) -> float:
    """The steady scenario's rate: as asked, else 300/s scaled by this machine's floor."""
    if sizes.steady_rate is not None:
        return sizes.steady_rate
    return figures.scaled(TARGET_STEADY_RATE, floor_accept_per_s, TARGET_FLOOR_ACCEPT_PER_S)


def steady_latency(ctx: Context, rate: float) -> dict[str, Any]:
    """Answers at a steady rate; players with a stream open note when their new total
    reaches them: answer sent -> total seen."""
    sizes = ctx.sizes
    n = int(rate * sizes.steady_seconds)
    quiz = seed_quiz(ctx, n)
    question = quiz.questions[0]
    step = max(n // sizes.steady_watched, 1)
    watched = {i for i in range(0, n, step)}
    bodies = answer_bodies(ctx, question, n, always_right=watched)

    async def drive() -> dict[str, Any]:
        seen: dict[str, float] = {}
        sent: dict[str, float] = {}
        errors: list[str] = []
        base = ctx.project.base_url
        async with http.stream_session() as streams:
            readies = []
            tasks = []
            for i in sorted(watched):
                pid = quiz.players[i][0]
                url = (
                    f"{base}/api/v1/quizzes/{quiz.code}/leaderboard/stream"
                    f"?limit=1&participant_id={pid}"
                )
                ready = asyncio.Event()
                readies.append(ready)

                def own_score(raw: bytes, key: str = str(i)) -> None:
                    # the player's own row: the first time it shows points, the answer arrived
                    if key not in seen and b'"me"' in raw:
                        me = json.loads(raw[5:]).get("me") or {}
                        if me.get("score", 0) > 0:
                            seen[key] = time.perf_counter()

                tasks.append(
                    asyncio.create_task(follow_stream(streams, url, ready, errors, own_score))
                )
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
            await host(ctx, quiz, question, "open")
            url = f"{base}/api/v1/quizzes/{quiz.code}/answers"
            replies: list[http.Reply] = []
            async with http.session(256) as client:

                async def submit(i: int) -> None:
                    if i in watched:
                        sent[str(i)] = time.perf_counter()
                    reply = await http.call(
                        client,
                        "POST",
                        url,
                        payload=bodies[i],
                        headers={"Authorization": f"Bearer {quiz.players[i][1]}"},
                    )
                    replies.append(reply)

                started = time.perf_counter()
                await http.run_paced(range(n), submit, rate)
                sending_s = time.perf_counter() - started
            deadline = time.perf_counter() + 60
            while len(seen) < len(watched) and time.perf_counter() < deadline and not errors:
                await asyncio.sleep(0.05)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await host(ctx, quiz, question, "close")
        latencies = [seen[k] - sent[k] for k in seen if k in sent]
        return {
            "rate_per_s": rate,
            "answers": n,
            "sending_s": round(sending_s, 3),
            "achieved_per_s": figures.rate(n, sending_s),
            "watched": len(watched),
            "seen": len(latencies),
            "stream_errors": len(errors),
            "latency_ms": figures.latency_summary_ms(latencies),
            "submit_errors": sum(1 for r in replies if r.status != 202),
        }

    result = asyncio.run(drive())
    lat = result["latency_ms"]
    progress(f"steady {rate:.0f}/s: answer -> stream p50 {lat['p50']} ms")
    # the next scenario starts on a quiet stack: whatever is still queued drains first
    watcher = Watcher(ctx, quiz)
    last_sent = time.perf_counter()
    watcher.start()
    try:
        result["drained_after_s"] = round(watcher.wait_settled(last_sent) - last_sent, 3)
    finally:
        watcher.stop()
    return result


def fanout(ctx: Context, publish: Callable[[str, int, str, int], None]) -> dict[str, Any]:
    """K idle stream clients on the web processes; a new top score is committed and its
    event published as the scorer publishes it; the time until each client shows it."""
    k = ctx.sizes.fanout_clients
    quiz = seed_quiz(ctx, 1000)
    path = f"/api/v1/quizzes/{quiz.code}/leaderboard/stream?limit=10"

    async def drive() -> dict[str, Any]:
        errors: list[str] = []
        # each round's new top score, and the two ways it can end in an event's JSON
        targets: dict[int, tuple[bytes, bytes]] = {}
        seen_by: list[dict[int, float]] = [{} for _ in range(k)]
        sightings: Counter[int] = Counter()
        readies = [asyncio.Event() for _ in range(k)]
        streams: list[http.RawStream | None] = []
        for n in range(k):

            def top_score(raw: bytes, seen: dict[int, float] = seen_by[n]) -> None:
                # a substring test: 10,000 clients parsing JSON would time the load generator
                for score, needles in targets.items():
                    if score not in seen and (needles[0] in raw or needles[1] in raw):
                        seen[score] = time.perf_counter()
                        sightings[score] += 1

            streams.append(
                await http.open_raw_stream(
                    "127.0.0.1", ctx.project.port, path, top_score, readies[n], errors
                )
            )
            if n % 200 == 199:
                await asyncio.sleep(0.05)  # let the server accept: no SYN flood
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
        connected = k - len(errors)
        progress(f"fan-out: {connected} of {k} streams open")
        per_round: list[float] = []
        delays: list[float] = []
        top = 1_000_000
        for round_no in range(ctx.sizes.fanout_rounds + 1):
            top += 1000 + round_no
            targets[top] = (b'"score":%d}' % top, b'"score":%d,' % top)
            pid, _ = quiz.players[round_no % len(quiz.players)]
            published = time.perf_counter()
            await asyncio.to_thread(publish, quiz.code, quiz.quiz_pk, str(pid), top)
            deadline = time.perf_counter() + 30
            while time.perf_counter() < deadline:
                if sightings[top] >= connected - len(errors):
                    break
                await asyncio.sleep(0.01)
            got = [s[top] - published for s in seen_by if top in s]
            if round_no > 0:  # the first round warms the path up
                delays.extend(got)
                per_round.append(figures.percentile(got, 99) or float("nan"))
            missing = connected - len(got)
            if missing:
                errors.append(f"{missing} clients never showed round {round_no}")
            await asyncio.sleep(1.0)
        for stream in streams:
            if stream is not None:
                stream.close()
        return {
            "clients": k,
            "connected": connected,
            "errors": len(errors),
            "error_examples": sorted(set(errors))[:5],
            "rounds": ctx.sizes.fanout_rounds,
            "delay_ms": figures.latency_summary_ms(delays),
            "worst_round_p99_ms": round(max(per_round) * 1000, 1) if per_round else None,
        }

    result = asyncio.run(drive())
    progress(f"fan-out to {k}: p99 {result['delay_ms']['p99']} ms, errors {result['errors']}")
    return result


async def _reads(url: str, ids: list[int], seconds: float, concurrency: int, around: bool):
    rng = random.Random(2)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def reader(client: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            params = {"limit": "10"}
            if around:
                params["participant_id"] = str(rng.choice(ids))
            started = time.perf_counter()
            try:
                async with client.get(url, params=params) as response:
                    await response.read()
                    ok = response.status == 200
            except (TimeoutError, aiohttp.ClientError):
                ok = False
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    async with http.session(concurrency) as client:
        started = time.perf_counter()
        await asyncio.gather(*(reader(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"reads": len(latencies), "elapsed_s": elapsed, "latencies": latencies, "errors": errors}


def reads(ctx: Context) -> dict[str, Any]:
    """GET …/leaderboard of a big board (top 10, and around a random player) against a bare
    Flask view that returns one Redis GET, in rounds taking turns."""
    sizes = ctx.sizes
    quiz = seed_quiz(ctx, sizes.read_players)
    with ctx.engine.begin() as conn:
        conn.execute(
            text("UPDATE participants SET total_score = (id * 7919) % 30000 WHERE quiz_id = :q"),
            {"q": quiz.quiz_pk},
        )
    with ctx.resources.session_factory() as session:
        rebuild_board(session, ctx.resources.redis, quiz.code)
    ids = [pid for pid, _ in quiz.players]
    url = f"{ctx.project.base_url}/api/v1/quizzes/{quiz.code}/leaderboard"
    # the floor serves the same top-10 body, stored under one key
    with urllib.request.urlopen(f"{url}?limit=10", timeout=10) as response:
        ctx.floor_redis.set(BOARD_KEY, response.read())
    floor_url = f"{ctx.floor.base_url}/api/v1/quizzes/{quiz.code}/leaderboard"
    seconds = sizes.read_seconds / ROUNDS
    runs: dict[str, list[dict[str, Any]]] = {"floor": [], "top": [], "around": []}
    ctx.floor.start("web")
    try:
        for _ in range(ROUNDS):
            for name, done in runs.items():
                target = floor_url if name == "floor" else url
                done.append(
                    asyncio.run(
                        _reads(target, ids, seconds, sizes.read_concurrency, name == "around")
                    )
                )
    finally:
        ctx.floor.stop()
    measured = {name: _joined_reads(done) for name, done in runs.items()}
    progress(
        f"reads of {len(ids)}: top {measured['top']['per_s']:.0f}/s, around "
        f"{measured['around']['per_s']:.0f}/s, floor {measured['floor']['per_s']:.0f}/s"
    )
    return {"players": len(ids), "rounds": ROUNDS, **measured}


def _joined_reads(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Rounds of reads as one: their reads over the sum of their times."""
    reads = sum(run["reads"] for run in runs)
    latencies = [latency for run in runs for latency in run["latencies"]]
    return {
        "per_s": figures.rate(reads, sum(run["elapsed_s"] for run in runs)),
        "latency_ms": figures.latency_summary_ms(latencies),
        "errors": sum(run["errors"] for run in runs),
    }


def wait_drained(ctx: Context, timeout: float = SETTLE_TIMEOUT_S) -> None:
    """Until every answer is scored and every leaderboard event applied and acknowledged,
    by queries whose cost does not grow with a quiz (unlike the Watcher's sums)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with ctx.engine.connect() as conn:
            # the partial index of accepted answers: what the workers still owe
            waiting = conn.execute(
                text("SELECT count(*) FROM answers WHERE state = 'accepted'")
            ).scalar()
        # on the Redis broker: messages queued, and those delivered but not acknowledged
        if not waiting and not ctx.redis.llen(LEADERBOARD_QUEUE) and not ctx.redis.hlen("unacked"):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the answers were not scored and applied within {timeout:.0f} s")


def flat_cost(ctx: Context) -> dict[str, Any]:
    """CPU per answer in a small quiz and in a big one, in rounds taking turns (a round of
    each: some of the small quiz's questions, a part of the big one's answers, each until
    its answers are scored and applied to the board), and beyond what the idle stack burns
    meanwhile: background work (beat, heartbeats, polls) costs per second, not per answer,
    and ten questions of a small quiz take longer per answer than one burst."""
    sizes = ctx.sizes
    stack = ctx.project
    idle = idle_cpu(ctx)
    small = seed_quiz(ctx, sizes.flat_small_players, sizes.flat_small_questions)
    large = seed_quiz(ctx, sizes.flat_large_players)
    answering = large.players[: sizes.flat_large_answers]
    large_question = large.questions[0]
    large_bodies = answer_bodies(ctx, large_question, len(answering))
    spent = {name: {"answers": 0, "wall_s": 0.0, "cpu_s": {}} for name in ("small", "large")}

    def one_round(name: str, r: int) -> None:
        window = CpuWindow(stack)
        sent_answers = 0
        if name == "small":
            for question in small.questions[r::ROUNDS]:
                asyncio.run(host(ctx, small, question, "open"))
                bodies = answer_bodies(ctx, question, len(small.players))
                sent = asyncio.run(
                    send_burst(stack.base_url, small.code, small.players, bodies, sizes.concurrency)
                )
                sent_answers += sent.accepted
                asyncio.run(host(ctx, small, question, "close"))
        else:
            part = range(len(answering))[r::ROUNDS]
            sent = asyncio.run(
                send_burst(
                    stack.base_url,
                    large.code,
                    [answering[i] for i in part],
                    [large_bodies[i] for i in part],
                    sizes.concurrency,
                )
            )
            sent_answers += sent.accepted
        wait_drained(ctx)
        cpu = window.close()
        totals = spent[name]
        totals["answers"] += sent_answers
        totals["wall_s"] += cpu["wall_s"]
        for kind, seconds in cpu["cpu_s"].items():
            totals["cpu_s"][kind] = totals["cpu_s"].get(kind, 0.0) + seconds

    asyncio.run(host(ctx, large, large_question, "open"))
    for r in range(ROUNDS):
        for name in spent:
            one_round(name, r)
    asyncio.run(host(ctx, large, large_question, "close"))
    results: dict[str, Any] = {"idle_cpu_per_s": idle, "rounds": ROUNDS}
    for name, quiz in (("small", small), ("large", large)):
        totals = spent[name]
        answers = max(totals["answers"], 1)
        beyond = figures.beyond_idle(totals["cpu_s"], idle, totals["wall_s"])
        results[name] = {
            "players": len(quiz.players),
            "questions": len(quiz.questions),
            "answers": totals["answers"],
            "wall_s": round(totals["wall_s"], 3),
            "cpu_ms_per_answer": figures.cpu_per_answer_ms(totals["cpu_s"], answers),
            "beyond_idle_cpu_ms_per_answer": figures.cpu_per_answer_ms(beyond, answers),
        }
        progress(
            f"flat cost, {len(quiz.players)} players: "
            f"{results[name]['cpu_ms_per_answer']['total']:.2f} ms per answer, "
            f"{results[name]['beyond_idle_cpu_ms_per_answer']['total']:.2f} beyond the idle stack"
        )
    return results


def idle_cpu(ctx: Context, seconds: float = 3.0) -> dict[str, Any]:
    """What the stack burns doing nothing (beat, heartbeats, ticks), per second."""
    window = CpuWindow(ctx.project)
    time.sleep(seconds)
    cpu = window.close()
    return {k: round(v / cpu["wall_s"], 4) for k, v in cpu["cpu_s"].items()}


def publisher(ctx: Context) -> Callable[[str, int, str, int], None]:
    """Commit a new total and publish its event the way the scorer does."""

    def publish(code: str, quiz_pk: int, pid: str, total: int) -> None:
        with ctx.engine.begin() as conn:
            name = conn.execute(
                text(
                    "UPDATE participants SET total_score = :t WHERE id = :p RETURNING display_name"
                ),
                {"t": total, "p": int(pid)},
            ).scalar_one()
        event = leaderboard_update(
            quiz_code=code,
            participant_id=int(pid),
            display_name=name,
            total_score=total,
            answer_id=0,
            question_id=0,
            points=0,
            occurred_at=datetime.now(UTC),
        )
        with Connection(ctx.project.settings.celery_broker_url) as conn:
            events.publish(conn.Producer(), events.leaderboard_batch([event]))

    return publish
