"""RabbitMQ as the Celery broker: the answers of a game go through it and are scored once.

Runs in the RabbitMQ pass (`make test-rabbitmq`, and `make test` when RabbitMQ answers),
where CELERY_BROKER_URL is amqp:// on a virtual host of the run's own.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import unquote, urlsplit

import pytest
from amqp.exceptions import MessageNacked

from scripts.rabbitmq_pass import rabbitmqctl
from shared import task_names
from tests.helpers import close_question, join, open_question, submit
from tests.integration.support import (
    AnswerFacts,
    accept_one_right_answer,
    create_quiz,
    expected_points,
    question_facts,
    rows,
    scoring_queue_depth,
    stored_answers,
    take_leaderboard_messages,
    wait_all_scored,
    wait_until,
)
from tests.rabbitmq import amqp_broker_url
from web.dispatch import enqueue_scoring

pytestmark = pytest.mark.skipif(
    amqp_broker_url() is None,
    reason="runs in the RabbitMQ pass: make test-rabbitmq (TEST_BROKER_URL=amqp://…)",
)


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
    messages = take_leaderboard_messages(settings.celery_broker_url, updates=sent)
    last_total = {}
    for event in (update for message in messages for update in message.updates):
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


def test_each_task_message_is_in_the_queue_when_the_send_returns(client, celery_app):
    """Publisher confirms: no send is still on its way to the queue once the API has answered."""
    code, [question] = create_quiz(client, [(1000, 30)])
    open_question(client, code, question.question_id)
    players = [join(client, code, f"Player {n}") for n in range(20)]
    for sent, player in enumerate(players, start=1):
        response = submit(client, code, player, question.question_id, question.right_choice)
        assert response.status_code == 202, response.json
        assert scoring_queue_depth(celery_app) == sent


def test_a_task_message_rabbitmq_refuses_is_noticed_and_the_answer_still_accepted(
    settings, client, celery_app, engine
):
    """A nacked send fails at the sender, not in silence; the player gets the 202 all the same.

    A policy (max-length 0, overflow reject-publish) on the run's own virtual host makes
    RabbitMQ refuse every scoring message. Without publisher confirms the send would return
    as if all were well.
    """
    vhost = unquote(urlsplit(settings.celery_broker_url).path[1:])
    policy = f"quiz-test-full-{uuid.uuid4().hex[:8]}"
    limits = json.dumps({"max-length": 0, "overflow": "reject-publish"})
    if not rabbitmqctl(
        "set_policy", "-p", vhost, "--apply-to", "queues", policy, "^scoring$", limits
    ):
        pytest.skip("rabbitmqctl cannot set a policy here (needed to make RabbitMQ refuse)")
    try:
        wait_until(lambda: refused(celery_app), "RabbitMQ to apply the policy")
        celery_app.control.purge()
        accepted = accept_one_right_answer(client)
        [answer] = stored_answers(engine)
        assert answer.state == "accepted"
        assert str(answer.task_id) == accepted.task_id
        assert scoring_queue_depth(celery_app) == 0
        # the same send, made directly: refused, and said so
        assert enqueue_scoring(answer.id, accepted.participant_id, accepted.task_id) is False
    finally:
        assert rabbitmqctl("clear_policy", "-p", vhost, policy)
    wait_until(lambda: not refused(celery_app), "RabbitMQ to drop the policy")
    celery_app.control.purge()
    assert enqueue_scoring(answer.id, accepted.participant_id, accepted.task_id) is True
    assert scoring_queue_depth(celery_app) == 1


def refused(celery_app) -> bool:
    """Whether RabbitMQ nacks a probe message sent to the scoring queue."""
    scoring = celery_app.amqp.queues[task_names.SCORING_QUEUE]
    with celery_app.producer_or_acquire() as producer:
        try:
            producer.publish(
                {"probe": True},
                exchange=scoring.exchange.name,
                routing_key=scoring.routing_key,
                confirm_timeout=5,
            )
        except MessageNacked:
            return True
    return False
