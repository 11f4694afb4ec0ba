"""The API under gunicorn as `make run` and the web image start it: several processes.

/metrics must add up every worker process's figures (gunicorn.conf.py's multiprocess
mode), and every line gunicorn and the app print is JSON carrying the request id.
"""

from __future__ import annotations

import http.client
import json

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import HOST, quiz_body, row_counts
from tests.integration.processes import get, start_gunicorn
from tests.live_stack import environment, free_port

MAX_REQUESTS = 400
# logged at INFO (unlike the probes) and answered without any I/O
PATH = "/openapi.json"


def count(base: str) -> float:
    """quiz_http_requests_total of GET /openapi.json as /metrics reports it."""
    _, _, body = get(f"{base}/metrics")
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if (
                sample.name == "quiz_http_requests_total"
                and sample.labels.get("endpoint") == PATH
                and sample.labels.get("status") == "200"
            ):
                return sample.value
    return 0.0


def test_metrics_add_up_every_gunicorn_process_and_logs_are_json(settings, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_gunicorn(environment(settings), tmp_path / "gunicorn.log", port, workers=2)
    try:
        before = count(base)
        sent = 0
        serving: set[int] = set()
        # until both processes have answered some (logged with their pid): only then
        # does a total that adds them up differ from one process's count
        while len(serving) < 2 and sent < MAX_REQUESTS:
            for _ in range(10):
                status, headers, _ = get(f"{base}{PATH}", {"X-Request-ID": f"hz-{sent}"})
                assert status == 200
                assert headers["X-Request-ID"] == f"hz-{sent}"
                sent += 1
            serving = {
                line["pid"]
                for line in server.json_lines()
                if line.get("message") == "request.finished"
                and str(line.get("request_id", "")).startswith("hz-")
            }
        assert len(serving) == 2, "one process answered every request"
        # each scrape lands on one process or the other; every one sees the sum
        for _ in range(4):
            assert count(base) - before == sent
    finally:
        assert server.stop() == 0

    output = server.log().splitlines()
    assert output, "gunicorn printed nothing"
    lines = server.json_lines()
    assert len(lines) == len(output), [line for line in output if not line.startswith("{")]
    messages = [line["message"] for line in lines]
    assert any(m.startswith("Listening at: ") for m in messages)
    assert all(line["component"] == "web" for line in lines)


def post_chunked(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    """POST with `Transfer-Encoding: chunked` (no Content-Length), in 8 KiB chunks."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))
        conn.request(
            "POST",
            path,
            body=chunks,
            headers={"Content-Type": "application/json", **headers},
            encode_chunked=True,
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_a_chunked_body_over_the_limit_is_refused_with_413_and_nothing_written(
    settings, engine, tmp_path
):
    port = free_port()
    server = start_gunicorn(environment(settings), tmp_path / "gunicorn.log", port, workers=1)
    try:
        status, quiz = post_chunked(port, "/api/v1/quizzes", json.dumps(quiz_body()).encode(), HOST)
        assert status == 201
        join = f"/api/v1/quizzes/{quiz['quiz_id']}/participants"
        before = row_counts(engine)
        # valid JSON padded with 2 MB of spaces: cut at the limit, it used to be accepted
        padded = b'{"display_name": "Ann"}' + b" " * 2_000_000
        status, error = post_chunked(port, join, padded, {})
        assert (status, error["code"]) == (413, 413)
        assert "larger than 16384 bytes" in error["message"]
        assert row_counts(engine) == before
        # at the limit, chunked, it is taken
        status, joined = post_chunked(port, join, b'{"display_name": "Bo"}'.ljust(16384), {})
        assert (status, joined["display_name"]) == (201, "Bo")
    finally:
        assert server.stop() == 0
