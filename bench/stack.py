"""The stacks the benchmark runs: the project's and the floor's, on servers of its own.

PostgreSQL is the server of DATABASE_URL (found or started by scripts/services.py, as for
`make run`), with a database of the bench's own, created, migrated and dropped here.
Redis is a redis-server of the bench's own on a free port, so nothing the bench does
touches the machine's Redis, and its CPU is the bench's alone. Every process runs the
command `make run` runs (scripts/processes.py), on ports of its own, with its log in the
bench's work directory.

CPU is read from /proc: utime + stime of every process in each child's session (a
gunicorn master and its workers, a Celery worker and its pool), of every `postgres`
process, and of the bench's redis-server. Summed before and after a phase, divided by
the answers of the phase: CPU per answer, by process kind.
"""

from __future__ import annotations

import os
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from alembic import command as alembic
from alembic.config import Config
from sqlalchemy import create_engine, make_url, text

from scripts.processes import (
    ROOT,
    Process,
    RedisServer,
    command,
    free_port,
    port_open,
)
from shared.config import Environment, Settings

HOST_KEY = "bench-host-key"
SECRET_KEY = "bench-secret-key"
FLOWER_LOGIN = "bench:bench-flower-password"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_S = 60.0

# how each process of the stack tells that it is ready
READY = {
    "web": "listening",
    "worker": " ready.",
    "beat": "beat: Starting",
    "leaderboard": "leaderboard_consumer.ready",
    "flower": "listening",
}


# --- CPU from /proc ---------------------------------------------------------------------


@dataclass(frozen=True)
class ProcStat:
    pid: int
    comm: str
    ppid: int
    session: int
    cpu_s: float


def read_proc_stats() -> list[ProcStat]:
    """Every process's session and CPU time (utime + stime), from /proc/<pid>/stat."""
    stats = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # it exited while we looked
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        # fields[0] is the state (3rd field of stat); utime and stime are the 14th and 15th
        stats.append(
            ProcStat(
                pid=int(entry),
                comm=comm,
                ppid=int(fields[1]),
                session=int(fields[3]),
                cpu_s=(int(fields[11]) + int(fields[12])) / CLOCK_TICKS,
            )
        )
    return stats


def self_cpu_s() -> float:
    """CPU of the bench's own process (the load generator), all threads."""
    times = os.times()
    return times.user + times.system


# --- the stacks ----------------------------------------------------------------------------


class Servers:
    """The bench's Redis server and PostgreSQL database, shared by both stacks.

    `make fuzz` (scripts/fuzz.py) uses them too, with its own `label` in the database name;
    the database is made on the server of `server_url`, DATABASE_URL's by default.
    """

    def __init__(self, work_dir: Path, label: str = "bench", server_url: str | None = None) -> None:
        self.work_dir = work_dir
        self.redis = RedisServer(work_dir)
        self.db_name = f"quiz_{label}_{os.getpid()}"
        url = make_url(server_url or Settings.from_env().database_url)
        self.admin_url = url.set(database="postgres")
        self.database_url = url.set(database=self.db_name).render_as_string(hide_password=False)

    def start(self) -> None:
        self.redis.start()
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}"'))
            conn.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        admin.dispose()
        config = Config(str(ROOT / "alembic.ini"))
        config.set_main_option("sqlalchemy.url", self.database_url)
        alembic.upgrade(config, "head")

    def stop(self) -> None:
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        admin.dispose()
        self.redis.stop()

    def redis_url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.redis.port}/{db}"

    @property
    def redis_pid(self) -> int | None:
        process = self.redis.process
        return process.pid if process is not None else None


