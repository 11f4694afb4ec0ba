"""Submitting answers: 202 with a task id, exactly once, and every refusal a clear 4xx."""

import time
from dataclasses import replace

import pytest
from sqlalchemy import text

from shared import redis_keys
from shared.tokens import issue_participant_token
from tests.helpers import (
    TEST_SECRET_KEY,
    bearer,
    close_question,
    create_quiz,
    join,
    open_question,
    row_counts,
    submit,
)
from web import create_app


@pytest.fixture
def game(client):
    """A quiz with its first question open and one participant."""
    quiz = create_quiz(client)
    code = quiz["quiz_id"]
    question = quiz["questions"][0]
    open_question(client, code, question["question_id"])
    return {
        "code": code,
        "quiz": quiz,
        "question_id": question["question_id"],
        "right": question["choices"][0]["choice_id"],
        "wrong": question["choices"][1]["choice_id"],
        "player": join(client, code, "Ann"),
    }


def answer_rows(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM answers ORDER BY id")).mappings().all()


def total_of(engine, participant_id):
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT total_score FROM participants WHERE id = :id"), {"id": participant_id}
        ).scalar_one()


def test_an_answer_is_accepted_with_202_and_scored(client, engine, game):
    response = submit(client, game["code"], game["player"], game["question_id"], game["right"])
    assert response.status_code == 202
    task_id = response.json["task_id"]
    assert response.json["status_url"] == f"/api/v1/tasks/{task_id}"
    assert response.headers["Location"] == response.json["status_url"]
    assert "Idempotent-Replayed" not in response.headers
    [row] = answer_rows(engine)
    assert (row["state"], str(row["task_id"]), row["correct"]) == ("scored", task_id, True)
    assert 500 < row["points"] <= 1000
    assert total_of(engine, game["player"]["participant_id"]) == row["points"]


def test_the_receipt_time_is_recorded_before_scoring(client, engine, game):
    before = time.time()
    submit(client, game["code"], game["player"], game["question_id"], game["right"])
    [row] = answer_rows(engine)
    assert before <= row["received_at"].timestamp() <= time.time()
    assert row["scored_at"] >= row["received_at"]


