"""Building blocks the integration tests share: polling, quiz set-up and the scoring rule.

The scoring rule here is written out from DESIGN.md on purpose, without importing
`shared.quiz.scoring`, so a test comparing the two catches a mistake in either.
"""

from __future__ import annotations

import json
import math
import queue
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from celery import Celery
from flask.testing import FlaskClient
from kombu import Connection
from sqlalchemy import Engine, text

from shared.events import leaderboard_queue, validate_leaderboard_event
from tests.helpers import DRAIN_TIMEOUT_S, HOST, join, open_question, submit, wait_until
from worker.tasks.maintenance import scoring_queue_depth

__all__ = ["DRAIN_TIMEOUT_S", "wait_until"]  # the tests' one polling helper, re-exported


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def execute(engine: Engine, sql: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def wait_all_scored(
    engine: Engine, expected_answers: int, timeout: float = DRAIN_TIMEOUT_S
) -> None:
    """Wait until `expected_answers` answers exist and none of them waits for a worker."""

    def done() -> bool:
        counts = rows(
            engine,
            "SELECT count(*) AS total, count(*) FILTER (WHERE state = 'accepted') AS waiting "
            "FROM answers",
        )[0]
        return counts.total == expected_answers and counts.waiting == 0

    wait_until(done, f"{expected_answers} answers to be scored", timeout)


def worker_holds_tasks(celery_app: Celery) -> bool:
    """Whether a worker is running, holding or scheduling a task (asked over the broker)."""
    with celery_app.connection_for_write() as conn:
        inspect = celery_app.control.inspect(timeout=1.0, connection=conn)
        held = [inspect.active(), inspect.reserved(), inspect.scheduled()]
    return any(tasks for replies in held for tasks in (replies or {}).values())


def wait_queue_drained(celery_app: Celery, timeout: float = DRAIN_TIMEOUT_S) -> None:
    wait_until(
        lambda: scoring_queue_depth(celery_app) == 0 and not worker_holds_tasks(celery_app),
        "the scoring queue to drain",
        timeout,
    )


@dataclass(frozen=True)
class EventMessage:
    """One message taken off `leaderboard.updates`: its body, headers and the updates it
    carries (validated: version 1 or 2)."""

    payload: dict[str, Any]
    headers: dict[str, Any]
    updates: list[dict[str, Any]]


def take_leaderboard_messages(
    broker_url: str,
    *,
    updates: int | None = None,
    first_timeout: float = 30.0,
    then_timeout: float = 0.5,
) -> list[EventMessage]:
    """Take messages off `leaderboard.updates` until `updates` updates came (or, without
    it, until none comes for `then_timeout`), waiting up to `first_timeout` for the first."""
    taken: list[EventMessage] = []
    with Connection(broker_url) as conn:
        events = conn.SimpleQueue(leaderboard_queue)
        try:
            timeout = first_timeout
            while updates is None or sum(len(m.updates) for m in taken) < updates:
                try:
                    message = events.get(timeout=timeout)
                except queue.Empty:
                    if updates is not None:
                        raise AssertionError(
                            f"{sum(len(m.updates) for m in taken)} of {updates} updates came"
                        ) from None
                    break
                # consumers in any language read it as JSON
                assert message.content_type == "application/json"
                body, headers = message.payload, dict(message.headers or {})
                taken.append(EventMessage(body, headers, validate_leaderboard_event(body)))
                message.ack()
                timeout = then_timeout if updates is None else first_timeout
        finally:
            events.close()
    return taken


def worker_lines(log: str, message: str, **fields: Any) -> list[dict[str, Any]]:
    """The JSON log lines of a process whose message is `message` and fields match."""
    found = []
    for line in log.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("message") == message and all(record.get(k) == v for k, v in fields.items()):
            found.append(record)
    return found


# --- quiz set-up through the API ---------------------------------------------------------


@dataclass(frozen=True)
class QuizQuestion:
    question_id: int
    right_choice: int
    wrong_choices: tuple[int, ...]


def create_quiz(
    client: FlaskClient, questions: Sequence[tuple[int, int]]
) -> tuple[str, list[QuizQuestion]]:
    """Create a quiz from `(points, time_limit_s)` pairs; the first choice is the right one."""
    body = {
        "title": "Integration quiz",
        "questions": [
            {
                "text": f"Question {n}",
                "points": points,
                "time_limit_s": time_limit_s,
                "choices": [
                    {"text": "right", "correct": True},
                    {"text": "wrong", "correct": False},
                    {"text": "also wrong", "correct": False},
                ],
            }
            for n, (points, time_limit_s) in enumerate(questions, start=1)
        ],
    }
    response = client.post("/api/v1/quizzes", json=body, headers=HOST)
    assert response.status_code == 201, response.json
    quiz = response.json
    made = []
    for question in quiz["questions"]:
        choice_ids = [choice["choice_id"] for choice in question["choices"]]
        made.append(QuizQuestion(question["question_id"], choice_ids[0], tuple(choice_ids[1:])))
    return quiz["quiz_id"], made


@dataclass(frozen=True)
class AcceptedAnswer:
    quiz_code: str
    participant_id: int
    task_id: str


def accept_one_right_answer(client: FlaskClient) -> AcceptedAnswer:
    """A one-question quiz whose one participant, Ann, answers right: accepted (202)."""
    code, [question] = create_quiz(client, [(1000, 30)])
    participant = join(client, code, "Ann")
    open_question(client, code, question.question_id)
    response = submit(client, code, participant, question.question_id, question.right_choice)
    assert response.status_code == 202, response.json
    return AcceptedAnswer(code, participant["participant_id"], response.json["task_id"])


# --- the scoring rule of DESIGN.md, written out independently -----------------------------

FULL_POINTS_WINDOW_S = 0.5
STREAK_STEP = 100
STREAK_CAP = 500


@dataclass(frozen=True)
class QuestionFacts:
    question_id: int
    points: int
    time_limit_s: int
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class AnswerFacts:
    question_id: int
    right_choice: bool
    received_at: datetime


def expected_points(
    questions: Iterable[QuestionFacts], answers: Mapping[int, AnswerFacts]
) -> dict[int, int]:
    """Points each of one participant's answers earns, by question id.

    DESIGN.md: a right choice in time earns round-half-up(points × (1 − (elapsed /
    time_limit) / 2)), all the points within the first 0.5 s; a wrong or late one earns 0.
    The 2nd right answer in a row adds 100, the 3rd 200 … at most 500 (never doubled); a
    wrong or missing answer resets the streak. Questions count in the order they opened.
    """
    points: dict[int, int] = {}
    streak = 0
    for question in sorted(questions, key=lambda q: q.opened_at):
        answer = answers.get(question.question_id)
        if answer is None:
            streak = 0
            continue
        elapsed = (answer.received_at - question.opened_at).total_seconds()
        in_time = 0 <= elapsed <= question.time_limit_s and (
            question.closed_at is None or answer.received_at <= question.closed_at
        )
        if not (answer.right_choice and in_time):
            streak = 0
            points[question.question_id] = 0
            continue
        streak += 1
        if elapsed <= FULL_POINTS_WINDOW_S:
            base = question.points
        else:
            base = math.floor(question.points * (1 - (elapsed / question.time_limit_s) / 2) + 0.5)
        points[question.question_id] = base + min(STREAK_STEP * (streak - 1), STREAK_CAP)
    return points


def question_facts(engine: Engine, quiz_code: str) -> list[QuestionFacts]:
    """The stored open/close times, limits and points of a quiz's opened questions."""
    found = rows(
        engine,
        "SELECT q.id, q.points, q.time_limit_s, q.opened_at, q.closed_at "
        "FROM questions q JOIN quizzes z ON z.id = q.quiz_id "
        "WHERE z.code = :code AND q.opened_at IS NOT NULL",
        code=quiz_code,
    )
    return [QuestionFacts(r.id, r.points, r.time_limit_s, r.opened_at, r.closed_at) for r in found]


def stored_answers(engine: Engine) -> list[Any]:
    return rows(
        engine,
        "SELECT id, participant_id, question_id, choice_id, state, task_id, received_at, "
        "enqueued_at, points, streak_bonus FROM answers ORDER BY id",
    )
