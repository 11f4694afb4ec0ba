"""Make sure PostgreSQL and Redis answer, starting project-local instances when they don't.

Usage (with the venv's python)::

    eval "$(.venv/bin/python scripts/services.py env)"   # ensure both, export their URLs
    .venv/bin/python scripts/services.py stop              # stop what this project started

`env` prints shell `export` lines on stdout and everything meant for people on stderr.
A server that already answers (the machine's own, or one named in the environment or
in `.env`) is used as it is and never stopped, restarted or reconfigured. Otherwise a
project-local server is started under `.run/` on a port of its own; `stop` stops only
those, found by their data directory and pid file.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"

DEFAULT_DATABASE_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/quiz"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

# Ports of the project-local servers: away from the standard ones so they never clash
# with the machine's own PostgreSQL and Redis.
LOCAL_PG_PORT = 54329
LOCAL_REDIS_PORT = 63799

# Owned by the user the server runs as; a link to a directory outside the checkout when
# that user can't reach the checkout (see prepare_pg_dir).
PG_DIR = RUN_DIR / "postgres"
REDIS_PIDFILE = RUN_DIR / "redis.pid"
REDIS_LOG = RUN_DIR / "redis.log"

CONNECT_TIMEOUT = 2  # seconds, for "does it answer?"
START_TIMEOUT = 60  # seconds, for a server we start to accept connections

# A Unix socket path must fit in sun_path (108 bytes on Linux), file name included.
MAX_SOCKET_DIR_LEN = 90


class ServiceError(Exception):
    """A service can't be made reachable; the message says what to do."""


def say(message: str) -> None:
    print(f"services: {message}", file=sys.stderr, flush=True)


def hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def is_root() -> bool:
    return os.geteuid() == 0


@contextlib.contextmanager
def run_lock():
    """Serialise concurrent callers (two `make test` at once) around init and start."""
    RUN_DIR.mkdir(exist_ok=True)
    with open(RUN_DIR / "services.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield


_apt_updated = False


def apt_install(package: str) -> bool:
    """Install a Debian package when we are allowed to; False when we can't try."""
    global _apt_updated
    if not is_root() or shutil.which("apt-get") is None:
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    say(f"installing {package} with apt-get")
    if not _apt_updated:
        subprocess.run(["apt-get", "update"], check=False, env=env, stdout=sys.stderr)
        _apt_updated = True
    result = subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", package],
        check=False,
        env=env,
        stdout=sys.stderr,
    )
    return result.returncode == 0


# --- PostgreSQL ---------------------------------------------------------------------


@dataclass(frozen=True)
class Cluster:
    """A PostgreSQL cluster this project runs: its directory under .run/ and its port.

    The project-local one is `LOCAL`; `make chaos` runs one of its own beside it, to stop
    and start it at will.
    """

    directory: Path  # owned by the server's user, or a link to a directory it owns
    port: int

    @property
    def home(self) -> Path:
        return self.directory.resolve()

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def log(self) -> Path:
        return self.home / "server.log"


LOCAL = Cluster(PG_DIR, LOCAL_PG_PORT)


def libpq_url(url: str) -> str:
    """Drop SQLAlchemy's `+driver` suffix, which libpq doesn't understand."""
    return re.sub(r"^(postgres(?:ql)?)\+\w+://", r"\1://", url)


def database_name(url: str) -> str | None:
    return unquote(urlsplit(url).path.lstrip("/")) or None


def pg_problem(url: str) -> str | None:
    """Connect to the server's maintenance database; None when it answers, else why not."""
    import psycopg2

    try:
        conn = psycopg2.connect(libpq_url(url), dbname="postgres", connect_timeout=CONNECT_TIMEOUT)
    except psycopg2.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    conn.close()
    return None


def create_database(url: str) -> None:
    """Create the database named in `url` unless it exists (tests make their own)."""
    import psycopg2
    from psycopg2 import errors, sql

    name = database_name(url)
    if name is None:
        return
    try:
        conn = psycopg2.connect(libpq_url(url), dbname="postgres", connect_timeout=CONNECT_TIMEOUT)
        conn.autocommit = True  # CREATE DATABASE can't run inside a transaction
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                    say(f"created database {name}")
        finally:
            conn.close()
    except errors.DuplicateDatabase:
        pass  # created meanwhile by another caller
    except psycopg2.Error as exc:
        raise ServiceError(
            f"Could not create the database {name} at {hide_password(url)}: {exc}".strip()
        ) from exc


