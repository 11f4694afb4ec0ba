"""Concurrent retries of one submission: one answer, one task, one effect."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers import join, open_question, submit
from tests.integration.support import (
    create_quiz,
    rows,
    scalar,
    stored_answers,
    wait_all_scored,
    wait_queue_drained,
)

pytestmark = pytest.mark.integration

COPIES = 50


def test_concurrent_replays_of_one_key_count_once(
    app, client, celery_app, engine, redis_client, start_worker
):
    """50 simultaneous copies of one keyed submission: all 202, one answer, one task, one score."""
    start_worker()
    code, questions = create_quiz(client, [(1000, 30)])
    question = questions[0]
    participant = join(client, code, "Ann")
    open_question(client, code, question.question_id)
    key = str(uuid.uuid4())
    barrier = threading.Barrier(COPIES)

    def send(_: int):
        own_client = app.test_client()
        barrier.wait(timeout=30)
        return submit(
            own_client, code, participant, question.question_id, question.right_choice, key=key
        )

    with ThreadPoolExecutor(max_workers=COPIES) as pool:
        responses = list(pool.map(send, range(COPIES)))

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
