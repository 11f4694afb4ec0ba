"""Request ids, JSON request logs and Prometheus metrics of the API (Flask client, eager Celery)."""

from __future__ import annotations

import json
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

import worker.observability  # noqa: F401  connects the task signals, as the worker does
from tests.helpers import (
    HOST,
    TEST_HOST_KEY,
    TEST_SECRET_KEY,
    create_quiz,
    join,
    open_question,
    submit,
)


def log_lines(text: str) -> list[dict]:
    """The JSON lines among captured output (pytest may add others)."""
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


def sample(client, name: str, **labels: str) -> float:
    """A sample's value as /metrics shows it (0 when absent)."""
    text = client.get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(text):
        for metric in family.samples:
            if metric.name == name and all(metric.labels.get(k) == v for k, v in labels.items()):
                return metric.value
    return 0.0


@pytest.fixture
def game(client):
    quiz = create_quiz(client, questions=2)
    code = quiz["quiz_id"]
    first, second = quiz["questions"]
    open_question(client, code, first["question_id"])
    return code, first, second, join(client, code, "Ann")


# --- request ids -----------------------------------------------------------------------


def test_a_sane_request_id_from_the_client_is_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "client-id-1.2:3"})
    assert response.headers["X-Request-ID"] == "client-id-1.2:3"


def test_a_missing_or_insane_request_id_is_replaced_by_a_new_one(client):
    for given in (None, "", "has space", "x" * 129, "<script>", "\u00fc-nicode"):
        headers = {} if given is None else {"X-Request-ID": given}
        response = client.get("/healthz", headers=headers)
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"]), given


def test_errors_carry_the_request_id_too(client):
    response = client.get("/api/v1/quizzes/NOPE42", headers={"X-Request-ID": "lost-1"})
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "lost-1"
    assert response.json["code"] == 404