def pg_bin_dirs() -> list[Path]:
    """Directories holding initdb and pg_ctl: PATH first, then Debian's, newest first."""
    dirs = []
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        dirs.append(Path(initdb).resolve().parent)

    def major(path: str) -> float:
        version = Path(path).parent.name
        try:
            return float(version)
        except ValueError:
            return 0.0

    for bin_dir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=major, reverse=True):
        path = Path(bin_dir)
        if (path / "initdb").exists() and (path / "pg_ctl").exists() and path not in dirs:
            dirs.append(path)
    return dirs


def pg_major(bin_dir: Path) -> str:
    out = subprocess.run(
        [str(bin_dir / "pg_ctl"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return match.group(1) if match else ""


def pick_pg_bin_dir(cluster: Cluster = LOCAL) -> Path | None:
    """The binaries that can run the existing cluster, or the newest ones for a new cluster."""
    dirs = pg_bin_dirs()
    version_file = cluster.data / "PG_VERSION"
    if not version_file.exists():
        return dirs[0] if dirs else None
    wanted = version_file.read_text().strip()
    for bin_dir in dirs:
        if pg_major(bin_dir) == wanted:
            return bin_dir
    if dirs:
        raise ServiceError(
            f"The PostgreSQL cluster in {cluster.data} was made by PostgreSQL {wanted}, "
            f"whose binaries are not installed: run `make clean` to drop it and start afresh."
        )
    return None


def pg_user() -> str | None:
    """The system user to run the server as; None means the current user.

    PostgreSQL refuses to run as root, so root runs it as `postgres` (the user Debian's
    package creates), creating that user when it is missing.
    """
    if not is_root():
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        say("creating the system user postgres to run PostgreSQL")
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                "postgres",
            ],
            check=True,
        )
    return "postgres"


def run_as(
    user: str | None, argv: list[str], cluster: Cluster = LOCAL, **kwargs
) -> subprocess.CompletedProcess:
    if user is not None:
        argv = ["runuser", "-u", user, "--", *argv]
    # The server's user may not be allowed into the caller's working directory.
    return subprocess.run(argv, cwd=cluster.home, **kwargs)


def can_write(user: str, path: Path) -> bool:
    return subprocess.run(["runuser", "-u", user, "--", "test", "-w", str(path)]).returncode == 0


def give_to(user: str, top: Path) -> None:
    entry = pwd.getpwnam(user)
    for path in [top, *top.rglob("*")]:
        if path.lstat().st_uid != entry.pw_uid:
            os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def prepare_pg_dir(user: str | None, cluster: Cluster = LOCAL) -> None:
    """Create the cluster's directory where the server's user can write."""
    directory = cluster.directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    if user is None:
        directory.mkdir(exist_ok=True)
        return
    # The server's user must be able to walk into .run, and below it, to reach its directory.
    for parent in [directory.parent, *directory.parent.parents]:
        if parent != RUN_DIR and RUN_DIR not in parent.parents:
            break
        parent.chmod(parent.stat().st_mode | 0o711)
    if directory.is_symlink() and not directory.exists():
        directory.unlink()  # its target was removed
    if not directory.exists():
        directory.mkdir()
        give_to(user, directory)
        if not can_write(user, directory):
            # A checkout under a private directory (root's home, say): keep the cluster
            # in a place that user can reach, linked from .run.
            directory.rmdir()
            digest = hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]
            name = "-".join(directory.relative_to(RUN_DIR).parts)
            outside = Path("/var/tmp") / f"{ROOT.name}-{digest}-{name}"
            outside.mkdir(exist_ok=True)
            directory.symlink_to(outside)
            say(f"{user} can't reach {RUN_DIR}: the cluster lives in {outside}")
    give_to(user, cluster.home)
    if not can_write(user, cluster.home):
        raise ServiceError(
            f"The system user {user} can't write to {cluster.home}: "
            f"remove it (`make clean`), or set DATABASE_URL to a running server."
        )


def pg_server_options(cluster: Cluster = LOCAL) -> list[str]:
    options = ["-p", str(cluster.port), "-c", "listen_addresses=127.0.0.1"]
    # Keep the socket inside .run so it never lands in the machine's socket directory.
    home = str(cluster.home)
    socket_dir = home if len(home) <= MAX_SOCKET_DIR_LEN else ""
    options += ["-c", f"unix_socket_directories={socket_dir}"]
    return options


