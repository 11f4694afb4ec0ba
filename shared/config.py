"""Settings for every process, read from the environment in one place."""

from __future__ import annotations

import enum
import json
import os
import secrets
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from dotenv import find_dotenv, load_dotenv
from limits import parse_many

T = TypeVar("T")

# Outside production, a host key and token secret left unset are this checkout's own:
# random, made once and kept here (or in QUIZ_DEV_SECRETS_FILE), so every process of the
# checkout agrees on them and no key anyone could read in the source signs a token.
DEV_SECRETS_FILE = Path(__file__).resolve().parent.parent / ".run" / "dev-secrets.json"


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    TESTING = "testing"
    PRODUCTION = "production"


class SettingsError(ValueError):
    """A variable is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    env: Environment = Environment.DEVELOPMENT
    database_url: str = "postgresql+psycopg2://postgres@127.0.0.1:5432/quiz"
    redis_url: str = "redis://127.0.0.1:6379/0"
    celery_broker_url: str = "redis://127.0.0.1:6379/0"
    host_key: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)
    # where this checkout's development secrets are kept (see DEV_SECRETS_FILE)
    dev_secrets_file: str = str(DEV_SECRETS_FILE)
    port: int = 8000
    # how long a participant token stays valid
    token_max_age_s: int = 24 * 3600
    # how long an Idempotency-Key is remembered for a participant
    idempotency_ttl_s: int = 24 * 3600
    # how long the task status record lives in Redis (PostgreSQL answers after that)
    task_status_ttl_s: int = 3600
    # an accepted answer not scored after this long is sent to the workers again: a fault
    # that lost its message (Redis restarted, worker killed) is over once it is scored, and
    # the two together bound that recovery (make chaos holds it to 30 s)
    requeue_after_s: int = 10
    requeue_interval_s: float = 5.0
    # an outbox event still unpublished after this long is published by the relay
    outbox_relay_after_s: int = 10
    outbox_relay_interval_s: float = 10.0
    # beat closes the questions whose timer ran out this often (time's up on every screen)
    question_timer_interval_s: float = 1.0
    # beat compares each live quiz's Redis board with PostgreSQL, and repairs it, this often
    reconcile_interval_s: float = 60.0
    # finished quizzes created longer ago than this are deleted, with every answer (0: never)
    retention_days: int = 90
    # deliveries of one answer's task before it is rejected as poison
    max_delivery_attempts: int = 5
    # a worker scores up to this many answers in one transaction; a batch that is not
    # full goes after this many seconds (celery-batches' flush_every and flush_interval)
    scoring_batch_size: int = 100
    scoring_batch_wait_s: float = 0.05
    # Celery task events (what `celery worker -E` turns on), for Flower's task pages; they
    # cost the workers and Flower CPU on every task, so they are off unless asked for
    task_events: bool = False
    db_pool_size: int = 10
    redis_socket_timeout_s: float = 2.0
    # connections of a process's Redis pool (under gevent, callers wait for a free one);
    # the streams' snapshots may hold at most half of a web process's
    redis_max_connections: int = 64
    # --- abuse: rate limits (counted in Redis) and stream caps (counted by each process)
    # off: every limit and cap below is off, for load tests and benchmarks only
    rate_limits: bool = True
    # limits.parse_many strings ("5/second", "1000 per minute; 10 per second")
    rate_limit_answers: str = "5/second"  # per player
    rate_limit_joins: str = "1000/minute"  # per client address
    rate_limit_lookups: str = "3000/minute"  # reads of a quiz, per client address
    rate_limit_streams: str = "1000/minute"  # streams opened, per client address
    streams_per_address: int = 2000  # open at once, per client address and web process
    streams_per_process: int = 4000  # open at once per web process (gunicorn holds 5000)
    # reverse proxies in front of the API whose X-Forwarded-For is believed (ProxyFix)
    trusted_proxies: int = 0
    # words a display name may not contain, one per line; empty: the built-in list
    blocked_names_file: str = ""
    # --- operations: logs, health, metrics, Flower, Sentry, New Relic (docs/operations.md)
    log_level: str = "INFO"
    # each dependency /readyz checks gets this long to answer
    ready_timeout_s: float = 2.0
    # set (by gunicorn.conf.py or the environment) when gunicorn runs several processes
    prometheus_multiproc_dir: str = ""
    flower_port: int = 5555
    flower_address: str = "127.0.0.1"
    # "user:password[,user:password]"; worker/flower.py refuses to start without it
    # outside development
    flower_basic_auth: str = field(default="", repr=False)
    # "user:password" a scraper of the API's /metrics must send; empty: /metrics is open,
    # except with QUIZ_ENV=production, where it is refused (web/metrics.py)
    metrics_basic_auth: str = field(default="", repr=False)
    sentry_dsn: str = field(default="", repr=False)
    sentry_traces_sample_rate: float = 0.0
    # the commit the code was built from: Sentry's release
    source_commit: str = ""
    # New Relic runs only when this is set; the agent reads its other NEW_RELIC_* itself
    new_relic_license_key: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
        """Build settings from `environ` (default: os.environ plus `.env`, real variables win)."""
        if environ is None:
            if dotenv:
                # .env of the directory the process runs in (or a parent), as tools expect
                load_dotenv(find_dotenv(usecwd=True), override=False)
            environ = os.environ
        env = _get(environ, "QUIZ_ENV", Environment, Environment.DEVELOPMENT)
        redis_url = environ.get("REDIS_URL") or cls.redis_url
        settings = cls(
            env=env,
            database_url=environ.get("DATABASE_URL") or cls.database_url,
            redis_url=redis_url,
            celery_broker_url=environ.get("CELERY_BROKER_URL") or redis_url,
            host_key=environ.get("QUIZ_HOST_KEY") or "",
            secret_key=environ.get("SECRET_KEY") or "",
            port=_get(environ, "PORT", int, cls.port),
            token_max_age_s=_get(environ, "QUIZ_TOKEN_MAX_AGE_S", int, cls.token_max_age_s),
            idempotency_ttl_s=_get(environ, "QUIZ_IDEMPOTENCY_TTL_S", int, cls.idempotency_ttl_s),
            task_status_ttl_s=_get(environ, "QUIZ_TASK_STATUS_TTL_S", int, cls.task_status_ttl_s),
            requeue_after_s=_get(environ, "QUIZ_REQUEUE_AFTER_S", int, cls.requeue_after_s),
            requeue_interval_s=_get(
                environ, "QUIZ_REQUEUE_INTERVAL_S", float, cls.requeue_interval_s
            ),
            outbox_relay_after_s=_get(
                environ, "QUIZ_OUTBOX_RELAY_AFTER_S", int, cls.outbox_relay_after_s
            ),
            outbox_relay_interval_s=_get(
                environ, "QUIZ_OUTBOX_RELAY_INTERVAL_S", float, cls.outbox_relay_interval_s
            ),
            question_timer_interval_s=_get(
                environ,
                "QUIZ_QUESTION_TIMER_INTERVAL_S",
                _positive_float,
                cls.question_timer_interval_s,
            ),
            reconcile_interval_s=_get(
                environ, "QUIZ_RECONCILE_INTERVAL_S", _positive_float, cls.reconcile_interval_s
            ),
            retention_days=_get(environ, "QUIZ_RETENTION_DAYS", int, cls.retention_days),
            max_delivery_attempts=_get(
                environ, "QUIZ_MAX_DELIVERY_ATTEMPTS", int, cls.max_delivery_attempts
            ),
            scoring_batch_size=_get(
                environ, "QUIZ_SCORING_BATCH_SIZE", _positive_int, cls.scoring_batch_size
            ),
            scoring_batch_wait_s=_get(
                environ, "QUIZ_SCORING_BATCH_WAIT_S", _positive_float, cls.scoring_batch_wait_s
            ),
            task_events=_get(environ, "QUIZ_TASK_EVENTS", _flag, cls.task_events),
            db_pool_size=_get(environ, "QUIZ_DB_POOL_SIZE", int, cls.db_pool_size),
            redis_socket_timeout_s=_get(
                environ, "QUIZ_REDIS_SOCKET_TIMEOUT_S", float, cls.redis_socket_timeout_s
            ),
            redis_max_connections=_get(
                environ, "QUIZ_REDIS_MAX_CONNECTIONS", _positive_int, cls.redis_max_connections
            ),
            rate_limits=_get(environ, "QUIZ_RATE_LIMITS", _flag, cls.rate_limits),
            rate_limit_answers=_get(
                environ, "QUIZ_RATE_LIMIT_ANSWERS", _rate_limit, cls.rate_limit_answers
            ),
            rate_limit_joins=_get(
                environ, "QUIZ_RATE_LIMIT_JOINS", _rate_limit, cls.rate_limit_joins
            ),
            rate_limit_lookups=_get(
                environ, "QUIZ_RATE_LIMIT_LOOKUPS", _rate_limit, cls.rate_limit_lookups
            ),
            rate_limit_streams=_get(
                environ, "QUIZ_RATE_LIMIT_STREAMS", _rate_limit, cls.rate_limit_streams
            ),
            streams_per_address=_get(
                environ, "QUIZ_STREAMS_PER_ADDRESS", _positive_int, cls.streams_per_address
            ),
            streams_per_process=_get(
                environ, "QUIZ_STREAMS_PER_PROCESS", _positive_int, cls.streams_per_process
            ),
            trusted_proxies=_get(environ, "QUIZ_TRUSTED_PROXIES", _count, cls.trusted_proxies),
            blocked_names_file=_get(environ, "QUIZ_BLOCKED_NAMES_FILE", _readable_file, ""),
            log_level=_get(environ, "QUIZ_LOG_LEVEL", _log_level, cls.log_level),
            ready_timeout_s=_get(environ, "QUIZ_READY_TIMEOUT_S", float, cls.ready_timeout_s),
            prometheus_multiproc_dir=environ.get("PROMETHEUS_MULTIPROC_DIR") or "",
            flower_port=_get(environ, "FLOWER_PORT", int, cls.flower_port),
            flower_address=environ.get("FLOWER_ADDRESS") or cls.flower_address,
            flower_basic_auth=environ.get("FLOWER_BASIC_AUTH") or "",
            metrics_basic_auth=_get(environ, "QUIZ_METRICS_BASIC_AUTH", _login, ""),
            dev_secrets_file=environ.get("QUIZ_DEV_SECRETS_FILE") or str(DEV_SECRETS_FILE),
            sentry_dsn=environ.get("SENTRY_DSN") or "",
            sentry_traces_sample_rate=_get(
                environ, "SENTRY_TRACES_SAMPLE_RATE", _fraction, cls.sentry_traces_sample_rate
            ),
            source_commit=environ.get("SOURCE_COMMIT") or "",
            new_relic_license_key=environ.get("NEW_RELIC_LICENSE_KEY") or "",
        )
        return settings.with_secrets_checked()

    def with_secrets_checked(self) -> Settings:
        """Outside production, fill the secrets left unset with this checkout's random
        ones; refuse to run production without them."""
        missing = [
            name
            for name, value in (("QUIZ_HOST_KEY", self.host_key), ("SECRET_KEY", self.secret_key))
            if not value
        ]
        if not missing:
            return self
        if self.env is Environment.PRODUCTION:
            raise SettingsError(f"{' and '.join(missing)} must be set when QUIZ_ENV=production")
        kept = development_secrets(Path(self.dev_secrets_file))
        return replace(
            self,
            host_key=self.host_key or kept["host_key"],
            secret_key=self.secret_key or kept["secret_key"],
        )

    @property
    def uses_development_secrets(self) -> bool:
        """Whether the host key is this checkout's generated one (to tell the host)."""
        try:
            kept = json.loads(Path(self.dev_secrets_file).read_text())
            return bool(kept["host_key"] == self.host_key)
        except (OSError, ValueError, KeyError):
            return False


