"""Removing and banning players, display-name rules and late joins, through the API."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import text

from shared.leaderboard import board
from tests.helpers import HOST, create_quiz, join, open_question, row_counts, submit

WRONG = {"text": "b", "correct": False}


def remove(client, code, participant_id, query="", headers=HOST):
    return client.delete(
        f"/api/v1/quizzes/{code}/participants/{participant_id}{query}", headers=headers
    )


def answer_first(client, quiz, player):
    question = quiz["questions"][0]
    return submit(
        client,
        quiz["quiz_id"],
        player,
        question["question_id"],
        question["choices"][0]["choice_id"],
    )


def test_a_removed_player_leaves_the_board_their_token_stops_and_answers_count_for_nothing(
    client, engine
):
    quiz = create_quiz(client, questions=2)
    code = quiz["quiz_id"]
    ann, bob = join(client, code, "Ann"), join(client, code, "Bob")
    open_question(client, code, quiz["questions"][0]["question_id"])
    assert answer_first(client, quiz, ann).status_code == 202
    assert answer_first(client, quiz, bob).status_code == 202

    assert remove(client, code, bob["participant_id"]).status_code == 204
    board_now = client.get(f"/api/v1/quizzes/{code}/leaderboard").json
    assert [e["display_name"] for e in board_now["entries"]] == ["Ann"]
    assert board_now["total_participants"] == 1
    # the token stops working, with a clear message, whatever the answer
    first = quiz["questions"][0]
    again = submit(
        client, code, bob, first["question_id"], first["choices"][1]["choice_id"], key="other"
    )
    assert again.status_code == 403
    assert "removed" in again.json["message"]
    replay = answer_first(client, quiz, bob)
    assert replay.status_code == 403
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT state, reject_reason FROM answers WHERE participant_id = :p"),
            {"p": bob["participant_id"]},
        ).all()
        total = conn.execute(
            text("SELECT total_score FROM participants WHERE id = :p"),
            {"p": bob["participant_id"]},
        ).scalar_one()
    assert [tuple(r) for r in stored] == [("rejected", "removed_player")]
    assert total == 0
    # a retry of the removal is safe
    assert remove(client, code, bob["participant_id"]).status_code == 204
    # the statistics count the players left and their answers only
    client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
    stats = client.get(
        f"/api/v1/quizzes/{code}/questions/{quiz['questions'][0]['question_id']}/stats"
    ).json
    assert (stats["participants"], stats["answered"]) == (1, 1)


def test_an_update_on_its_way_never_puts_a_removed_player_back(client, redis_client):
    code = create_quiz(client)["quiz_id"]
    ann = join(client, code, "Ann")
    remove(client, code, ann["participant_id"])
    # the consumer applying an event that was published before the removal
    assert board.apply_total(redis_client, code, ann["participant_id"], "Ann", 900) is False
    assert client.get(f"/api/v1/quizzes/{code}/leaderboard").json["entries"] == []


def test_a_removed_name_may_join_again_unless_banned(client, engine):
    code = create_quiz(client)["quiz_id"]
    ann, bob = join(client, code, "Ann"), join(client, code, "Bob")
    remove(client, code, ann["participant_id"])
    assert join(client, code, "ann")["participant_id"] != ann["participant_id"]
    assert remove(client, code, bob["participant_id"], "?ban=true").status_code == 204
    before = row_counts(engine)
    refused = client.post(f"/api/v1/quizzes/{code}/participants", json={"display_name": "BOB"})
    assert refused.status_code == 403
    assert "banned" in refused.json["message"]
    assert row_counts(engine) == before


def test_removal_needs_the_host_key_and_a_player_of_this_quiz(client):
    code = create_quiz(client)["quiz_id"]
    other = create_quiz(client)["quiz_id"]
    ann = join(client, code, "Ann")
    assert remove(client, code, ann["participant_id"], headers={}).status_code == 401
    wrong = {"X-Host-Key": "wrong"}
    assert remove(client, code, ann["participant_id"], headers=wrong).status_code == 403
    assert remove(client, other, ann["participant_id"]).status_code == 404
    assert remove(client, code, 999999).status_code == 404
    assert remove(client, code, ann["participant_id"], "?ban=perhaps").status_code == 422
    assert client.get(f"/api/v1/quizzes/{code}/leaderboard").json["total_participants"] == 1


def test_names_with_a_blocked_word_are_refused_and_write_nothing(client, engine):
    code = create_quiz(client)["quiz_id"]
    before = row_counts(engine)
    for name in ("Shit", "big F.U.C.K", "  wanker  "):
        refused = client.post(f"/api/v1/quizzes/{code}/participants", json={"display_name": name})
        assert refused.status_code == 422, name
        assert "not allowed" in refused.json["message"]
    assert row_counts(engine) == before
    # whole words only
    assert join(client, code, "Dickens")["display_name"] == "Dickens"
    assert join(client, code, "Scunthorpe")["display_name"] == "Scunthorpe"


def test_the_blocked_list_is_a_setting(app, client, settings, tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("# ours\nbroccoli\n", encoding="utf-8")
    app.extensions["quiz.resources"].settings = replace(settings, blocked_names_file=str(words))
    code = create_quiz(client)["quiz_id"]
    refused = client.post(f"/api/v1/quizzes/{code}/participants", json={"display_name": "Broccoli"})
    assert refused.status_code == 422
    assert join(client, code, "Shit happens")["display_name"] == "Shit happens"


def test_late_joins_are_allowed_unless_the_quiz_says_no(client):
    quiz = create_quiz(client)
    code = quiz["quiz_id"]
    open_question(client, code, quiz["questions"][0]["question_id"])
    late = join(client, code, "Late")
    standing = client.get(
        f"/api/v1/quizzes/{code}/leaderboard",
        query_string={"participant_id": late["participant_id"]},
    ).json["me"]
    assert standing["score"] == 0
    strict = client.post(
        "/api/v1/quizzes",
        json={
            "title": "No latecomers",
            "allow_late_join": False,
            "questions": [
                {
                    "text": "Q",
                    "choices": [{"text": "a", "correct": True}, {"text": "b", "correct": False}],
                }
            ],
        },
        headers=HOST,
    ).json
    assert strict["allow_late_join"] is False
    assert join(client, strict["quiz_id"], "Early")
    client.post(f"/api/v1/quizzes/{strict['quiz_id']}/next", headers=HOST)
    refused = client.post(
        f"/api/v1/quizzes/{strict['quiz_id']}/participants", json={"display_name": "Late"}
    )
    assert refused.status_code == 409
    assert "late" in refused.json["message"]


def test_a_late_player_s_missed_questions_count_as_not_answered_for_the_streak(client, engine):
    quiz = create_quiz(client, questions=3)
    code = quiz["quiz_id"]
    early = join(client, code, "Early")
    for n, question in enumerate(quiz["questions"]):
        client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
        if n == 1:
            late = join(client, code, "Late")  # joins while question 2 is open
        right = question["choices"][0]["choice_id"]
        assert submit(client, code, early, question["question_id"], right).status_code == 202
        if n >= 1:
            assert submit(client, code, late, question["question_id"], right).status_code == 202
    with engine.connect() as conn:
        bonuses = conn.execute(
            text(
                "SELECT p.display_name, array_agg(a.streak_bonus ORDER BY q.position) "
                "FROM answers a JOIN participants p ON p.id = a.participant_id "
                "JOIN questions q ON q.id = a.question_id GROUP BY p.display_name"
            )
        ).all()
    # the question before the join counts as not answered: the streak starts with the
    # late player's first answer (the early player's runs through all three)
    assert dict(bonuses) == {"Early": [0, 100, 200], "Late": [0, 100]}
