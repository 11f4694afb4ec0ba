"""Concurrent retries of one submission: one answer, one task, one effect."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from shared.config import Settings
from tests.helpers import join, open_question, submit
from tests.integration.support import (
    create_quiz,
    rows,
    scalar,
    stored_answers,
    wait_all_scored,
    wait_queue_drained,
)
from web import create_app

pytestmark = pytest.mark.integration

COPIES = 50


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Concurrent replays are what these tests are about; the per-player rate limit would
    refuse most of them, so it is off except where a test turns it on."""
    return replace(settings, rate_limits=False)


def send_copies(app, code, participant, question, key):
    """COPIES identical submissions at the same moment, each from its own client."""
    barrier = threading.Barrier(COPIES)

    def send(_: int):
        own_client = app.test_client()
        barrier.wait(timeout=30)
        return submit(
            own_client, code, participant, question.question_id, question.right_choice, key=key
        )

    with ThreadPoolExecutor(max_workers=COPIES) as pool:
        return list(pool.map(send, range(COPIES)))


def test_concurrent_replays_of_one_key_count_once(
    app, client, celery_app, engine, redis_client, start_worker
):
    """50 simultaneous copies of one keyed submission: all 202, one answer, one task, one score."""
    start_worker()
    code, questions = create_quiz(client, [(1000, 30)])
    question = questions[0]
    participant = join(client, code, "Ann")
    open_question(client, code, question.question_id)
    responses = send_copies(app, code, participant, question, str(uuid.uuid4()))

    assert [r.status_code for r in responses] == [202] * COPIES, [r.json for r in responses]
    task_ids = {r.json["task_id"] for r in responses}
    assert len(task_ids) == 1
    replayed = [r.headers.get("Idempotent-Replayed") for r in responses]
    assert replayed.count("true") == COPIES - 1
    assert replayed.count(None) == 1

    wait_all_scored(engine, expected_answers=1)
    wait_queue_drained(celery_app)
    [answer] = stored_answers(engine)
    assert str(answer.task_id) == task_ids.pop()
    assert answer.state == "scored"
    assert answer.points > 0
    total = scalar(
        engine,
        "SELECT total_score FROM participants WHERE id = :id",
        id=participant["participant_id"],
    )
    assert total == answer.points
    events = rows(engine, "SELECT answer_id FROM outbox_events")
    assert [e.answer_id for e in events] == [answer.id]


def test_with_the_rate_limit_on_copies_past_it_get_429_and_one_answer_counts(
    settings, celery_app, engine, start_worker
):
    """The same storm with the per-player limit on: 202s (one task) up to the limit, 429s
    after it, and still exactly one answer."""
    limited = create_app(replace(settings, rate_limits=True, rate_limit_answers="5/minute"))
    try:
        client = limited.test_client()
        start_worker()
        code, questions = create_quiz(client, [(1000, 30)])
        question = questions[0]
        participant = join(client, code, "Ann")
        open_question(client, code, question.question_id)
        responses = send_copies(limited, code, participant, question, None)
        statuses = [r.status_code for r in responses]
        assert statuses.count(202) == 5 and statuses.count(429) == COPIES - 5, statuses
        assert len({r.json["task_id"] for r in responses if r.status_code == 202}) == 1
        wait_all_scored(engine, expected_answers=1)
        [answer] = stored_answers(engine)
        assert answer.state == "scored"
    finally:
        limited.extensions["quiz.resources"].close()
        limited.extensions["celery"].close()
