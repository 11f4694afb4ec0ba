"""Streak bonuses do not depend on the order in which a participant's answers are scored."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shared.config import Settings
from shared.db import make_session_factory
from shared.quiz.batch_scoring import score_accepted_answer
from tests.helpers import close_question, join, open_question, submit
from tests.integration.support import (
    AnswerFacts,
    create_quiz,
    execute,
    expected_points,
    question_facts,
    scalar,
    scoring_queue_depth,
    stored_answers,
    wait_all_scored,
    wait_until,
    worker_lines,
)
from worker.tasks.scoring import score_answer

pytestmark = pytest.mark.integration

# (points, time limit) and whether the participant picks the right choice: R R W R R R
QUESTIONS = [(1000, 20), (2000, 20), (1000, 20), (1000, 20), (2000, 20), (1000, 20)]
RIGHT = [True, True, False, True, True, True]
STREAK_BONUSES = [0, 100, 0, 0, 100, 200]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test plays six questions in well under a second, faster than any player can:
    the per-player rate limit (5 answers a second) is not what it is about."""
    return replace(settings, rate_limits=False)


@pytest.fixture
def answered_quiz(client, engine):
    """One participant answers six questions while no worker runs; all stay accepted."""
    code, questions = create_quiz(client, QUESTIONS)
    participant = join(client, code, "Ann")
    for question, right in zip(questions, RIGHT, strict=True):
        open_question(client, code, question.question_id)
        choice = question.right_choice if right else question.wrong_choices[0]
        response = submit(client, code, participant, question.question_id, choice)
        assert response.status_code == 202, response.json
        close_question(client, code, question.question_id)
    answers = stored_answers(engine)
    assert [a.state for a in answers] == ["accepted"] * len(QUESTIONS)
    right_choice = {q.question_id: q.right_choice for q in questions}
    expected = expected_points(
        question_facts(engine, code),
        {
            a.question_id: AnswerFacts(
                a.question_id, a.choice_id == right_choice[a.question_id], a.received_at
            )
            for a in answers
        },
    )
    assert list(expected) == [q.question_id for q in questions]
    return participant["participant_id"], answers, expected


def reset_scores(engine):
    """Put every answer back to accepted and the total to 0, as before any worker ran."""
    execute(
        engine,
        "UPDATE answers SET state = 'accepted', correct = NULL, points = NULL, "
        "streak_bonus = NULL, total_score_after = NULL, scored_at = NULL",
    )
    execute(engine, "UPDATE participants SET total_score = 0")
    execute(engine, "DELETE FROM outbox_events")


def scored_points(engine):
    answers = stored_answers(engine)
    assert {a.state for a in answers} == {"scored"}
    return (
        {a.question_id: a.points for a in answers},
        [a.streak_bonus for a in answers],
        scalar(engine, "SELECT total_score FROM participants"),
    )


def test_streak_bonus_is_the_same_in_every_scoring_order(answered_quiz, engine):
    """R R W R R R scored in order, reversed and shuffled: the same points every time."""
    _, answers, expected = answered_quiz
    ids = [a.id for a in answers]
    orders = {"opened": ids, "reversed": ids[::-1]}
    for seed in (1, 2, 3):
        shuffled = list(ids)
        random.Random(seed).shuffle(shuffled)
        orders[f"shuffled({seed})"] = shuffled
    factory = make_session_factory(engine)

    for name, order in orders.items():
        reset_scores(engine)
        with factory() as session:
            for answer_id in order:
                score_accepted_answer(session, answer_id, datetime.now(UTC))
        points, bonuses, total = scored_points(engine)
        assert points == expected, name
        assert bonuses == STREAK_BONUSES, name
        assert total == sum(expected.values()), name


def test_worker_scoring_in_reverse_order_gives_the_same_points(
    answered_quiz, celery_app, engine, redis_client, start_worker
):
    """Tasks queued newest answer first, run one by one by a real worker: the same points."""
    participant_id, answers, expected = answered_quiz
    celery_app.control.purge()
    assert scoring_queue_depth(celery_app) == 0
    for answer in reversed(answers):
        score_answer.apply_async((answer.id, participant_id), task_id=str(answer.task_id))
    assert scoring_queue_depth(celery_app) == len(answers)

    # one process taking one answer at a time: the queue's order is the scoring order
    worker = start_worker(concurrency=1, QUIZ_SCORING_BATCH_SIZE=1)
    wait_all_scored(engine, expected_answers=len(answers))
    points, bonuses, total = scored_points(engine)
    assert points == expected
    assert bonuses == STREAK_BONUSES
    assert total == sum(expected.values())
    # one process, taking the queue in order: the last question really was scored first
    lines = wait_until(
        lambda: (
            found
            if len(found := worker_lines(worker.log(), "score_answer.settled")) == len(answers)
            else None
        ),
        "every task to finish",
    )
    order = [line["task_id"] for line in lines]
    assert order == [str(a.task_id) for a in reversed(answers)]
