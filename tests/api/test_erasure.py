"""Erasure on request: no trace of the player's personal data in PostgreSQL or Redis."""

from __future__ import annotations

from sqlalchemy import text

from tests.helpers import HOST, bearer, create_quiz, join, keys_holding, submit, tables_holding

NAME = "Zebediah"


def erase(client, code, participant_id, query="erase=true"):
    return client.delete(
        f"/api/v1/quizzes/{code}/participants/{participant_id}?{query}", headers=HOST
    )


def game(client):
    """One closed question (its statistics read, so cached) and one open."""
    quiz = create_quiz(client, questions=2)
    code, first, second = quiz["quiz_id"], quiz["questions"][0], quiz["questions"][1]
    zeb, ann, bob = (join(client, code, name) for name in (NAME, "Ann", "Bob"))
    client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
    right = first["choices"][0]["choice_id"]
    for player in (zeb, ann, bob):  # Zebediah answers first: the fastest right answer
        assert (
            submit(client, code, player, first["question_id"], right, key="k1").status_code == 202
        )
    client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
    submit(client, code, zeb, second["question_id"], second["choices"][0]["choice_id"])
    stats = client.get(f"/api/v1/quizzes/{code}/questions/{first['question_id']}/stats").json
    assert stats["fastest_correct"]["display_name"] == NAME
    assert client.get(f"/api/v1/quizzes/{code}/leaderboard?after_question=1").status_code == 200
    return quiz, zeb, ann, bob


def test_an_erased_player_leaves_no_personal_data_in_postgresql_or_redis(
    client, engine, redis_client
):
    quiz, zeb, ann, bob = game(client)
    code = quiz["quiz_id"]
    assert tables_holding(engine, NAME) and keys_holding(redis_client, NAME)
    points_before = {
        e["participant_id"]: e["score"]
        for e in client.get(f"/api/v1/quizzes/{code}/leaderboard?after_question=1").json["entries"]
    }

    response = erase(client, code, zeb["participant_id"])
    assert response.status_code == 204
    assert tables_holding(engine, NAME) == []
    assert keys_holding(redis_client, NAME) == []

    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT display_name, removed_at FROM participants WHERE id = :id"),
            {"id": zeb["participant_id"]},
        ).one()
        assert row.display_name == "(erased)" and row.removed_at is not None
        assert (
            conn.execute(
                text("SELECT count(*) FROM answers WHERE participant_id = :id"),
                {"id": zeb["participant_id"]},
            ).scalar_one()
            == 0
        )
        record = conn.execute(text("SELECT requested_by, request_id FROM erasures")).one()
    assert record.requested_by == "host"
    assert record.request_id == response.headers["X-Request-ID"]
    # the token is dead, the others keep their points and move up
    second = quiz["questions"][1]
    answer = submit(client, code, zeb, second["question_id"], second["choices"][1]["choice_id"])
    assert answer.status_code == 403
    after = client.get(f"/api/v1/quizzes/{code}/leaderboard?after_question=1").json["entries"]
    assert {e["participant_id"]: e["score"] for e in after} == {
        pid: score for pid, score in points_before.items() if pid != zeb["participant_id"]
    }
    # ranked among the two who are left
    assert [e["rank"] for e in after] == [
        1 + sum(o["score"] > e["score"] for o in after) for e in after
    ]
    assert len(after) == 2
    stats = client.get(
        f"/api/v1/quizzes/{code}/questions/{quiz['questions'][0]['question_id']}/stats"
    ).json
    assert stats["fastest_correct"]["display_name"] in {"Ann", "Bob"}


def test_erasing_again_is_safe_and_records_once(client, engine):
    quiz, zeb, _, _ = game(client)
    code = quiz["quiz_id"]
    assert erase(client, code, zeb["participant_id"]).status_code == 204
    assert erase(client, code, zeb["participant_id"]).status_code == 204
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM erasures")).scalar_one() == 1


def test_a_ban_goes_with_the_erased_name_and_bad_values_are_refused(client):
    code = create_quiz(client)["quiz_id"]
    zeb = join(client, code, NAME)
    assert erase(client, code, zeb["participant_id"], "ban=true").status_code == 204
    assert (
        client.post(f"/api/v1/quizzes/{code}/participants", json={"display_name": NAME}).status_code
        == 403
    )
    assert erase(client, code, zeb["participant_id"]).status_code == 204
    # the name is gone, so nothing is left to ban
    assert join(client, code, NAME)["display_name"] == NAME
    assert erase(client, code, zeb["participant_id"], "erase=perhaps").status_code == 422
    assert erase(client, code, 999999).status_code == 404
    assert (
        client.delete(
            f"/api/v1/quizzes/{code}/participants/{zeb['participant_id']}?erase=true"
        ).status_code
        == 401
    )
    assert (
        client.get(f"/api/v1/quizzes/{code}/participants/me", headers=bearer(zeb)).status_code
        == 403
    )