class Stack:
    """Processes started by name, each in a session of its own; CPU read by kind."""

    def __init__(self, servers: Servers, label: str) -> None:
        self.servers = servers
        self.label = label
        self.port = free_port()
        self.flower_port = free_port()
        self.processes: dict[str, Process] = {}

    def argv(self, name: str) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *names: str) -> None:
        for name in names:
            if name in self.processes:
                continue
            process = Process(
                f"{self.label}-{name}", self.argv(name), self.env(), self.servers.work_dir
            )
            self.processes[name] = process
            if name == "web":
                url = f"{self.base_url}/healthz"
                process.wait_until(lambda url=url: _answers(url), f"{url}", START_TIMEOUT_S)
            elif name == "flower":
                process.wait_until(lambda: port_open(self.flower_port), "its port", START_TIMEOUT_S)
            else:
                marker = READY[name]
                offset = len(process.log())
                process.wait_until(
                    lambda p=process, m=marker, o=offset: m in p.log()[o:], "ready", START_TIMEOUT_S
                )

    def stop(self, *names: str) -> None:
        for name in names or list(self.processes):
            process = self.processes.pop(name, None)
            if process is not None:
                process.stop()

    def running(self) -> list[str]:
        return list(self.processes)

    def cpu_by_kind(self, stats: list[ProcStat] | None = None) -> dict[str, float]:
        """CPU seconds so far of each kind: the stack's processes, PostgreSQL and Redis."""
        stats = stats if stats is not None else read_proc_stats()
        by_session: dict[int, list[ProcStat]] = defaultdict(list)
        for stat in stats:
            by_session[stat.session].append(stat)
        cpu: dict[str, float] = defaultdict(float)
        for name, process in self.processes.items():
            for stat in by_session.get(process.pid, []):
                kind = name
                if name == "worker" and stat.pid != process.pid:
                    kind = "worker pool"
                cpu[kind] += stat.cpu_s
        redis_pid = self.servers.redis_pid
        for stat in stats:
            if stat.comm.startswith("postgres"):
                cpu["postgres"] += stat.cpu_s
            elif stat.pid == redis_pid:
                cpu["redis"] += stat.cpu_s
        return dict(cpu)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class ProjectStack(Stack):
    """The project's processes, run with the commands of `make run`."""

    NAMES = ("web", "worker", "beat", "leaderboard", "flower")

    def __init__(self, servers: Servers, **env: str) -> None:
        super().__init__(servers, "project")
        self.extra_env = env
        self.run_dir = servers.work_dir
        self.settings = replace(
            Settings(),
            env=Environment.DEVELOPMENT,
            database_url=servers.database_url,
            redis_url=servers.redis_url(0),
            celery_broker_url=servers.redis_url(0),
            host_key=HOST_KEY,
            secret_key=SECRET_KEY,
        )

    def argv(self, name: str) -> list[str]:
        return command(name, self.port, self.run_dir)

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("QUIZ_", "FLOWER_", "SENTRY_", "NEW_RELIC_", "PROMETHEUS_"))
            and k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "PORT")
        }
        env.update(
            QUIZ_ENV=self.settings.env.value,
            DATABASE_URL=self.settings.database_url,
            REDIS_URL=self.settings.redis_url,
            CELERY_BROKER_URL=self.settings.celery_broker_url,
            QUIZ_HOST_KEY=HOST_KEY,
            SECRET_KEY=SECRET_KEY,
            PORT=str(self.port),
            FLOWER_PORT=str(self.flower_port),
            FLOWER_BASIC_AUTH=FLOWER_LOGIN,
            # every player of the bench comes from one address; the `limits` scenario
            # measures the limits' cost by turning them on
            QUIZ_RATE_LIMITS="off",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env


class FloorStack(Stack):
    """bench/floor.py: the same gunicorn and Celery worker settings around no-op work."""

    def __init__(self, servers: Servers) -> None:
        super().__init__(servers, "floor")
        self.redis_url = servers.redis_url(1)

    def argv(self, name: str) -> list[str]:
        words = command(name, self.port, self.servers.work_dir)
        if name == "web":
            # the project's gunicorn command around the floor app, without the project's
            # gunicorn.conf.py (its JSON logs and metrics are the project's own costs)
            return [*words[:-1], "--config", os.devnull, "bench.floor:create_app()"]
        if name == "worker":
            words[words.index("-A") + 1] = "bench.floor"
            words[words.index("-Q") + 1] = "floor"
            return words
        raise ValueError(f"the floor has no {name} process")

    def env(self) -> dict[str, str]:
        return dict(os.environ, BENCH_FLOOR_REDIS_URL=self.redis_url, PYTHONUNBUFFERED="1")