def development_secrets(path: Path) -> dict[str, str]:
    """This checkout's random host key and token secret, made the first time they are asked
    for. Processes that start together agree: the first file written wins. Where no file
    can be written, this process makes its own (never a key from the source)."""
    made = {"host_key": secrets.token_urlsafe(12), "secret_key": secrets.token_urlsafe(32)}
    try:
        if path.exists():
            return _read_secrets(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        draft.write_text(json.dumps(made))
        draft.chmod(0o600)
        try:
            os.link(draft, path)  # atomic, and fails if another process was first
        except FileExistsError:
            pass
        finally:
            draft.unlink()
        return _read_secrets(path)
    except OSError as exc:
        warnings.warn(
            f"development secrets cannot be kept in {path} ({exc}); this process uses its own",
            stacklevel=2,
        )
        return made


def _read_secrets(path: Path) -> dict[str, str]:
    try:
        kept = json.loads(path.read_text())
        return {"host_key": str(kept["host_key"]), "secret_key": str(kept["secret_key"])}
    except (ValueError, KeyError, TypeError) as exc:
        raise SettingsError(f"{path} is not a development secrets file: remove it") from exc


def _get(environ: Mapping[str, str], name: str, convert: Callable[[str], T], default: T) -> T:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return convert(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not valid: {exc}") from None


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError("use DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level


def _login(raw: str) -> str:
    user, colon, password = raw.partition(":")
    if not (user and colon and password) or any(c.isspace() for c in raw):
        raise ValueError("use user:password")
    return raw


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("use 1 or 0 (true/false, yes/no, on/off)")


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be 1 or more")
    return value


def _readable_file(raw: str) -> str:
    if not os.access(raw, os.R_OK) or not os.path.isfile(raw):
        raise ValueError("no readable file there")
    return raw


def _count(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _rate_limit(raw: str) -> str:
    """A rate limit as Flask-Limiter reads it, checked here so a typo stops the start."""
    try:
        parse_many(raw)
    except ValueError:
        raise ValueError('use a rate such as "5/second" or "1000 per minute"') from None
    return raw.strip()


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be more than 0")
    return value


def _fraction(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 1.0:
        raise ValueError("must be between 0 and 1")
    return value
