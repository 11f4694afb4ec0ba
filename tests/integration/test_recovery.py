"""A 202 is a promise: a lost task message is sent again; a poison answer is set aside."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, make_url

from shared import redis_keys
from tests.integration.support import (
    AnswerFacts,
    accept_one_right_answer,
    execute,
    expected_points,
    question_facts,
    scalar,
    scoring_queue_depth,
    stored_answers,
    wait_all_scored,
    wait_queue_drained,
    wait_until,
)
from worker.base import resources_for
from worker.tasks.maintenance import requeue_stale_answers

pytestmark = pytest.mark.integration


def test_answer_whose_message_was_lost_is_scored_by_the_requeue_job(
    client, celery_app, engine, redis_client, start_worker
):
    """The scoring message vanishes from the broker; beat re-sends it under the same task id."""
    accepted = accept_one_right_answer(client)
    code, task_id = accepted.quiz_code, accepted.task_id
    assert scoring_queue_depth(celery_app) == 1
    celery_app.control.purge()
    assert scoring_queue_depth(celery_app) == 0
    [lost] = stored_answers(engine)
    assert lost.state == "accepted"

    start_worker(beat=True, QUIZ_REQUEUE_AFTER_S=1, QUIZ_REQUEUE_INTERVAL_S=0.5)
    wait_all_scored(engine, expected_answers=1)
    wait_queue_drained(celery_app)

    [answer] = stored_answers(engine)
    assert answer.state == "scored"
    assert str(answer.task_id) == task_id
    # the re-enqueue job stamps the answer when it sends the task again
    assert answer.enqueued_at > lost.enqueued_at
    total = scalar(engine, "SELECT total_score FROM participants")
    assert total == answer.points > 0
    # scored from the receipt time: the time it waited for the re-send cost no points
    scored_at = scalar(engine, "SELECT scored_at FROM answers")
    assert (scored_at - answer.received_at).total_seconds() >= 1
    expected = expected_points(
        question_facts(engine, code),
        {answer.question_id: AnswerFacts(answer.question_id, True, answer.received_at)},
    )
    assert answer.points == expected[answer.question_id]
    status = client.get(f"/api/v1/tasks/{task_id}")
    assert status.status_code == 200
    assert status.json["state"] == "SUCCESS"
    assert status.json["result"]["answer_id"] == answer.id
    assert status.json["result"]["total_score"] == total


def test_requeue_waits_until_the_scoring_queue_has_drained(client, celery_app, engine):
    """An old answer still queued behind a burst is not re-sent; once the queue is empty it is."""
    accept_one_right_answer(client)
    execute(engine, "UPDATE answers SET enqueued_at = enqueued_at - interval '1 hour'")
    try:
        assert scoring_queue_depth(celery_app) == 1
        assert requeue_stale_answers.apply().get() == 0
        assert scoring_queue_depth(celery_app) == 1
        celery_app.control.purge()
        assert requeue_stale_answers.apply().get() == 1
        assert scoring_queue_depth(celery_app) == 1
    finally:
        resources_for(celery_app).close()


def test_poison_answer_is_rejected_after_too_many_deliveries(
    client, celery_app, settings, engine, redis_client, start_worker
):
    """An answer whose task keeps dying is rejected (too_many_attempts) and its task FAILS."""
    task_id = accept_one_right_answer(client).task_id
    [answer] = stored_answers(engine)
    # as if earlier deliveries had been killed mid-task, never finishing
    redis_client.set(redis_keys.answer_deliveries(answer.id), settings.max_delivery_attempts)

    start_worker()
    wait_until(
        lambda: (
            scalar(engine, "SELECT state FROM answers WHERE id = :id", id=answer.id) == "rejected"
        ),
        "the poison answer to be rejected",
    )
    wait_queue_drained(celery_app)

    [rejected] = stored_answers(engine)
    assert rejected.points is None
    assert (
        scalar(engine, "SELECT reject_reason FROM answers WHERE id = :id", id=answer.id)
        == "too_many_attempts"
    )
    assert scalar(engine, "SELECT total_score FROM participants") == 0
    assert scalar(engine, "SELECT count(*) FROM outbox_events") == 0
    status = client.get(f"/api/v1/tasks/{task_id}")
    assert status.status_code == 200
    assert status.json["state"] == "FAILURE"
    assert status.json["error"]["code"] == "too_many_attempts"


def test_runs_failed_on_a_postgresql_outage_do_not_set_the_answer_aside(
    client, celery_app, settings, engine, start_worker
):
    """A run that fails on PostgreSQL (down, restarting) did not die: it is not counted
    toward too_many_attempts. Each such run used to stay counted, so a 20 s outage (five
    retries) had good answers rejected; one attempt allowed makes one failed run enough."""
    accept_one_right_answer(client)
    [answer] = stored_answers(engine)
    name = make_url(settings.database_url).database
    admin = create_engine(
        make_url(settings.database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    # this test's database refuses connections, as a stopped server does, for a while
    execute(admin, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    execute(
        admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n", n=name
    )
    engine.dispose()
    try:
        worker = start_worker(QUIZ_MAX_DELIVERY_ATTEMPTS=1)
        wait_until(
            lambda: "score_answer.batch_failed" in worker.log(), "a run failed on PostgreSQL"
        )
    finally:
        execute(admin, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.dispose()
    wait_all_scored(engine, expected_answers=1)
    [scored] = stored_answers(engine)
    assert scored.state == "scored", scored
    assert "too_many_attempts" not in worker.log()
