"""A whole game through the API and a real worker: every total follows the scoring rule."""

from __future__ import annotations

import random
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from tests.helpers import close_question, join, open_question, submit
from tests.integration.support import (
    AnswerFacts,
    QuizQuestion,
    create_quiz,
    expected_points,
    question_facts,
    rows,
    stored_answers,
    wait_all_scored,
    wait_queue_drained,
)

pytestmark = pytest.mark.integration

SEED = 20240611
PARTICIPANTS = 20
# (points, time limit in seconds); opened in a shuffled order, not by position
QUESTIONS = [
    (1000, 5),
    (2000, 5),
    (1000, 10),
    (1000, 5),
    (2000, 10),
    (1000, 5),
    (1000, 6),
    (2000, 5),
    (1000, 5),
    (1000, 8),
]
REPLAY_SHARE = 0.3
KEYED_SHARE = 0.5
MISSING_SHARE = 0.1
RIGHT_SHARE = 0.65
# the longest a submission waits after the question opens: well inside every time limit
MAX_DELAY_S = 1.0


@dataclass(frozen=True)
class Send:
    participant: dict[str, Any]
    question_id: int
    choice_id: int
    key: str | None
    delay_s: float


def plan_question(
    rng: random.Random, participants: list[dict[str, Any]], question: QuizQuestion
) -> list[Send]:
    """Who answers what, when, with which key and how many copies; decided before sending."""
    sends = []
    for index, participant in enumerate(participants):
        roll = rng.random()
        if index == 0:
            # always right: a long streak runs into the +500 cap
            choice = question.right_choice
        elif index == 1:
            choice = rng.choice(question.wrong_choices)
        elif roll < MISSING_SHARE:
            continue
        elif roll < MISSING_SHARE + RIGHT_SHARE:
            choice = question.right_choice
        else:
            choice = rng.choice(question.wrong_choices)
        key = str(uuid.uuid4()) if rng.random() < KEYED_SHARE else None
        copies = 2 if rng.random() < REPLAY_SHARE else 1
        for _ in range(copies):
            delay_s = 0.0 if rng.random() < 0.3 else rng.uniform(0.55, MAX_DELAY_S)
            sends.append(Send(participant, question.question_id, choice, key, delay_s))
    return sends


def test_game_totals_equal_the_scoring_rule(app, client, celery_app, engine, start_worker):
    """20 players × 10 questions with replays: each answer once, each total as DESIGN.md says."""
    start_worker()
    rng = random.Random(SEED)
    code, questions = create_quiz(client, QUESTIONS)
    participants = [join(client, code, f"Player {n:02d}") for n in range(PARTICIPANTS)]
    open_order = list(questions)
    rng.shuffle(open_order)
    assert open_order != questions
    right_choice = {q.question_id: q.right_choice for q in questions}

    def send(item: Send) -> Any:
        own_client = app.test_client()
        time.sleep(item.delay_s)
        return submit(
            own_client, code, item.participant, item.question_id, item.choice_id, key=item.key
        )

    submitted: dict[tuple[int, int], int] = {}
    with ThreadPoolExecutor(max_workers=32) as pool:
        for question in open_order:
            sends = plan_question(rng, participants, question)
            open_question(client, code, question.question_id)
            responses = list(pool.map(send, sends))
            close_question(client, code, question.question_id)

            by_answer: dict[tuple[int, int], list[Any]] = defaultdict(list)
            for item, response in zip(sends, responses, strict=True):
                assert response.status_code == 202, response.json
                pair = (item.participant["participant_id"], item.question_id)
                by_answer[pair].append(response)
                submitted[pair] = item.choice_id
            for copies in by_answer.values():
                assert len({r.json["task_id"] for r in copies}) == 1
                replayed = [r.headers.get("Idempotent-Replayed") for r in copies]
                assert replayed.count(None) == 1
                assert replayed.count("true") == len(copies) - 1

    wait_all_scored(engine, expected_answers=len(submitted))
    wait_queue_drained(celery_app)

    answers = stored_answers(engine)
    assert {(a.participant_id, a.question_id): a.choice_id for a in answers} == submitted
    assert {a.state for a in answers} == {"scored"}
    facts = question_facts(engine, code)
    opened_at = {f.question_id: f.opened_at for f in facts}
    totals = {r.id: r.total_score for r in rows(engine, "SELECT id, total_score FROM participants")}
    answers_of: dict[int, list[Any]] = defaultdict(list)
    for answer in answers:
        answers_of[answer.participant_id].append(answer)

    partial_points = 0
    for participant in participants:
        pid = participant["participant_id"]
        own = answers_of[pid]
        expected = expected_points(
            facts,
            {
                a.question_id: AnswerFacts(
                    a.question_id, a.choice_id == right_choice[a.question_id], a.received_at
                )
                for a in own
            },
        )
        assert {a.question_id: a.points for a in own} == expected, participant["display_name"]
        assert totals[pid] == sum(expected.values()), participant["display_name"]
        assert totals[pid] == sum(a.points for a in own)
        partial_points += sum(
            1
            for a in own
            if a.points and (a.received_at - opened_at[a.question_id]).total_seconds() > 0.5
        )

    # the game went through the rule's branches: capped streaks, partial points, zeros
    assert max(a.streak_bonus for a in answers) == 500
    assert partial_points > 0
    assert totals[participants[1]["participant_id"]] == 0
