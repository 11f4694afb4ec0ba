"""Leaderboard benchmark: reads of a 100,000-participant board, and live-stream fan-out.

Run it as `python -m bench.leaderboard` (see --help). It needs PostgreSQL and Redis (the
servers in DATABASE_URL and REDIS_URL) and starts everything else itself, on loopback
only: a database of its own (`quiz_bench_lb_<pid>`, dropped at the end), one web process
(gunicorn, gevent worker class, one worker) and the leaderboard consumer. Its Redis keys
go to the DB of REDIS_URL (or --redis-db) and are deleted at the end: use a DB index no
running stack uses, or its consumer and this one would share the `leaderboard.updates`
queue.

It measures:
1. reads/s of GET …/leaderboard for a quiz with N participants (top 10, and a random
   participant's own row with neighbours), through HTTP and straight from Redis;
2. fan-out: K idle stream clients on the one web process; a score change is published on
   the broker as the worker publishes it, and the time until each client has it is
   recorded (p50/p99 over clients and rounds, and the time until all K had it);
3. plain GET …/leaderboard latency while the K streams are open.

Every loop is bounded in count and time; figures print with the machine they ran on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from alembic import command
from alembic.config import Config
from kombu import Connection
from sqlalchemy import create_engine, make_url, text

from shared.config import Settings
from shared.events import leaderboard_update
from shared.leaderboard import board
from shared.leaderboard.rebuild import rebuild_board
from shared.resources import Resources, make_redis
from web.green import raise_open_files_limit
from worker.publisher import leaderboard_exchange, leaderboard_queue

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
START_TIMEOUT_S = 60.0
FANOUT_TIMEOUT_S = 60.0
MAX_PARTICIPANTS = 1_000_000
MAX_CLIENTS = 10_000


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: a value that was really observed."""
    ordered = sorted(values)
    return ordered[max(math.ceil(pct / 100 * len(ordered)), 1) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def machine(redis_version: str, pg_version: str) -> str:
    cpu = "unknown"
    memory = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()}, {cpu}, "
        f"{len(os.sched_getaffinity(0))} cores, {memory} RAM; Python "
        f"{platform.python_version()}, Redis {redis_version}, PostgreSQL {pg_version}"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the bench's own database, Redis DB and processes -------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        base = Settings.from_env()
        self.db_name = f"quiz_bench_lb_{os.getpid()}"
        url = make_url(base.database_url)
        self.admin_url = url.set(database="postgres")
        database_url = url.set(database=self.db_name).render_as_string(hide_password=False)
        redis_url = base.redis_url
        if args.redis_db is not None:
            redis_url = redis_url.rsplit("/", 1)[0] + f"/{args.redis_db}"
        self.settings = replace(
            base, database_url=database_url, redis_url=redis_url, celery_broker_url=redis_url
        )
        self.port = args.port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.log_dir = Path(args.log_dir)

    def create_database(self) -> None:
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}"'))
            conn.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        admin.dispose()
        config = Config(str(ROOT / "alembic.ini"))
        config.set_main_option("sqlalchemy.url", self.settings.database_url)
        command.upgrade(config, "head")

    def drop_database(self) -> None:
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        admin.dispose()

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZ_")}
        env.update(
            DATABASE_URL=self.settings.database_url,
            REDIS_URL=self.settings.redis_url,
            CELERY_BROKER_URL=self.settings.celery_broker_url,
            QUIZ_LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        return env

    def start(self, name: str, args: list[str]) -> None:
        log = open(self.log_dir / f"bench-leaderboard-{name}.log", "wb")  # noqa: SIM115
        self.processes.append(
            subprocess.Popen(
                args,
                cwd=ROOT,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def start_stack(self, connections: int) -> None:
        self.start("consumer", [sys.executable, "-m", "worker.leaderboard"])
        self.start(
            "web",
            [
                str(BIN / "gunicorn"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--worker-class",
                "gevent",
                "--workers",
                "1",
                "--worker-connections",
                str(connections),
                "--log-level",
                "warning",
                "web:create_app()",
            ],
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                    raise SystemExit(f"the stack did not start; see {self.log_dir}") from None
                time.sleep(0.1)

    def stop_stack(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def seed(resources: Resources, participants: int) -> tuple[str, list[int], float]:
    """A quiz with `participants` players and scores with many ties; rebuild its board."""
    code = "BENCH" + uuid.uuid4().hex[:6].upper()
    with resources.engine.begin() as conn:
        quiz_pk = conn.execute(
            text(
                "INSERT INTO quizzes (code, title, status) "
                "VALUES (:c, 'Bench', 'running') RETURNING id"
            ),
            {"c": code},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO participants (quiz_id, display_name, total_score) "
                "SELECT :q, 'Player ' || g, (g * 7919) % 30000 FROM generate_series(1, :n) g"
            ),
            {"q": quiz_pk, "n": participants},
        )
        ids = list(
            conn.execute(text("SELECT id FROM participants WHERE quiz_id = :q"), {"q": quiz_pk})
            .scalars()
            .all()
        )
    started = time.perf_counter()
    with resources.session_factory() as session:
        rebuild_board(session, resources.redis, code)
    return code, ids, time.perf_counter() - started


# --- reads --------------------------------------------------------------------------------


def direct_reads(
    resources: Resources, code: str, ids: list[int], seconds: float
) -> dict[str, float]:
    """Reads/s of the board itself: one client, one call after another, no HTTP."""
    rng = random.Random(1)
    results = {}
    for name, participant in (("top 10", lambda: None), ("around me", lambda: rng.choice(ids))):
        count = 0
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < deadline:
            if board.read(resources.redis, code, 10, participant(), 2) is None:
                raise SystemExit("the board vanished: does another process use this Redis DB?")
            count += 1
        results[name] = count / (time.perf_counter() - started)
    return results


async def http_reads(
    base_url: str, code: str, ids: list[int], seconds: float, concurrency: int, around: bool
) -> tuple[float, list[float], int]:
    """GET …/leaderboard from `concurrency` clients for `seconds`: reads/s, latencies, errors."""
    rng = random.Random(2)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    url = f"{base_url}/api/v1/quizzes/{code}/leaderboard"
    timeout = aiohttp.ClientTimeout(total=30)

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            params = {"limit": "10"}
            if around:
                params["participant_id"] = str(rng.choice(ids))
            started = time.perf_counter()
            try:
                async with session.get(url, params=params) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                        continue
            except (TimeoutError, aiohttp.ClientError):
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=1.0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies, errors


# --- fan-out ------------------------------------------------------------------------------


class StreamClient:
    """One idle SSE client: records when it sees each target score at the top of the board."""

    def __init__(self) -> None:
        self.snapshot = asyncio.Event()
        self.seen: dict[int, float] = {}
        self.waiting: dict[int, asyncio.Event] = {}

    async def run(self, session: aiohttp.ClientSession, url: str) -> None:
        async with session.get(url, headers={"Accept": "text/event-stream"}) as response:
            if response.status != 200:
                raise RuntimeError(f"stream answered {response.status}")
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if not line.startswith("data: "):
                    continue
                now = time.perf_counter()
                entries = json.loads(line[6:]).get("entries") or []
                self.snapshot.set()
                if entries:
                    top = entries[0]["score"]
                    if top in self.waiting and top not in self.seen:
                        self.seen[top] = now
                        self.waiting[top].set()


async def fanout(
    bench: Bench, code: str, ids: list[int], clients: int, rounds: int, read_seconds: float
) -> dict[str, Any]:
    url = f"{bench.base_url}/api/v1/quizzes/{code}/leaderboard/stream?limit=10"
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=None)
    streams = [StreamClient() for _ in range(clients)]
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tasks = []
        for stream in streams:
            tasks.append(asyncio.create_task(stream.run(session, url)))
            if len(tasks) % 200 == 0:
                await asyncio.sleep(0.05)  # let the server accept: no SYN flood
        await asyncio.wait_for(
            asyncio.gather(*(s.snapshot.wait() for s in streams)), START_TIMEOUT_S
        )
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed:
            raise RuntimeError(f"{len(failed)} streams failed: {failed[0].exception()}")
        latencies: list[float] = []
        all_have_it: list[float] = []
        top = await current_top(bench, code)
        rng = random.Random(3)
        # round 0 warms the path up (script cache, first reads) and is not counted
        for round_no in range(rounds + 1):
            top += 10 + round_no
            for stream in streams:
                stream.waiting[top] = asyncio.Event()
            published = await asyncio.to_thread(publish_score, bench, code, rng.choice(ids), top)
            await asyncio.wait_for(
                asyncio.gather(*(s.waiting[top].wait() for s in streams)), FANOUT_TIMEOUT_S
            )
            delays = [s.seen[top] - published for s in streams]
            if round_no > 0:
                latencies.extend(delays)
                all_have_it.append(max(delays))
            await asyncio.sleep(1.0)  # past the coalescing interval: each round stands alone
        # a plain endpoint beside the open streams
        rate, plain, errors = await http_reads(bench.base_url, code, ids, read_seconds, 8, True)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "clients": clients,
        "rounds": rounds,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "all_p50": percentile(all_have_it, 50),
        "all_max": max(all_have_it),
        "all_each": all_have_it,
        "plain_rate": rate,
        "plain_p50": percentile(plain, 50) if plain else float("nan"),
        "plain_p99": percentile(plain, 99) if plain else float("nan"),
        "plain_errors": errors,
    }


async def current_top(bench: Bench, code: str) -> int:
    async with aiohttp.ClientSession() as session:
        url = f"{bench.base_url}/api/v1/quizzes/{code}/leaderboard?limit=1"
        async with session.get(url) as response:
            return (await response.json())["entries"][0]["score"]


def publish_score(bench: Bench, code: str, participant_id: int, total: int) -> float:
    """Commit a new total and publish its event as the scoring worker does; return when."""
    engine = create_engine(bench.settings.database_url)
    with engine.begin() as conn:
        name = conn.execute(
            text("UPDATE participants SET total_score = :t WHERE id = :p RETURNING display_name"),
            {"t": total, "p": participant_id},
        ).scalar_one()
    engine.dispose()
    event = leaderboard_update(
        quiz_code=code,
        participant_id=participant_id,
        display_name=name,
        total_score=total,
        answer_id=1,
        question_id=1,
        points=0,
        occurred_at=datetime.now(UTC),
    )
    with Connection(bench.settings.celery_broker_url) as conn:
        producer = conn.Producer()
        started = time.perf_counter()
        producer.publish(
            event,
            exchange=leaderboard_exchange,
            routing_key=leaderboard_queue.routing_key,
            declare=[leaderboard_queue],
            serializer="json",
            delivery_mode="persistent",
        )
    return started


# --- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.leaderboard", description=__doc__)
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--clients", default="100,2000", help="stream clients, comma-separated")
    parser.add_argument("--rounds", type=int, default=10, help="score changes per fan-out run")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each read run")
    parser.add_argument("--concurrency", type=int, default=32, help="HTTP readers")
    parser.add_argument("--redis-db", type=int, help="Redis DB index (default: REDIS_URL's)")
    parser.add_argument("--port", type=int, default=0, help="web port (default: a free one)")
    parser.add_argument("--log-dir", default="/tmp", help="where the processes' logs go")
    args = parser.parse_args(argv)
    clients = [int(k) for k in args.clients.split(",") if k.strip()]
    if not 1 <= args.participants <= MAX_PARTICIPANTS or not all(
        1 <= k <= MAX_CLIENTS for k in clients
    ):
        parser.error(f"participants up to {MAX_PARTICIPANTS}, clients up to {MAX_CLIENTS}")
    if not 1 <= args.rounds <= 100 or not 0.5 <= args.seconds <= 120:
        parser.error("rounds 1..100, seconds 0.5..120")
    # K streams need K sockets here and in the web process (which inherits the limit)
    limit = raise_open_files_limit(max(clients) * 2 + 1024)
    if limit < max(clients) + 256:
        parser.error(f"the open-files limit is {limit}: too low for {max(clients)} streams")

    bench = Bench(args)
    redis = make_redis(bench.settings)
    bench.create_database()
    code = ""
    resources = Resources(bench.settings)
    try:
        with resources.engine.connect() as conn:
            pg_version = conn.execute(text("SHOW server_version")).scalar_one()
        print(f"machine: {machine(redis.info('server')['redis_version'], pg_version)}")
        print(f"web: gunicorn, 1 worker of class gevent, on 127.0.0.1:{bench.port}")
        code, ids, rebuilt_s = seed(resources, args.participants)
        print(
            f"\nquiz {code} with {len(ids):,} participants; "
            f"rebuild from PostgreSQL: {rebuilt_s:.2f} s"
        )
        print("\n1. leaderboard reads")
        for name, per_s in direct_reads(resources, code, ids, min(args.seconds, 5)).items():
            print(f"   Redis only, 1 client, {name:9}: {per_s:8,.0f} reads/s")
        bench.start_stack(max(clients) + 1000)
        for name, around in (("top 10", False), ("around me", True)):
            rate, latencies, errors = asyncio.run(
                http_reads(bench.base_url, code, ids, args.seconds, args.concurrency, around)
            )
            print(
                f"   HTTP, {args.concurrency} clients, {name:9}: {rate:8,.0f} reads/s, "
                f"p50 {ms(percentile(latencies, 50))}, p99 {ms(percentile(latencies, 99))}, "
                f"errors {errors}"
            )

        print("\n2. stream fan-out: score change published on the broker -> seen by each client")
        for k in clients:
            result = asyncio.run(fanout(bench, code, ids, k, args.rounds, min(args.seconds, 5)))
            print(
                f"   K={k:>5}: per client p50 {ms(result['p50'])}, p99 {ms(result['p99'])}; "
                f"all {k} have it: median {ms(result['all_p50'])}, worst {ms(result['all_max'])} "
                f"({result['rounds']} rounds)"
            )
            each = ", ".join(f"{t * 1000:.0f}" for t in result["all_each"])
            print(f"            all {k} have it, per round (ms): {each}")
            print(
                f"            plain GET beside {k} streams (8 clients): "
                f"{result['plain_rate']:,.0f} reads/s, p50 {ms(result['plain_p50'])}, "
                f"p99 {ms(result['plain_p99'])}, errors {result['plain_errors']}"
            )
    finally:
        bench.stop_stack()
        resources.close()
        bench.drop_database()
        if code:
            keys = list(redis.scan_iter(f"quiz:{code}:*"))
            if keys:
                redis.delete(*keys)
        redis.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
