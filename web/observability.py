"""What operators see of the web process: JSON logs, request ids, metrics, Sentry, New Relic.

Every request gets an id: the client's `X-Request-ID` when it is sane (1 to 128 letters,
digits and `._:-`), else a new one. It is echoed in the response, bound to every log
line of the request, tagged on its Sentry events and sent with the scoring task
(web/dispatch.py), whose worker logs it next to the task id.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from shared import logging as quiz_logging
from shared.config import Settings
from shared.monitoring import init_newrelic, init_sentry, tag_event
from web import metrics

log = logging.getLogger("web.request")

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
# probes and scrapes come every few seconds: logged at DEBUG, counted all the same
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# reads that every phone and screen of a quiz repeats: their successes are logged at
# DEBUG too (thousands of lines a second that say nothing), counted all the same; a
# refusal or an error of theirs is logged at INFO like any other request
POLLED_ENDPOINTS = frozenset({"leaderboard.Leaderboard"})


def init_process(settings: Settings) -> None:
    """Logs, New Relic and Sentry, before the Flask app and its views exist."""
    quiz_logging.configure_logging("web", settings.log_level)
    init_newrelic(settings)
    init_sentry(settings, "web")


def init_app(app: Flask) -> None:
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_forget_request)
    app.add_url_rule("/metrics", "metrics", metrics.metrics_view, methods=["GET"])


def request_id_from(header: str | None) -> str:
    """The client's id when it is sane, else a new one (never an error: it is optional)."""
    if header and SANE_REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


def _start_request() -> None:
    # from the WSGI environ: the headers' get raises and catches inside werkzeug when absent
    g.request_id = request_id_from(request.environ.get(REQUEST_ID_ENVIRON))
    g.request_started = time.perf_counter()
    g.log_context = quiz_logging.bind(request_id=g.request_id)
    tag_event(request_id=g.request_id)


def _finish_request(response: Response) -> Response:
    request_id = g.get("request_id") or request_id_from(None)
    response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    seconds = time.perf_counter() - started if started is not None else 0.0
    endpoint, status = request.endpoint, response.status_code
    method, path = request.method, request.path
    rule = request.url_rule.rule if request.url_rule is not None else None
    metrics.observe_request(
        endpoint,
        rule,
        method,
        status,
        seconds,
        replayed=endpoint == metrics.SUBMIT_ENDPOINT
        and response.headers.get("Idempotent-Replayed") == "true",
    )
    quiet = path in QUIET_PATHS or (status < 300 and endpoint in POLLED_ENDPOINTS)
    level = logging.DEBUG if quiet else logging.INFO
    if log.isEnabledFor(level):
        log.log(
            level,
            "request.finished",
            extra={
                "method": method,
                "path": path,
                "endpoint": rule or metrics.UNMATCHED,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
            },
        )
    return response


def _forget_request(_exc: BaseException | None) -> None:
    token = g.pop("log_context", None)
    if token is None:
        return
    quiz_logging.reset(token)
