"""Prometheus metrics of the API, served on /metrics.

gunicorn runs several worker processes, each counting only its own requests, and a
scrape reaches one of them. So under gunicorn the metrics use prometheus_client's
multiprocess mode: gunicorn.conf.py gives every run an empty PROMETHEUS_MULTIPROC_DIR,
each process writes its figures there, and /metrics adds up all of them. Without that
variable (the Flask test client, `flask run`) the process's own registry is served.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from flask import Response, request
from flask.typing import ResponseReturnValue
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily

from shared import redis_keys
from shared.config import Environment
from shared.errors import REDIS_DOWN
from web.db import resources
from web.errors import error_response

# the endpoint label is the URL rule (`/api/v1/quizzes/<join_code:quiz_id>/answers`), never
# the raw path, so a quiz code or task id never becomes a label value
UNMATCHED = "<unmatched>"

REQUESTS = Counter(
    "quiz_http_requests",
    "HTTP requests answered, by endpoint (URL rule), method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "quiz_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint (URL rule) and method.",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SUBMISSIONS = Counter(
    "quiz_submissions",
    "Answer submissions: accepted (reason new or replayed) or rejected (reason from the "
    "status: unauthenticated, forbidden, not_found, conflict, invalid, too_large, "
    "bad_request, unavailable, error).",
    ["outcome", "reason"],
)

SUBMIT_ENDPOINT = "answers.Answers"

REJECTION_REASONS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    503: "unavailable",
}


# the labelled counter and histogram of each (endpoint, method, status): prometheus_client
# checks and looks up the label values on every call, and every request makes two
_request_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def observe_request(
    endpoint: str | None,
    rule: str | None,
    method: str,
    status: int,
    seconds: float,
    replayed: bool,
) -> None:
    """Count one answered request; for a submission, also its outcome."""
    label = rule or UNMATCHED
    series = _request_series.get((label, method, status))
    if series is None:
        series = _request_series[(label, method, status)] = (
            REQUESTS.labels(label, method, str(status)),
            LATENCY.labels(label, method),
        )
    count, latency = series
    count.inc()
    latency.observe(seconds)
    if endpoint == SUBMIT_ENDPOINT and method == "POST":
        if status == 202:
            SUBMISSIONS.labels("accepted", "replayed" if replayed else "new").inc()
        else:
            SUBMISSIONS.labels("rejected", REJECTION_REASONS.get(status, "error")).inc()


class BoardRepairs:
    """`quiz_board_repairs_total`: board entries the reconciler (a beat job in the worker)
    repaired. The worker keeps the count in Redis; the API serves it with its own."""

    def describe(self) -> list[CounterMetricFamily]:
        return [self._family()]

    def collect(self) -> Iterator[CounterMetricFamily]:
        try:
            value = resources().redis.get(redis_keys.board_repairs())
        except REDIS_DOWN:
            return  # no figure rather than a wrong one
        family = self._family()
        family.add_metric([], int(value or 0))
        yield family

    @staticmethod
    def _family() -> CounterMetricFamily:
        return CounterMetricFamily(
            "quiz_board_repairs",
            "Leaderboard entries found different from PostgreSQL and repaired by the "
            "reconciler (QUIZ_RECONCILE_INTERVAL_S).",
        )


def registry() -> CollectorRegistry:
    """Every gunicorn process's figures in multiprocess mode, else this process's; and
    the reconciler's count."""
    collected = CollectorRegistry(auto_describe=True)
    path = resources().settings.prometheus_multiproc_dir
    if path:
        multiprocess.MultiProcessCollector(collected, path=path)
    else:
        collected.register(REGISTRY)
    collected.register(BoardRepairs())
    return collected


def metrics_view() -> ResponseReturnValue:
    """Prometheus text exposition of the API's metrics, behind QUIZ_METRICS_BASIC_AUTH."""
    settings = resources().settings
    if settings.metrics_basic_auth:
        user, _, password = settings.metrics_basic_auth.partition(":")
        given = request.authorization
        if (
            given is None
            or given.type != "basic"
            or not hmac.compare_digest(given.username or "", user)
            or not hmac.compare_digest(given.password or "", password)
        ):
            body, status = error_response(401, "/metrics needs the QUIZ_METRICS_BASIC_AUTH login")
            return body, status, {"WWW-Authenticate": 'Basic realm="metrics"'}
    elif settings.env is Environment.PRODUCTION:
        return error_response(403, "/metrics is off: set QUIZ_METRICS_BASIC_AUTH to scrape it")
    return Response(generate_latest(registry()), mimetype=CONTENT_TYPE_LATEST)