def init_cluster(bin_dir: Path, user: str | None, cluster: Cluster = LOCAL) -> None:
    """Create the cluster's data directory with initdb, unless it exists."""
    prepare_pg_dir(user, cluster)
    if (cluster.data / "PG_VERSION").exists():
        return
    say(f"creating a PostgreSQL cluster in {cluster.data}")
    shutil.rmtree(cluster.data, ignore_errors=True)  # leftovers of an interrupted initdb
    initdb = run_as(
        user,
        [
            str(bin_dir / "initdb"),
            "--pgdata",
            str(cluster.data),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
        ],
        cluster,
        check=False,
        capture_output=True,
        text=True,
    )
    if initdb.returncode != 0:
        sys.stderr.write(initdb.stdout + initdb.stderr)
        raise ServiceError(f"initdb could not create the cluster in {cluster.data}.")


def start_cluster(bin_dir: Path, user: str | None, cluster: Cluster = LOCAL) -> None:
    """pg_ctl start, waiting until the server accepts connections."""
    say(f"starting PostgreSQL on 127.0.0.1:{cluster.port}")
    # pg_ctl hands -o to /bin/sh, hence the quoting.
    options = " ".join(shlex.quote(option) for option in pg_server_options(cluster))
    started = run_as(
        user,
        [
            str(bin_dir / "pg_ctl"),
            "start",
            "--pgdata",
            str(cluster.data),
            "--log",
            str(cluster.log),
            "--wait",
            "--timeout",
            str(START_TIMEOUT),
            "-o",
            options,
        ],
        cluster,
        check=False,
        stdout=sys.stderr,
    )
    if started.returncode != 0:
        log = cluster.log
        tail = log.read_text(errors="replace").splitlines()[-5:] if log.exists() else []
        for line in tail:
            say(f"  {line}")
        raise ServiceError(
            f"PostgreSQL did not start (log: {log}); "
            f"is port {cluster.port} taken by something else?"
        )


def stop_cluster(bin_dir: Path, user: str | None, cluster: Cluster = LOCAL, mode: str = "fast"):
    """pg_ctl stop in `mode` (fast: roll back and close; immediate: no shutdown at all)."""
    run_as(
        user,
        [str(bin_dir / "pg_ctl"), "stop", "--pgdata", str(cluster.data), "--mode", mode, "--wait"],
        cluster,
        check=False,
        stdout=sys.stderr,
    )


def start_local_pg(url: str) -> tuple[str, bool]:
    """Start (and first create) the project-local cluster.

    Return the URL to use instead of `url`, and whether it was started just now.
    """
    scheme = urlsplit(url).scheme or "postgresql+psycopg2"
    name = database_name(url) or "quiz"
    local_url = f"{scheme}://postgres@127.0.0.1:{LOCAL_PG_PORT}/{name}"
    if pg_problem(local_url) is None:
        say(f"using the project-local PostgreSQL already running on port {LOCAL_PG_PORT}")
        return local_url, False

    bin_dir = pick_pg_bin_dir()
    if bin_dir is None and apt_install("postgresql"):
        bin_dir = pick_pg_bin_dir()
    if bin_dir is None:
        raise ServiceError(
            f"PostgreSQL is not reachable at {hide_password(url)} and no PostgreSQL server "
            f"binaries were found: install PostgreSQL (e.g. `apt-get install postgresql`) "
            f"or set DATABASE_URL to a running server."
        )

    user = pg_user()
    init_cluster(bin_dir, user)
    start_cluster(bin_dir, user)
    deadline = time.monotonic() + START_TIMEOUT
    while (problem := pg_problem(local_url)) is not None:
        if time.monotonic() > deadline:
            raise ServiceError(
                f"The project-local PostgreSQL does not accept connections: {problem}"
            )
        time.sleep(0.2)
    return local_url, True


def ensure_pg(url: str) -> tuple[str, bool]:
    """Return the URL of a PostgreSQL that answers, and whether we started it just now."""
    problem = pg_problem(url)
    if problem is None:
        create_database(url)
        say(f"PostgreSQL at {hide_password(url)} answers")
        return url, False
    say(f"PostgreSQL at {hide_password(url)} does not answer ({problem})")
    local_url, started = start_local_pg(url)
    create_database(local_url)
    return local_url, started


def stop_local_pg() -> None:
    if not (LOCAL.data / "postmaster.pid").exists():
        return
    try:
        bin_dir = pick_pg_bin_dir()
    except ServiceError:
        bin_dir = None
    if bin_dir is None:
        say(f"can't stop the project-local PostgreSQL: no pg_ctl found (data: {LOCAL.data})")
        return
    say("stopping the project-local PostgreSQL")
    stop_cluster(bin_dir, "postgres" if is_root() else None)


# --- Redis --------------------------------------------------------------------------


