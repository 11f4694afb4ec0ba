"""JSON-lines logs on stdout for every process, carrying the request and task ids.

One line per record: `ts`, `level`, `logger`, `message`, `component` (web, worker, beat,
leaderboard…), `pid`, the context bound to the current request or task (`request_id`,
`task_id`, `task_name`) and any `extra=` fields. So `grep <request id>` follows one
answer from the HTTP request through the worker that scores it.

Secrets never reach the output: bearer tokens, signed participant tokens, passwords in
URLs and `name=value` pairs whose name says secret are masked in every line.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Any

REDACTED = "[redacted]"

# the current request's or task's ids; a copy per thread, greenlet and task run
_context: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "quiz_log_context", default=None
)

# attributes every LogRecord has: anything else came in through `extra=`
_RECORD_FIELDS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, __file__, 0, "", None, None)).keys()
) | {"message", "asctime", "taskName"}

_SECRET_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization: Bearer <token>
    (re.compile(r"(?i)\b(bearer)\s+[^\s,;\"']+"), r"\1 " + REDACTED),
    # user:password@ in any URL (database, broker, Sentry DSN)
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*):[^@/\s]+@"), r"\1:" + REDACTED + "@"),
    # password=…, secret_key: …, token=…, X-Host-Key: …, license_key=…, dsn=…
    (
        re.compile(
            r"(?i)\b([\w-]*(?:password|passwd|secret|token|host[_-]key|api[_-]key|"
            r"license[_-]key|authorization|dsn|basic[_-]auth)[\w-]*)(\s*[=:]\s*)"
            r"(?!\[redacted\])[^\s,;&\"']+"
        ),
        r"\1\2" + REDACTED,
    ),
    # itsdangerous-signed values (participant tokens): three long dot-separated parts
    (re.compile(r"\b[\w-]{16,}\.[\w-]{4,}\.[\w-]{16,}\b"), REDACTED),
]


def redact(text: str) -> str:
    """Mask credentials in a piece of log text."""
    if len(text) <= _SHORT:
        return _redact_short(text)
    return _redact(text)


def _redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


# log lines repeat the same short values (paths, messages, names) over and over
_SHORT = 200
_redact_short = functools.lru_cache(maxsize=4096)(_redact)


@functools.lru_cache(maxsize=1024)
def _is_secret_name(name: str) -> bool:
    return _redact(f"{name}=x") != f"{name}=x"


def bind(**fields: str | None) -> contextvars.Token[Mapping[str, str] | None]:
    """Add fields to the log context of the current request or task; reset() undoes it."""
    merged = dict(_context.get() or {})
    merged.update({name: value for name, value in fields.items() if value})
    return _context.set(merged)


def reset(token: contextvars.Token[Mapping[str, str] | None]) -> None:
    """Undo bind(); when the end of a request or task runs in another context than its
    start (a token of another context), drop the ids all the same."""
    try:
        _context.reset(token)
    except ValueError:
        clear()


def clear() -> None:
    """Forget the whole context (a worker process between two tasks)."""
    _context.set({})


@contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    token = bind(**fields)
    try:
        yield
    finally:
        reset(token)


def current(name: str) -> str | None:
    """A field of the current context, e.g. current("request_id")."""
    return (_context.get() or {}).get(name)


def correlation_headers() -> dict[str, str]:
    """Message headers that carry the current request id to the next process (or none)."""
    request_id = current("request_id")
    return {"request_id": request_id} if request_id else {}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object on one line."""

    def __init__(self, component: str = "") -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if self.component:
            doc["component"] = self.component
        doc["pid"] = record.process
        doc.update(_context.get() or {})
        for name, value in record.__dict__.items():
            if name not in _RECORD_FIELDS and not name.startswith("_") and name not in doc:
                doc[name] = _safe(name, value)
        if record.exc_info:
            doc["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            doc["exc"] = redact(record.exc_text)
        if record.stack_info:
            doc["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(doc, default=str, ensure_ascii=False)


def _safe(name: str, value: Any) -> Any:
    if isinstance(value, str):
        return REDACTED if _is_secret_name(name) else redact(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_safe(name, item) for item in value]
    return redact(str(value))


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Write to the sys.stdout of the moment, so a replaced stdout (tests) is honoured."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        super().__init__(stream)
        self._fixed = stream

    @property
    def stream(self) -> IO[str]:
        return self._fixed if self._fixed is not None else sys.stdout

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        # StreamHandler.__init__ assigns it; only an explicit stream is kept
        pass


def json_handler(component: str = "", stream: IO[str] | None = None) -> logging.Handler:
    """The one handler this module installs; marked so a later call can replace it."""
    handler = StdoutHandler(stream)
    handler.quiz_json = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter(component))
    return handler


def configure_logging(
    component: str, level: str | int = "INFO", stream: IO[str] | None = None
) -> None:
    """Send every log record of the process to stdout as JSON lines.

    Idempotent: the handler installed by an earlier call is replaced, handlers others
    installed (pytest's, say) are left alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "quiz_json", False):
            root.removeHandler(handler)
    root.addHandler(json_handler(component, stream))
    root.setLevel(level.upper() if isinstance(level, str) else level)


def gunicorn_logconfig(component: str = "web") -> dict[str, Any]:
    """gunicorn's `logconfig_dict`: its own messages as JSON lines on stdout too."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"json": {"()": json_handler, "component": component}},
        "root": {"level": "INFO", "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
        },
    }
