"""At-least-once delivery: the same scoring task run twice, or twice at once, counts once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from shared import redis_keys
from shared.db import make_session_factory
from shared.quiz.batch_scoring import score_accepted_answer
from tests.integration.support import (
    accept_one_right_answer,
    rows,
    scalar,
    scoring_queue_depth,
    stored_answers,
    wait_all_scored,
    wait_queue_drained,
    wait_until,
    worker_lines,
)
from worker.tasks.scoring import score_answer

pytestmark = pytest.mark.integration


def settled(worker, task_id):
    """The worker's log lines of runs that settled this task (each copy logs one)."""
    return worker_lines(worker.log(), "score_answer.settled", task_id=task_id)


def assert_counted_once(engine, participant_id):
    [answer] = stored_answers(engine)
    assert answer.state == "scored"
    assert answer.points > 0
    total = scalar(engine, "SELECT total_score FROM participants WHERE id = :id", id=participant_id)
    assert total == answer.points
    assert [e.answer_id for e in rows(engine, "SELECT answer_id FROM outbox_events")] == [answer.id]
    return answer, total


def test_duplicate_deliveries_of_one_task_count_once(
    client, celery_app, engine, redis_client, start_worker
):
    """Two copies of a task taken at once, then a late third copy: one score, one event."""
    accepted = accept_one_right_answer(client)
    participant_id, task_id = accepted.participant_id, accepted.task_id
    [answer] = stored_answers(engine)
    assert str(answer.task_id) == task_id
    # a second copy of the message next to the first: both prefork processes take one
    score_answer.apply_async((answer.id, participant_id), task_id=task_id)
    assert scoring_queue_depth(celery_app) == 2

    worker = start_worker(concurrency=2)
    wait_all_scored(engine, expected_answers=1)
    wait_until(lambda: len(settled(worker, task_id)) == 2, "both copies to finish")
    wait_queue_drained(celery_app)
    scored, total = assert_counted_once(engine, participant_id)

    # a redelivery long after the score was committed changes nothing either
    score_answer.apply_async((answer.id, participant_id), task_id=task_id)
    wait_until(lambda: len(settled(worker, task_id)) == 3, "the late copy")
    wait_queue_drained(celery_app)
    again, total_again = assert_counted_once(engine, participant_id)
    assert (again.points, total_again) == (scored.points, total)

    status = client.get(f"/api/v1/tasks/{task_id}")
    assert status.status_code == 200
    assert status.json["state"] == "SUCCESS"
    assert status.json["result"]["answer_id"] == answer.id
    assert status.json["result"]["points"] == scored.points
    assert status.json["result"]["total_score"] == total


def test_concurrent_scoring_of_one_answer_counts_once(client, engine):
    """Two scorers racing on one answer, with no Redis lock between them: one score, one event."""
    participant_id = accept_one_right_answer(client).participant_id
    [answer] = stored_answers(engine)
    factory = make_session_factory(engine)
    barrier = threading.Barrier(2)

    def score(_: int):
        with factory() as session:
            barrier.wait(timeout=10)
            return score_accepted_answer(session, answer.id, datetime.now(UTC))

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(score, range(2)))

    assert sorted(o.event is not None for o in outcomes) == [False, True]
    assert {o.status.state.value for o in outcomes} == {"SUCCESS"}
    assert_counted_once(engine, participant_id)


def test_many_copies_in_flight_at_once_are_not_taken_for_poison(
    client, celery_app, settings, engine, redis_client, start_worker
):
    """More copies of a task running at once than QUIZ_MAX_DELIVERY_ATTEMPTS: still scored.

    None of the copies failed, so none of them is a failed delivery; the answer was promised
    a score. The participant's lock is held meanwhile, as while another of their answers is
    being scored, so every copy is in flight at the same time.
    """
    accepted = accept_one_right_answer(client)
    participant_id, task_id = accepted.participant_id, accepted.task_id
    [answer] = stored_answers(engine)
    copies = settings.max_delivery_attempts + 1
    for _ in range(copies - 1):
        score_answer.apply_async((answer.id, participant_id), task_id=task_id)
    assert scoring_queue_depth(celery_app) == copies
    busy = redis_client.lock(redis_keys.participant_score_lock(participant_id), timeout=30)
    assert busy.acquire(blocking=False)

    worker = start_worker(concurrency=copies)
    try:
        # every copy reached the worker and found the lock busy
        wait_until(
            lambda: (
                sum(
                    line["count"]
                    for line in worker_lines(worker.log(), "score_answer.lock_contended")
                )
                >= copies
            ),
            "every copy to reach the worker",
        )
        # and to come back, still finding the lock busy: their deliveries pile up
        wait_until(
            lambda: (
                sum(
                    line["count"]
                    for line in worker_lines(worker.log(), "score_answer.lock_contended")
                )
                >= 2 * copies
            ),
            "every copy to be retried while the lock is held",
        )
    finally:
        busy.release()
    wait_until(
        lambda: (
            scalar(engine, "SELECT state FROM answers WHERE id = :id", id=answer.id) != "accepted"
        ),
        "the answer to leave the accepted state",
    )
    wait_queue_drained(celery_app)
    rejected = scalar(engine, "SELECT reject_reason FROM answers WHERE id = :id", id=answer.id)
    assert rejected is None, f"a valid answer was set aside as {rejected!r}"
    assert_counted_once(engine, participant_id)