def test_every_request_gets_its_own_id(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


# --- logs ------------------------------------------------------------------------------


def test_one_answer_is_followed_by_its_request_id_from_request_to_task(client, game, capsys):
    code, first, _, ann = game
    capsys.readouterr()
    response = client.post(
        f"/api/v1/quizzes/{code}/answers",
        json={"question_id": first["question_id"], "choice_id": first["choices"][0]["choice_id"]},
        headers={"Authorization": f"Bearer {ann['token']}", "X-Request-ID": "follow-me-7"},
    )
    assert response.status_code == 202
    task_id = response.json["task_id"]

    lines = [
        line
        for line in log_lines(capsys.readouterr().out)
        if line.get("request_id") == "follow-me-7"
    ]
    finished = [line for line in lines if line["message"] == "request.finished"]
    assert finished == [
        {
            **finished[0],
            "component": "web",
            "method": "POST",
            "path": f"/api/v1/quizzes/{code}/answers",
            "endpoint": "/api/v1/quizzes/<join_code:quiz_id>/answers",
            "status": 202,
        }
    ]
    # the scoring task ran (eagerly, inside the request) with the request id and its own id
    task_lines = [line for line in lines if line.get("task_id") == task_id]
    assert task_lines, lines
    assert all(line["task_name"] == "quiz.scoring.score_answer" for line in task_lines)


def test_no_token_or_key_reaches_the_logs(client, capsys):
    capsys.readouterr()
    quiz = create_quiz(client)
    code, question = quiz["quiz_id"], quiz["questions"][0]
    open_question(client, code, question["question_id"])
    ann = join(client, code, "Ann")
    submit(
        client, code, ann, question["question_id"], question["choices"][0]["choice_id"], key="k-1"
    )
    # refused calls log too: a wrong host key, a forged token
    client.post("/api/v1/quizzes", json={}, headers={"X-Host-Key": "wrong-host-key-123"})
    submit(client, code, {"token": ann["token"] + "x"}, question["question_id"], 1)

    out = capsys.readouterr().out
    assert log_lines(out), "nothing was logged"
    for secret in (ann["token"], TEST_HOST_KEY, TEST_SECRET_KEY, "wrong-host-key-123"):
        assert secret not in out


# --- metrics ---------------------------------------------------------------------------


def test_metrics_count_requests_per_endpoint_and_status(client):
    rule = "/api/v1/quizzes/<join_code:quiz_id>"
    before = sample(client, "quiz_http_requests_total", endpoint=rule, method="GET", status="404")
    before_hist = sample(
        client, "quiz_http_request_duration_seconds_count", endpoint=rule, method="GET"
    )
    for code in ("NOPE01", "NOPE02"):
        assert client.get(f"/api/v1/quizzes/{code}").status_code == 404

    after = sample(client, "quiz_http_requests_total", endpoint=rule, method="GET", status="404")
    after_hist = sample(
        client, "quiz_http_request_duration_seconds_count", endpoint=rule, method="GET"
    )
    assert after - before == 2
    assert after_hist - before_hist == 2
    response = client.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain")
    # a raw path (with its quiz code) never becomes a label
    assert "NOPE01" not in response.get_data(as_text=True)


def test_board_reads_are_logged_only_when_they_fail_and_counted_all_the_same(client, capsys):
    """A class polls the board: thousands of lines a second that say nothing (at DEBUG)."""
    code = create_quiz(client)["quiz_id"]
    rule = "/api/v1/quizzes/<join_code:quiz_id>/leaderboard"
    before = sample(client, "quiz_http_requests_total", endpoint=rule, method="GET", status="200")
    capsys.readouterr()
    for _ in range(3):
        assert client.get(f"/api/v1/quizzes/{code}/leaderboard").status_code == 200
    assert client.get("/api/v1/quizzes/NOPE01/leaderboard").status_code == 404
    assert client.get(f"/api/v1/quizzes/{code}/leaderboard?limit=0").status_code == 422
    logged = [
        line["status"]
        for line in log_lines(capsys.readouterr().out)
        if line["message"] == "request.finished"
    ]
    assert logged == [404, 422]
    after = sample(client, "quiz_http_requests_total", endpoint=rule, method="GET", status="200")
    assert after - before == 3


def test_metrics_count_submissions_accepted_and_rejected_by_reason(client, game):
    code, first, second, ann = game
    choice = first["choices"][0]["choice_id"]

    def counts() -> dict[tuple[str, str], float]:
        pairs = [
            ("accepted", "new"),
            ("accepted", "replayed"),
            ("rejected", "unauthenticated"),
            ("rejected", "conflict"),
            ("rejected", "invalid"),
        ]
        return {
            pair: sample(client, "quiz_submissions_total", outcome=pair[0], reason=pair[1])
            for pair in pairs
        }

    before = counts()
    assert submit(client, code, ann, first["question_id"], choice, key="a").status_code == 202
    assert submit(client, code, ann, first["question_id"], choice, key="a").status_code == 202
    other = first["choices"][1]["choice_id"]
    assert submit(client, code, ann, first["question_id"], other, key="b").status_code == 409
    assert (
        submit(client, code, {"token": "forged"}, first["question_id"], choice).status_code == 401
    )
    bad = client.post(
        f"/api/v1/quizzes/{code}/answers",
        json={"question_id": "one"},
        headers={"Authorization": f"Bearer {ann['token']}"},
    )
    assert bad.status_code == 422
    after = counts()

    assert {pair: after[pair] - before[pair] for pair in after} == {
        ("accepted", "new"): 1,
        ("accepted", "replayed"): 1,
        ("rejected", "conflict"): 1,
        ("rejected", "unauthenticated"): 1,
        ("rejected", "invalid"): 1,
    }


def test_host_calls_are_not_submissions(client):
    before = sample(client, "quiz_submissions_total", outcome="rejected", reason="unauthenticated")
    client.post("/api/v1/quizzes", json={}, headers={})
    client.post("/api/v1/quizzes", json={}, headers=HOST)
    after = sample(client, "quiz_submissions_total", outcome="rejected", reason="unauthenticated")
    assert after == before