def test_a_plain_retry_replays_the_first_task(client, engine, game):
    first = submit(client, game["code"], game["player"], game["question_id"], game["right"])
    again = submit(client, game["code"], game["player"], game["question_id"], game["right"])
    assert again.status_code == 202
    assert again.json["task_id"] == first.json["task_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    [row] = answer_rows(engine)
    assert total_of(engine, game["player"]["participant_id"]) == row["points"]


@pytest.mark.parametrize(("first_key", "retry_key"), [("k-1", None), (None, "k-1")])
def test_a_retry_that_adds_or_drops_the_key_replays_the_first_task(
    client, engine, game, first_key, retry_key
):
    # what a client does after a 503 on submit: the outcome is unknown, it sends again
    args = (client, game["code"], game["player"], game["question_id"], game["right"])
    first = submit(*args, key=first_key)
    again = submit(*args, key=retry_key)
    assert again.status_code == 202 and again.json["task_id"] == first.json["task_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    [row] = answer_rows(engine)
    assert total_of(engine, game["player"]["participant_id"]) == row["points"]


def test_same_key_same_body_replays(client, engine, game):
    args = (client, game["code"], game["player"], game["question_id"], game["right"])
    first = submit(*args, key="k-1")
    again = submit(*args, key="k-1")
    assert again.status_code == 202 and again.json["task_id"] == first.json["task_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(answer_rows(engine)) == 1


def test_same_key_with_another_body_is_422(client, engine, game):
    submit(client, game["code"], game["player"], game["question_id"], game["right"], key="k-1")
    before = row_counts(engine)
    response = submit(
        client, game["code"], game["player"], game["question_id"], game["wrong"], key="k-1"
    )
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json["message"]
    assert row_counts(engine) == before


def test_a_key_names_one_answer_even_across_questions(client, engine, game):
    code, quiz = game["code"], game["quiz"]
    submit(client, code, game["player"], game["question_id"], game["right"], key="k-1")
    close_question(client, code, game["question_id"])
    second = quiz["questions"][1]
    open_question(client, code, second["question_id"])
    response = submit(
        client,
        code,
        game["player"],
        second["question_id"],
        second["choices"][0]["choice_id"],
        key="k-1",
    )
    assert response.status_code == 422
    assert len(answer_rows(engine)) == 1


@pytest.mark.parametrize("key", [None, "k-2"])
def test_another_answer_to_an_answered_question_is_409(client, engine, game, key):
    submit(client, game["code"], game["player"], game["question_id"], game["right"], key="k-1")
    before = row_counts(engine)
    response = submit(
        client, game["code"], game["player"], game["question_id"], game["wrong"], key=key
    )
    assert response.status_code == 409 and "already been answered" in response.json["message"]
    assert row_counts(engine) == before
    assert answer_rows(engine)[0]["choice_id"] == game["right"]


def test_keys_are_scoped_per_participant(client, engine, game):
    other = join(client, game["code"], "Bob")
    first = submit(client, game["code"], game["player"], game["question_id"], game["right"], "k")
    second = submit(client, game["code"], other, game["question_id"], game["right"], "k")
    assert second.status_code == 202
    assert second.json["task_id"] != first.json["task_id"]
    assert len(answer_rows(engine)) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "ünïcode"])
def test_a_malformed_idempotency_key_is_refused(client, engine, game, key):
    before = row_counts(engine)
    response = submit(
        client, game["code"], game["player"], game["question_id"], game["right"], key=key
    )
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json["errors"]
    assert row_counts(engine) == before


def test_a_question_not_yet_open_is_409(client, engine, game):
    second = game["quiz"]["questions"][1]
    before = row_counts(engine)
    response = submit(
        client,
        game["code"],
        game["player"],
        second["question_id"],
        second["choices"][0]["choice_id"],
    )
    assert response.status_code == 409 and "not open" in response.json["message"]
    assert row_counts(engine) == before


def test_a_closed_question_is_409(client, engine, game):
    close_question(client, game["code"], game["question_id"])
    response = submit(client, game["code"], game["player"], game["question_id"], game["right"])
    assert response.status_code == 409
    assert answer_rows(engine) == []


def test_a_question_whose_timer_ran_out_is_409(client, engine, redis_client, game):
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE questions SET closes_at = now() - interval '1 second' WHERE id = :id"),
            {"id": game["question_id"]},
        )
    # the cached state is rebuilt from PostgreSQL when it is missing
    redis_client.delete(redis_keys.quiz_state(game["code"]))
    response = submit(client, game["code"], game["player"], game["question_id"], game["right"])
    assert response.status_code == 409
    assert answer_rows(engine) == []
    assert redis_client.exists(redis_keys.quiz_state(game["code"]))


def test_an_unknown_question_is_404(client, engine, game):
    response = submit(client, game["code"], game["player"], 999_999, game["right"])
    assert response.status_code == 404 and "999999" in response.json["message"]
    assert answer_rows(engine) == []


def test_a_choice_of_another_question_is_422(client, engine, game):
    foreign = game["quiz"]["questions"][1]["choices"][0]["choice_id"]
    response = submit(client, game["code"], game["player"], game["question_id"], foreign)
    assert response.status_code == 422
    assert answer_rows(engine) == []


def post_answer(client, game, *, headers=None, **kwargs):
    return client.post(
        f"/api/v1/quizzes/{game['code']}/answers",
        headers=bearer(game["player"]) if headers is None else headers,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": "{not json", "content_type": "application/json"}, 400),
        ({"json": {"question_id": "1", "choice_id": 2}}, 422),
        ({"json": {"question_id": 1.5, "choice_id": 2}}, 422),
        ({"json": {"question_id": 1}}, 422),
        ({"json": {"question_id": 1, "choice_id": 2, "extra": True}}, 422),
        ({"json": [1, 2]}, 422),
        ({"data": "question_id=1&choice_id=2"}, 422),
    ],
    ids=["malformed", "string-id", "float-id", "missing-field", "unknown-field", "array", "form"],
)
def test_a_bad_body_is_a_clear_4xx_and_writes_nothing(client, engine, game, kwargs, status):
    before = row_counts(engine)
    response = post_answer(client, game, **kwargs)
    assert response.status_code == status
    assert response.json["code"] == status and response.json["message"]
    assert row_counts(engine) == before