def redis_problem(url: str) -> str | None:
    """PING the server; None when it answers, else why not."""
    import redis

    client = redis.Redis.from_url(
        url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        return str(exc) or type(exc).__name__
    finally:
        client.close()
    return None


def start_local_redis(url: str) -> tuple[str, bool]:
    """Start the project-local Redis; return the URL to use and whether it was started now."""
    db = urlsplit(url).path.lstrip("/") or "0"
    local_url = f"redis://127.0.0.1:{LOCAL_REDIS_PORT}/{db}"
    if redis_problem(local_url) is None:
        say(f"using the project-local Redis already running on port {LOCAL_REDIS_PORT}")
        return local_url, False

    server = shutil.which("redis-server")
    if server is None and apt_install("redis-server"):
        server = shutil.which("redis-server")
    if server is None:
        raise ServiceError(
            f"Redis is not reachable at {hide_password(url)} and redis-server was not found: "
            f"install Redis (e.g. `apt-get install redis-server`) "
            f"or set REDIS_URL to a running server."
        )

    say(f"starting the project-local Redis on 127.0.0.1:{LOCAL_REDIS_PORT}")
    RUN_DIR.mkdir(exist_ok=True)
    # Nothing is kept on disk: the data is disposable, like the machine's own Redis.
    subprocess.run(
        [
            server,
            "--port",
            str(LOCAL_REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--pidfile",
            str(REDIS_PIDFILE),
            "--logfile",
            str(REDIS_LOG),
            "--dir",
            str(RUN_DIR),
        ],
        check=True,
        stdout=sys.stderr,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while (problem := redis_problem(local_url)) is not None:
        if time.monotonic() > deadline:
            raise ServiceError(
                f"The project-local Redis does not answer (log: {REDIS_LOG}): {problem}"
            )
        time.sleep(0.1)
    return local_url, True


def ensure_redis(url: str) -> tuple[str, bool]:
    """Return the URL of a Redis that answers, and whether we started it just now."""
    problem = redis_problem(url)
    if problem is None:
        say(f"Redis at {hide_password(url)} answers")
        return url, False
    say(f"Redis at {hide_password(url)} does not answer ({problem})")
    return start_local_redis(url)


def local_redis_pid() -> int | None:
    """The pid in .run/redis.pid, if that process is still a redis-server."""
    try:
        pid = int(REDIS_PIDFILE.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"redis-server" in cmdline else None


def stop_local_redis() -> None:
    pid = local_redis_pid()
    if pid is None:
        REDIS_PIDFILE.unlink(missing_ok=True)
        return
    say("stopping the project-local Redis")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if Path(f"/proc/{pid}").exists():
        os.kill(pid, signal.SIGKILL)
    REDIS_PIDFILE.unlink(missing_ok=True)


# --- entry points -------------------------------------------------------------------


def broker_url(broker: str | None, old_redis: str, new_redis: str) -> str:
    """Follow Redis to its new place when the broker was on the Redis that didn't answer."""
    if not broker:
        return new_redis
    if old_redis == new_redis:
        return broker
    old, current = urlsplit(old_redis), urlsplit(broker)
    if current.scheme in ("redis", "rediss") and current.netloc == old.netloc:
        return urlunsplit(current._replace(netloc=urlsplit(new_redis).netloc))
    return broker


def ensure() -> tuple[dict[str, str], list[str]]:
    """Make both services answer; return the variables to export and what was started."""
    from dotenv import load_dotenv

    load_dotenv(ROOT / ".env", override=False)
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL

    started = []
    with run_lock():
        new_database_url, pg_started = ensure_pg(database_url)
        new_redis_url, redis_started = ensure_redis(redis_url)
    if pg_started:
        started.append("postgres")
    if redis_started:
        started.append("redis")

    exports = {
        "DATABASE_URL": new_database_url,
        "REDIS_URL": new_redis_url,
        "CELERY_BROKER_URL": broker_url(
            os.environ.get("CELERY_BROKER_URL"), redis_url, new_redis_url
        ),
    }
    return exports, started


def stop(only: list[str] | None = None) -> None:
    """Stop the project-local servers (all of them, or those named in `only`)."""
    with run_lock():
        if only is None or "postgres" in only:
            stop_local_pg()
        if only is None or "redis" in only:
            stop_local_redis()


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "env":
        try:
            exports, _ = ensure()
        except ServiceError as exc:
            print(exc, file=sys.stderr)
            return 1
        except subprocess.CalledProcessError as exc:
            print(f"Command failed ({exc.returncode}): {shlex.join(exc.cmd)}", file=sys.stderr)
            return 1
        for name, value in exports.items():
            print(f"export {name}={shlex.quote(value)}")
        return 0
    if command == "stop":
        stop()
        return 0
    print(f"usage: {argv[0]} env|stop", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
