"""Joining a quiz by its code."""

import pytest

from shared.tokens import read_participant_token
from tests.helpers import (
    TEST_SECRET_KEY,
    close_question,
    create_quiz,
    join,
    open_question,
    row_counts,
)


def test_joining_gives_an_id_and_a_token_bound_to_quiz_and_participant(client):
    quiz = create_quiz(client)
    response = client.post(
        f"/api/v1/quizzes/{quiz['quiz_id'].lower()}/participants", json={"display_name": "  Ann  "}
    )
    assert response.status_code == 201
    body = response.json
    assert body["display_name"] == "Ann"
    claims = read_participant_token(TEST_SECRET_KEY, body["token"], 60)
    assert (claims.quiz_code, claims.participant_id) == (quiz["quiz_id"], body["participant_id"])


def test_a_display_name_is_taken_whatever_its_case(client, engine):
    quiz = create_quiz(client)
    join(client, quiz["quiz_id"], "Ann")
    before = row_counts(engine)
    response = client.post(
        f"/api/v1/quizzes/{quiz['quiz_id']}/participants", json={"display_name": "ANN"}
    )
    assert response.status_code == 409 and "taken" in response.json["message"]
    assert row_counts(engine) == before


def test_the_same_name_may_play_in_another_quiz(client):
    first, second = create_quiz(client), create_quiz(client)
    join(client, first["quiz_id"], "Ann")
    join(client, second["quiz_id"], "Ann")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"display_name": ""},
        {"display_name": "   "},
        {"display_name": "x" * 41},
        {"display_name": 7},
        {"display_name": "Ann", "team": "red"},
        {"display_name": "Ann\u0000"},
        {"display_name": "\u0007Ann"},
        {"display_name": "Ann\nBob"},
        {"display_name": "\udfff"},
    ],
)
def test_an_invalid_display_name_is_422(client, engine, body):
    quiz = create_quiz(client)
    before = row_counts(engine)
    response = client.post(f"/api/v1/quizzes/{quiz['quiz_id']}/participants", json=body)
    assert response.status_code == 422
    assert row_counts(engine) == before


def test_joining_an_unknown_quiz_is_404(client):
    response = client.post("/api/v1/quizzes/NOPE42/participants", json={"display_name": "Ann"})
    assert response.status_code == 404


def test_a_finished_quiz_takes_no_one(client):
    quiz = create_quiz(client, questions=1)
    q1 = quiz["questions"][0]["question_id"]
    open_question(client, quiz["quiz_id"], q1)
    close_question(client, quiz["quiz_id"], q1)
    response = client.post(
        f"/api/v1/quizzes/{quiz['quiz_id']}/participants", json={"display_name": "Late"}
    )
    assert response.status_code == 409