def test_a_body_over_16_kib_is_413(client, engine, game):
    before = row_counts(engine)
    padding = "x" * (16 * 1024)
    response = post_answer(
        client,
        game,
        data=f'{{"question_id": 1, "choice_id": 2, "pad": "{padding}"}}',
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.json["code"] == 413
    assert row_counts(engine) == before


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer forged.token.value"},
    ],
    ids=["missing", "wrong-scheme", "empty", "forged"],
)
def test_without_a_valid_token_it_is_401(client, engine, game, headers):
    response = post_answer(
        client,
        game,
        headers=headers,
        json={"question_id": game["question_id"], "choice_id": game["right"]},
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert answer_rows(engine) == []


def test_a_bad_token_is_refused_before_the_body_is_read(client, game):
    response = post_answer(client, game, headers={}, data="{oops", content_type="application/json")
    assert response.status_code == 401


def test_an_expired_token_is_401(client, engine, game, monkeypatch):
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 2 * 24 * 3600)
    old = issue_participant_token(TEST_SECRET_KEY, game["code"], game["player"]["participant_id"])
    monkeypatch.setattr(time, "time", real_time)
    response = post_answer(
        client,
        game,
        headers={"Authorization": f"Bearer {old}"},
        json={"question_id": game["question_id"], "choice_id": game["right"]},
    )
    assert response.status_code == 401 and "expired" in response.json["message"]
    assert answer_rows(engine) == []


def test_a_token_of_another_quiz_is_403(client, engine, game):
    other_quiz = create_quiz(client)
    stranger = join(client, other_quiz["quiz_id"], "Eve")
    response = submit(client, game["code"], stranger, game["question_id"], game["right"])
    assert response.status_code == 403
    assert answer_rows(engine) == []


@pytest.mark.parametrize("who", ["a player of another quiz", "no one"])
def test_a_token_naming_no_player_of_its_quiz_is_403_and_writes_nothing(client, engine, game, who):
    # a token signed for this quiz but naming someone else: only a leaked secret makes one
    other = create_quiz(client)
    bob = join(client, other["quiz_id"], "Bob")
    participant_id = bob["participant_id"] if who != "no one" else 10**9
    token = issue_participant_token(TEST_SECRET_KEY, game["code"], participant_id)
    before = row_counts(engine)
    response = post_answer(
        client,
        game,
        headers={"Authorization": f"Bearer {token}"},
        json={"question_id": game["question_id"], "choice_id": game["right"]},
    )
    assert response.status_code == 403
    assert response.json["message"] == "this token's participant does not play this quiz"
    assert row_counts(engine) == before
    # and the token's rightful holders still answer
    assert (
        submit(client, game["code"], game["player"], game["question_id"], game["right"]).status_code
        == 202
    )


def test_an_unknown_quiz_is_404(client, engine, game):
    token = issue_participant_token(TEST_SECRET_KEY, "NOPE42", game["player"]["participant_id"])
    response = client.post(
        "/api/v1/quizzes/NOPE42/answers",
        json={"question_id": game["question_id"], "choice_id": game["right"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 404
    assert answer_rows(engine) == []


def test_with_the_broker_down_the_answer_is_still_accepted(settings, client, engine, game):
    """The 202 is a promise kept by the accepted row; the re-enqueue job sends it later."""
    app = create_app(replace(settings, celery_broker_url="redis://127.0.0.1:1/0"))
    response = submit(
        app.test_client(), game["code"], game["player"], game["question_id"], game["right"]
    )
    assert response.status_code == 202
    [row] = answer_rows(engine)
    assert (row["state"], str(row["task_id"])) == ("accepted", response.json["task_id"])


def test_with_redis_down_submit_is_503_and_writes_nothing(settings, client, engine, game):
    app = create_app(replace(settings, redis_url="redis://127.0.0.1:1/0"))
    before = row_counts(engine)
    response = submit(
        app.test_client(), game["code"], game["player"], game["question_id"], game["right"]
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.json["code"] == 503
    assert row_counts(engine) == before
