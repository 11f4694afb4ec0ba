"""Polling a scoring task: Redis first, PostgreSQL after the Redis copy is gone."""

import uuid

import pytest
from sqlalchemy import text

from shared import redis_keys
from shared.quiz.task_status import (
    UNFINISHED_COPY_TTL_S,
    TaskState,
    TaskStatus,
    save_task_status,
)
from tests.helpers import create_quiz, join, open_question, submit
from tests.live_stack import wait_for


@pytest.fixture
def submitted(client):
    quiz = create_quiz(client)
    code, question = quiz["quiz_id"], quiz["questions"][0]
    open_question(client, code, question["question_id"])
    player = join(client, code, "Ann")

    def send():
        return submit(
            client, code, player, question["question_id"], question["choices"][0]["choice_id"]
        )

    return send


def test_a_scored_answer_reports_success_with_its_result(client, engine, submitted):
    task_id = submitted().json["task_id"]
    response = client.get(f"/api/v1/tasks/{task_id}")
    assert response.status_code == 200
    assert "Retry-After" not in response.headers
    body = response.json
    assert (body["task_id"], body["state"]) == (task_id, "SUCCESS")
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT a.id, a.question_id, a.points, p.total_score FROM answers a"
                " JOIN participants p ON p.id = a.participant_id WHERE a.task_id = :t"
            ),
            {"t": task_id},
        ).one()
    assert body["result"] == {
        "answer_id": row.id,
        "question_id": row.question_id,
        "correct": True,
        "points": row.points,
        "total_score": row.total_score,
    }


def test_after_the_redis_copy_expires_postgresql_answers(client, redis_client, submitted):
    task_id = submitted().json["task_id"]
    expected = client.get(f"/api/v1/tasks/{task_id}").json
    redis_client.delete(redis_keys.task_status(task_id))
    response = client.get(f"/api/v1/tasks/{task_id}")
    assert response.status_code == 200
    assert response.json == expected
    # and the answer is cached again, so the next poll costs one Redis read
    assert redis_client.exists(redis_keys.task_status(task_id))


def test_an_answer_not_scored_yet_is_pending_with_retry_after(app, client, redis_client, submitted):
    app.extensions["celery"].conf.task_always_eager = False
    task_id = submitted().json["task_id"]
    response = client.get(f"/api/v1/tasks/{task_id}")
    assert response.json == {"task_id": task_id, "state": "PENDING"}
    assert response.headers["Retry-After"] == "1"
    redis_client.delete(redis_keys.task_status(task_id))
    from_db = client.get(f"/api/v1/tasks/{task_id}")
    assert from_db.json["state"] == "PENDING" and from_db.headers["Retry-After"] == "1"


def test_a_pending_copy_that_outlived_the_result_gives_way_to_it_within_seconds(
    client, redis_client, submitted
):
    # the answer is scored, but Redis came back from an older AOF: the result written by
    # the worker is gone, the PENDING copy a poll made before it is back
    task_id = submitted().json["task_id"]
    scored = client.get(f"/api/v1/tasks/{task_id}").json
    assert scored["state"] == "SUCCESS"
    redis_client.delete(redis_keys.task_status(task_id))
    save_task_status(redis_client, TaskStatus(task_id, TaskState.PENDING), 3600)
    assert client.get(f"/api/v1/tasks/{task_id}").json["state"] == "PENDING"
    assert 0 < redis_client.ttl(redis_keys.task_status(task_id)) <= UNFINISHED_COPY_TTL_S
    wait_for(
        lambda: client.get(f"/api/v1/tasks/{task_id}").json == scored,
        "the result instead of PENDING",
        timeout=3 * UNFINISHED_COPY_TTL_S,
    )
    # and the Redis copy is the result again, kept as long as results are
    assert redis_client.ttl(redis_keys.task_status(task_id)) > UNFINISHED_COPY_TTL_S


def test_a_rejected_answer_reports_failure_with_a_reason(client, engine, redis_client, submitted):
    task_id = submitted().json["task_id"]
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE answers SET state = 'rejected', reject_reason = 'too_many_attempts'"
                " WHERE task_id = :t"
            ),
            {"t": task_id},
        )
    redis_client.delete(redis_keys.task_status(task_id))
    response = client.get(f"/api/v1/tasks/{task_id}")
    assert response.json["state"] == "FAILURE"
    assert response.json["error"]["code"] == "too_many_attempts"
    assert response.json["error"]["message"]
    assert "Retry-After" not in response.headers


@pytest.mark.parametrize("task_id", [str(uuid.uuid4()), "not-a-uuid", "1"])
def test_an_id_this_service_never_issued_is_404(client, task_id):
    response = client.get(f"/api/v1/tasks/{task_id}")
    assert response.status_code == 404
    assert response.json["code"] == 404
