"""The game's flow through the API: next, finish, and the timer closing a question."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from shared.models import Question
from shared.quiz import quizzes
from tests.helpers import HOST, bearer, create_quiz, join, open_question


def next_(client, code, headers=HOST):
    return client.post(f"/api/v1/quizzes/{code}/next", headers=headers)


def finish(client, code, headers=HOST):
    return client.post(f"/api/v1/quizzes/{code}/finish", headers=headers)


def statuses(quiz):
    return [q["status"] for q in quiz["questions"]]


def test_next_plays_every_question_in_order_then_the_quiz_is_finished(client):
    code = create_quiz(client, questions=3)["quiz_id"]
    expected = [
        ["open", "pending", "pending"],
        ["closed", "open", "pending"],
        ["closed", "closed", "open"],
        ["closed", "closed", "closed"],
    ]
    for step, want in enumerate(expected):
        response = next_(client, code)
        assert response.status_code == 200, response.json
        assert statuses(response.json) == want
        assert response.json["status"] == ("finished" if step == 3 else "running")
    # the host's screen gets the correct choices, for the reveal
    assert "correct" in response.json["questions"][0]["choices"][0]
    again = next_(client, code)
    assert again.status_code == 409
    assert "finished" in again.json["message"]


def test_next_after_the_host_closed_a_question_opens_the_following_one(client):
    quiz = create_quiz(client, questions=2)
    code = quiz["quiz_id"]
    first = quiz["questions"][0]["question_id"]
    open_question(client, code, first)
    client.post(f"/api/v1/quizzes/{code}/questions/{first}/close", headers=HOST)
    assert statuses(next_(client, code).json) == ["closed", "open"]


def test_finish_ends_the_game_answers_joins_and_opens_are_refused(client):
    quiz = create_quiz(client, questions=3)
    code = quiz["quiz_id"]
    ann = join(client, code, "Ann")
    next_(client, code)
    finished = finish(client, code)
    assert finished.status_code == 200
    assert finished.json["status"] == "finished"
    assert statuses(finished.json) == ["closed", "pending", "pending"]
    question = quiz["questions"][0]
    answer = client.post(
        f"/api/v1/quizzes/{code}/answers",
        json={
            "question_id": question["question_id"],
            "choice_id": question["choices"][0]["choice_id"],
        },
        headers=bearer(ann),
    )
    assert answer.status_code == 409
    joined = client.post(f"/api/v1/quizzes/{code}/participants", json={"display_name": "Bob"})
    assert joined.status_code == 409
    later = quiz["questions"][1]["question_id"]
    opened = client.post(f"/api/v1/quizzes/{code}/questions/{later}/open", headers=HOST)
    assert opened.status_code == 409
    assert "finished" in opened.json["message"]
    assert next_(client, code).status_code == 409
    # a retry of finish is safe: the same quiz again
    again = finish(client, code)
    assert again.status_code == 200
    assert statuses(again.json) == statuses(finished.json)


def test_next_and_finish_need_the_host_key(client):
    code = create_quiz(client)["quiz_id"]
    for call in (next_, finish):
        assert call(client, code, headers={}).status_code == 401
        assert call(client, code, headers={"X-Host-Key": "wrong"}).status_code == 403
    assert next_(client, "NOPE42").status_code == 404
    assert finish(client, "NOPE42").status_code == 404
    assert client.get(f"/api/v1/quizzes/{code}").json["status"] == "lobby"


def test_the_quiz_tells_the_server_clock_for_countdowns(client):
    code = create_quiz(client)["quiz_id"]
    before = datetime.now(UTC)
    quiz = next_(client, code).json
    server_time = datetime.fromisoformat(quiz["server_time"])
    assert before <= server_time <= datetime.now(UTC)
    opened = quiz["questions"][0]
    closes_at = datetime.fromisoformat(opened["closes_at"])
    assert closes_at - datetime.fromisoformat(opened["opened_at"]) == timedelta(
        seconds=opened["time_limit_s"]
    )


def test_the_timer_closes_a_question_at_its_deadline_and_streams_tell_it(
    app, client, session, redis_client, stream
):
    quiz = create_quiz(client, questions=2)
    code = quiz["quiz_id"]
    opened = next_(client, code).json["questions"][0]
    deadline = datetime.fromisoformat(opened["closes_at"])
    live = stream(code)
    assert live.next_event()["event"] == "leaderboard"
    # before the deadline the sweep leaves it open
    assert quizzes.close_timed_out(session, redis_client, deadline - timedelta(seconds=1)) == []
    assert statuses(client.get(f"/api/v1/quizzes/{code}").json) == ["open", "pending"]
    # a sweep that comes late still closes it at its deadline
    assert quizzes.close_timed_out(session, redis_client, deadline + timedelta(seconds=3)) == [code]
    event = live.next_event()
    while event["event"] != "quiz":
        event = live.next_event()
    assert statuses(event["data"]) == ["closed", "pending"]
    assert "server_time" in event["data"]
    closed_at = session.scalar(
        select(Question.closed_at).where(Question.id == opened["question_id"])
    )
    assert closed_at == deadline
    # nothing is left to close
    assert quizzes.close_timed_out(session, redis_client, deadline + timedelta(seconds=9)) == []
