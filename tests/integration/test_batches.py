"""Scoring in batches: many answers per transaction, each message acknowledged only after
its answer committed, and nothing lost or counted twice when a worker dies mid-batch."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.helpers import close_question, join, open_question, submit
from tests.integration.support import (
    AnswerFacts,
    create_quiz,
    expected_points,
    question_facts,
    rows,
    scalar,
    scoring_queue_depth,
    stored_answers,
    wait_all_scored,
    wait_queue_drained,
    wait_until,
    worker_lines,
)

pytestmark = pytest.mark.integration

PLAYERS = 30


@pytest.fixture
def answered(client, engine):
    """PLAYERS players answer two questions while no worker runs: all still accepted."""
    code, questions = create_quiz(client, [(1000, 30), (2000, 30)])
    players = [join(client, code, f"Player {n}") for n in range(PLAYERS)]
    for question in questions:
        open_question(client, code, question.question_id)
        for n, player in enumerate(players):
            choice = question.right_choice if n % 3 else question.wrong_choices[0]
            response = submit(client, code, player, question.question_id, choice)
            assert response.status_code == 202, response.json
        close_question(client, code, question.question_id)
    answers = stored_answers(engine)
    assert len(answers) == 2 * PLAYERS and {a.state for a in answers} == {"accepted"}
    return code, questions, players


def assert_scored_once_by_the_rules(client, engine, code, questions):
    """Every answer scored once, every total the rules' sum, every task SUCCESS with it."""
    answers = stored_answers(engine)
    assert {a.state for a in answers} == {"scored"}
    right = {q.question_id: q.right_choice for q in questions}
    facts = question_facts(engine, code)
    totals = dict(rows(engine, "SELECT id, total_score FROM participants"))
    for participant_id, total in totals.items():
        own = [a for a in answers if a.participant_id == participant_id]
        expected = expected_points(
            facts,
            {
                a.question_id: AnswerFacts(
                    a.question_id, a.choice_id == right[a.question_id], a.received_at
                )
                for a in own
            },
        )
        assert {a.question_id: a.points for a in own} == expected
        assert total == sum(expected.values())
    # one outbox event per answer, however often a batch ran
    assert scalar(engine, "SELECT count(*) FROM outbox_events") == len(answers)
    assert scalar(engine, "SELECT count(DISTINCT answer_id) FROM outbox_events") == len(answers)
    for answer in answers[:: max(len(answers) // 10, 1)]:
        status = client.get(f"/api/v1/tasks/{answer.task_id}").json
        assert status["state"] == "SUCCESS"
        assert status["result"]["points"] == answer.points


def wait_for_a_batch_blocked_on_a_row(engine) -> None:
    """Until a batch's locking query waits on a row lock (the test holds the row)."""
    wait_until(
        lambda: scalar(
            engine,
            # the batch's locking query begins so; its end is past what the view keeps
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT answers.id, answers.task_id%'",
        ),
        "the batch to wait for the locked answer",
    )


def pool_children(worker) -> list[int]:
    """The prefork pool processes of a worker (its main process's children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == worker.process.pid:
            found.append(int(entry.name))
    return found


def test_a_batch_is_one_transaction_for_many_answers(
    client, celery_app, engine, answered, start_worker
):
    code, questions, _ = answered
    assert scoring_queue_depth(celery_app) == 2 * PLAYERS
    worker = start_worker(concurrency=1, QUIZ_SCORING_BATCH_SIZE=20, QUIZ_SCORING_BATCH_WAIT_S=1)
    wait_all_scored(engine, expected_answers=2 * PLAYERS)
    wait_queue_drained(celery_app)
    assert_scored_once_by_the_rules(client, engine, code, questions)
    # answers were scored 20 at a time: the times of scoring say so
    batches = scalar(engine, "SELECT count(DISTINCT scored_at) FROM answers")
    assert batches == 3
    settled = worker_lines(worker.log(), "score_answer.settled")
    assert len(settled) == 2 * PLAYERS
    assert {line["state"] for line in settled} == {"SUCCESS"}


def test_a_pool_process_killed_mid_batch_loses_nothing_and_counts_nothing_twice(
    client, celery_app, engine, answered, start_worker
):
    """The batch waits on a row this test holds; its process is killed inside the
    transaction. Its messages go back to the queue, the answers are scored once, and
    none of them is taken for poison."""
    code, questions, _ = answered
    first = stored_answers(engine)[0]
    with engine.connect() as blocker:
        blocker.execute(text("SELECT id FROM answers WHERE id = :id FOR UPDATE"), {"id": first.id})
        worker = start_worker(
            concurrency=1, QUIZ_SCORING_BATCH_SIZE=100, QUIZ_SCORING_BATCH_WAIT_S=0.5
        )
        wait_for_a_batch_blocked_on_a_row(engine)
        [child] = pool_children(worker)
        os.kill(child, signal.SIGKILL)
        wait_until(
            lambda: worker_lines(worker.log(), "score_answer.batch_lost"),
            "the worker to see its batch lost",
        )
        # nothing of the killed transaction committed
        assert scalar(engine, "SELECT count(*) FROM answers WHERE state <> 'accepted'") == 0
        blocker.rollback()

    wait_all_scored(engine, expected_answers=2 * PLAYERS)
    wait_queue_drained(celery_app)
    assert_scored_once_by_the_rules(client, engine, code, questions)
    assert scalar(engine, "SELECT count(*) FROM answers WHERE reject_reason IS NOT NULL") == 0


def test_a_worker_killed_mid_batch_is_made_good_by_the_requeue_job(
    client, celery_app, engine, answered, start_worker
):
    """The whole worker dies (SIGKILL) with a batch in its transaction and more in hand:
    a new worker with beat sends the stranded answers again and scores them once."""
    code, questions, _ = answered
    first = stored_answers(engine)[0]
    with engine.connect() as blocker:
        blocker.execute(text("SELECT id FROM answers WHERE id = :id FOR UPDATE"), {"id": first.id})
        doomed = start_worker(concurrency=1, QUIZ_SCORING_BATCH_WAIT_S=0.5)
        wait_for_a_batch_blocked_on_a_row(engine)
        os.killpg(doomed.process.pid, signal.SIGKILL)
        doomed.process.wait()
        blocker.rollback()
    assert scalar(engine, "SELECT count(*) FROM answers WHERE state <> 'accepted'") == 0
    if celery_app.conf.broker_write_url.startswith("amqp"):
        # RabbitMQ gives unacknowledged messages back as soon as their connection drops
        wait_until(
            lambda: scoring_queue_depth(celery_app) == 2 * PLAYERS, "the messages to come back"
        )
    else:
        # Redis holds them unacknowledged until their visibility timeout: for now only
        # PostgreSQL knows the answers, and the requeue job must send them again
        assert scoring_queue_depth(celery_app) == 0

    start_worker(beat=True, QUIZ_REQUEUE_AFTER_S=1, QUIZ_REQUEUE_INTERVAL_S=0.5)
    wait_all_scored(engine, expected_answers=2 * PLAYERS)
    wait_queue_drained(celery_app)
    assert_scored_once_by_the_rules(client, engine, code, questions)
