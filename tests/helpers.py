"""Small API helpers the api and integration tests share."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask.testing import FlaskClient
from sqlalchemy import text

from scripts.processes import wait_for

TEST_HOST_KEY = "test-host-key"
TEST_SECRET_KEY = "test-secret-key"
HOST = {"X-Host-Key": TEST_HOST_KEY}
# how long a test waits for a stream event
STREAM_WAIT_S = 30.0


T = TypeVar("T")

# every wait in the tests is a bounded poll; none of them measures speed
DRAIN_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.1


def wait_until(
    predicate: Callable[[], T],
    what: str,
    timeout: float = DRAIN_TIMEOUT_S,
    interval: float = POLL_INTERVAL_S,
) -> T:
    """scripts/processes.py's wait_for, with the bound the tests' drains need."""
    return wait_for(predicate, what, timeout, interval)


def quiz_body(questions: int = 3, points: int = 1000, time_limit_s: int = 30) -> dict[str, Any]:
    """A quiz whose first choice is the correct one in every question."""
    return {
        "title": "Test quiz",
        "questions": [
            {
                "text": f"Question {n}",
                "time_limit_s": time_limit_s,
                "points": points,
                "choices": [
                    {"text": "right", "correct": True},
                    {"text": "wrong", "correct": False},
                    {"text": "also wrong", "correct": False},
                ],
            }
            for n in range(1, questions + 1)
        ],
    }


def mixed_quiz_body(time_limit_s: int = 30) -> dict[str, Any]:
    """A quiz with one question of each type, in this order: single, true_false, multi
    (partial credit), type_answer, order, poll."""
    limit = {"time_limit_s": time_limit_s}
    return {
        "title": "Irregular verbs",
        "questions": [
            {
                **limit,
                "text": "The past of go?",
                "choices": [{"text": "went", "correct": True}, {"text": "goed", "correct": False}],
            },
            {
                **limit,
                "type": "true_false",
                "text": "'Gone' is a past participle.",
                "correct": True,
            },
            {
                **limit,
                "type": "multi",
                "partial": True,
                "text": "Which are irregular?",
                "choices": [
                    {"text": "sing", "correct": True},
                    {"text": "bring", "correct": True},
                    {"text": "walk", "correct": False},
                    {"text": "think", "correct": True},
                ],
            },
            {
                **limit,
                "type": "type_answer",
                "text": "Type the past of 'bring'.",
                "accepted_answers": ["brought"],
                "max_typos": 1,
                "ignore_trailing_period": True,
            },
            {
                **limit,
                "type": "order",
                "text": "Put the forms of 'sing' in order: base, past, participle.",
                "choices": [{"text": "sing"}, {"text": "sang"}, {"text": "sung"}],
            },
            {
                **limit,
                "type": "poll",
                "text": "Which did you find hardest?",
                "choices": [{"text": "bring"}, {"text": "sing"}, {"text": "think"}],
            },
        ],
    }


def create_quiz(client: FlaskClient, **kwargs: Any) -> dict[str, Any]:
    response = client.post("/api/v1/quizzes", json=quiz_body(**kwargs), headers=HOST)
    assert response.status_code == 201, response.json
    return response.json


def join(client: FlaskClient, quiz_id: str, name: str) -> dict[str, Any]:
    response = client.post(f"/api/v1/quizzes/{quiz_id}/participants", json={"display_name": name})
    assert response.status_code == 201, response.json
    return response.json


def open_question(client: FlaskClient, quiz_id: str, question_id: int) -> dict[str, Any]:
    response = client.post(f"/api/v1/quizzes/{quiz_id}/questions/{question_id}/open", headers=HOST)
    assert response.status_code == 200, response.json
    return response.json


def close_question(client: FlaskClient, quiz_id: str, question_id: int) -> dict[str, Any]:
    response = client.post(f"/api/v1/quizzes/{quiz_id}/questions/{question_id}/close", headers=HOST)
    assert response.status_code == 200, response.json
    return response.json


def bearer(participant: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {participant['token']}"}


def submit(
    client: FlaskClient,
    quiz_id: str,
    participant: dict[str, Any],
    question_id: int,
    choice_id: int,
    key: str | None = None,
) -> Any:
    headers = bearer(participant)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(
        f"/api/v1/quizzes/{quiz_id}/answers",
        json={"question_id": question_id, "choice_id": choice_id},
        headers=headers,
    )


def row_counts(engine: Any) -> dict[str, int]:
    """Rows per table, to show that a refused request wrote nothing."""
    tables = ("quizzes", "questions", "choices", "participants", "answers", "outbox_events")
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def tables_holding(engine: Any, needle: str) -> list[str]:
    """Every table of the schema with a row whose text holds `needle` (any column)."""
    with engine.connect() as conn:
        tables = conn.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        ).scalars()
        return [
            table
            for table in list(tables)
            if conn.execute(
                text(f'SELECT count(*) FROM "{table}" t WHERE t::text ILIKE :needle'),
                {"needle": f"%{needle}%"},
            ).scalar_one()
        ]


def keys_holding(redis_client: Any, needle: str) -> list[str]:
    """Every key of this test's Redis DB whose name or value holds `needle`."""
    found = []
    for key in redis_client.scan_iter(count=1000):
        kind = redis_client.type(key)
        values = {
            "string": lambda k: [redis_client.get(k)],
            "hash": lambda k: [*redis_client.hgetall(k).items()],
            "set": lambda k: list(redis_client.smembers(k)),
            "zset": lambda k: redis_client.zrange(k, 0, -1),
            "list": lambda k: redis_client.lrange(k, 0, -1),
        }.get(kind, lambda k: [])(key)
        if needle.lower() in f"{key} {values}".lower():
            found.append(key)
    return found


class Stream:
    """Reads Server-Sent Events from a streamed test-client response."""

    def __init__(self, response):
        self.response = response
        self.chunks = iter(response.response)
        self.buffer = ""

    def next_event(self, timeout=STREAM_WAIT_S):
        """The next event as a dict of its fields; heartbeats are skipped."""
        deadline = time.monotonic() + timeout
        while "\n\n" not in self.buffer:
            if time.monotonic() > deadline:
                raise AssertionError("no event in time")
            chunk = next(self.chunks)
            self.buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        block, self.buffer = self.buffer.split("\n\n", 1)
        fields = {}
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            if name:
                fields[name] = value
        if set(fields) <= {"", "retry"} or block.startswith(":"):
            return self.next_event(max(0.0, deadline - time.monotonic()))
        if "data" in fields:
            fields["data"] = json.loads(fields["data"])
        return fields

    def close(self):
        self.response.close()
