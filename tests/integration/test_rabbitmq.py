"""RabbitMQ as the Celery broker: the answers of a game go through it and are scored once.

Runs in the RabbitMQ pass (`make test-rabbitmq`, and `make test` when RabbitMQ answers),
where CELERY_BROKER_URL is amqp:// on a virtual host of the run's own.
"""

from __future__ import annotations

import pytest
from kombu import Connection

from shared import task_names
from tests.helpers import close_question, join, open_question, submit
from tests.integration.support import (
    AnswerFacts,
    create_quiz,
    expected_points,
    question_facts,
    rows,
    stored_answers,
    wait_all_scored,
)
from tests.rabbitmq import amqp_broker_url
from worker.publisher import leaderboard_queue

pytestmark = pytest.mark.skipif(
    amqp_broker_url() is None,
    reason="runs in the RabbitMQ pass: make test-rabbitmq (TEST_BROKER_URL=amqp://…)",
)


def drain_events(url: str, expected: int) -> list[dict]:
    """Take `expected` leaderboard events off the RabbitMQ queue."""
    events = []
    with Connection(url) as conn:
        queue = conn.SimpleQueue(leaderboard_queue)
        try:
            while len(events) < expected:
                message = queue.get(timeout=30)
                events.append(message.payload)
                message.ack()
        finally:
            queue.close()
    return events


def test_a_game_is_scored_through_rabbitmq(settings, client, engine, redis_client, start_worker):
    assert settings.celery_broker_url.startswith("amqp://")
    worker = start_worker()
    assert "amqp://" in worker.log()
    code, questions = create_quiz(client, [(1000, 30), (2000, 30)])
    players = [join(client, code, name) for name in ("Ann", "Bob", "Cy")]

    sent = 0
    for question in questions:
        open_question(client, code, question.question_id)
        for index, player in enumerate(players):
            choice = question.right_choice if index != 1 else question.wrong_choices[0]
            for _ in range(2):  # a retry of the same answer is a replay, not a second answer
                response = submit(client, code, player, question.question_id, choice)
                assert response.status_code == 202, response.json
            sent += 1
        close_question(client, code, question.question_id)

    wait_all_scored(engine, expected_answers=sent)
    answers = stored_answers(engine)
    assert {a.state for a in answers} == {"scored"}
    right = {q.question_id: q.right_choice for q in questions}
    facts = question_facts(engine, code)
    totals = dict(rows(engine, "SELECT id, total_score FROM participants"))
    for player in players:
        own = [a for a in answers if a.participant_id == player["participant_id"]]
        expected = expected_points(
            facts,
            {
                a.question_id: AnswerFacts(
                    a.question_id, a.choice_id == right[a.question_id], a.received_at
                )
                for a in own
            },
        )
        assert totals[player["participant_id"]] == sum(expected.values())

    # every scored answer's event came through RabbitMQ, with the totals PostgreSQL has
    events = drain_events(settings.celery_broker_url, expected=sent)
    last_total = {}
    for event in events:
        last_total[event["participant_id"]] = max(
            last_total.get(event["participant_id"], 0), event["total_score"]
        )
    assert last_total == totals
    # and none of it went through Redis: no kombu queue there
    assert not redis_client.exists(task_names.SCORING_QUEUE)


def test_readiness_checks_rabbitmq(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["checks"]["broker"] == "ok"
