"""A real worker scores a quiz of every question type: the answers wait while no worker
runs, then one worker scores them together in batches, by each type's rule."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.config import Settings
from shared.quiz.answer_keys import key_of, response_of
from shared.quiz.corrections import GivenAnswer, KeyedQuestion, recompute
from shared.quiz.quizzes import get_quiz
from shared.quiz.scoring import Policy, QuestionWindow
from tests.helpers import HOST, bearer, join, mixed_quiz_body
from tests.integration.support import rows, wait_all_scored

pytestmark = pytest.mark.integration

SINGLE, TRUE_FALSE, MULTI, TYPED, ORDER, POLL = range(6)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Three players answer six questions within a second: not what the rate limit is about."""
    return replace(settings, rate_limits=False)


def ids(question):
    return [c["choice_id"] for c in question["choices"]]


def test_a_worker_scores_every_type_by_its_rule_and_as_a_recomputation_would(
    client, engine, session, start_worker
):
    quiz = client.post("/api/v1/quizzes", json=mixed_quiz_body(), headers=HOST).json
    code, q = quiz["quiz_id"], quiz["questions"]
    players = {name: join(client, code, name) for name in ("Ann", "Bob", "Cy")}
    sent = {
        # all right (a typo in the typed answer), the poll between nothing
        "Ann": [
            {"choice_id": ids(q[SINGLE])[0]},
            {"choice_id": ids(q[TRUE_FALSE])[0]},
            {"choice_ids": [ids(q[MULTI])[i] for i in (0, 1, 3)]},
            {"text": "Brougt."},
            {"choice_ids": ids(q[ORDER])},
            {"choice_id": ids(q[POLL])[1]},
        ],
        # wrong, right, partly right, wrong, wrong order, poll
        "Bob": [
            {"choice_id": ids(q[SINGLE])[1]},
            {"choice_id": ids(q[TRUE_FALSE])[0]},
            {"choice_ids": [ids(q[MULTI])[0]]},
            {"text": "bringed"},
            {"choice_ids": list(reversed(ids(q[ORDER])))},
            {"choice_id": ids(q[POLL])[0]},
        ],
        # answers only the typed question and the poll
        "Cy": [None, None, None, {"text": "BROUGHT"}, None, {"choice_id": ids(q[POLL])[0]}],
    }
    for index, question in enumerate(q):
        assert client.post(f"/api/v1/quizzes/{code}/next", headers=HOST).status_code == 200
        for name, player in players.items():
            body = sent[name][index]
            if body is not None:
                response = client.post(
                    f"/api/v1/quizzes/{code}/answers",
                    json={"question_id": question["question_id"], **body},
                    headers=bearer(player),
                )
                assert response.status_code == 202, response.json
    assert client.post(f"/api/v1/quizzes/{code}/next", headers=HOST).status_code == 200

    start_worker()
    wait_all_scored(engine, expected_answers=14)

    scored = rows(
        engine,
        "SELECT p.display_name AS name, q.position, a.correct, a.points, a.streak_bonus, "
        "a.matched_answer, a.state FROM answers a JOIN participants p ON p.id = a.participant_id "
        "JOIN questions q ON q.id = a.question_id ORDER BY p.display_name, q.position",
    )
    by_player: dict[str, list] = {}
    for row in scored:
        assert row.state == "scored"
        by_player.setdefault(row.name, []).append(row)
    ann, bob, cy = by_player["Ann"], by_player["Bob"], by_player["Cy"]
    assert [r.correct for r in ann] == [True, True, True, True, True, None]
    assert [r.streak_bonus for r in ann] == [0, 100, 200, 300, 400, 0]
    assert ann[TYPED].matched_answer == "brought"
    assert ann[POLL].points == 0
    assert [r.correct for r in bob] == [False, True, False, False, False, None]
    # one right pick of three, none wrong: a third of the time points; the streak ends
    assert 300 <= bob[MULTI].points <= 334 and bob[MULTI].streak_bonus == 0
    assert [r.points for r in bob[TYPED:]] == [0, 0, 0]
    assert [(r.correct, r.matched_answer) for r in cy] == [(True, "brought"), (None, None)]

    # the worker's scores are those a recomputation of the whole quiz gives
    stored = get_quiz(session, code)
    opened = [
        KeyedQuestion(
            question.id,
            QuestionWindow(
                question.points, question.time_limit_s, question.opened_at, question.closed_at
            ),
            key_of(question),
        )
        for question in sorted(stored.questions, key=lambda question: question.opened_at)
    ]
    answers = rows(
        engine,
        "SELECT id, participant_id, question_id, choice_id, choice_ids, answer_text, "
        "received_at, points FROM answers",
    )
    again = recompute(
        opened,
        [
            GivenAnswer(a.id, a.participant_id, a.question_id, response_of(a), a.received_at)
            for a in answers
        ],
        Policy(),
    )
    assert {a.id: a.points for a in answers} == {i: r.points for i, r in again.answers.items()}
    totals = dict(rows(engine, "SELECT id, total_score FROM participants"))
    assert totals == again.totals
