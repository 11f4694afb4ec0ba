"""The board after each question, a player's own results, and the public answer count."""

from __future__ import annotations

from sqlalchemy import text

from tests.helpers import HOST, bearer, create_quiz, join, submit


def after(client, code, k, **query):
    return client.get(
        f"/api/v1/quizzes/{code}/leaderboard", query_string={"after_question": k, **query}
    )


def me(client, code, player):
    return client.get(f"/api/v1/quizzes/{code}/participants/me", headers=bearer(player))


def next_(client, code):
    response = client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
    assert response.status_code == 200, response.json
    return response.json


def play_two_questions(client):
    """Ann right then wrong, Bob wrong then right, Cy right twice."""
    quiz = create_quiz(client, questions=3)
    code = quiz["quiz_id"]
    players = {name: join(client, code, name) for name in ("Ann", "Bob", "Cy")}
    picks = [{"Ann": 0, "Bob": 1, "Cy": 0}, {"Ann": 1, "Bob": 0, "Cy": 0}]
    for question, pick in zip(quiz["questions"], picks, strict=False):
        next_(client, code)
        for name, choice in pick.items():
            chosen = question["choices"][choice]["choice_id"]
            response = submit(client, code, players[name], question["question_id"], chosen)
            assert response.status_code == 202
    next_(client, code)  # closes question 2, opens question 3
    return quiz, players


def stored_totals(engine, question_ids):
    """Each player's points over `question_ids`, counted in SQL apart from the service."""
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text(
                    "SELECT p.display_name, coalesce(sum(a.points), 0) FROM participants p "
                    "LEFT JOIN answers a ON a.participant_id = p.id "
                    "AND a.question_id = ANY(:qs) AND a.state = 'scored' GROUP BY 1"
                ),
                {"qs": question_ids},
            ).all()
        )


def test_the_board_after_each_question_equals_the_stored_answers_with_movement(client, engine):
    quiz, _ = play_two_questions(client)
    code = quiz["quiz_id"]
    qids = [q["question_id"] for q in quiz["questions"]]

    first = after(client, code, 1)
    assert first.status_code == 200, first.json
    assert (first.json["after_question"], first.json["question_id"]) == (1, qids[0])
    scores = {e["display_name"]: e["score"] for e in first.json["entries"]}
    assert scores == stored_totals(engine, qids[:1])
    assert {e["display_name"]: e["correct_answers"] for e in first.json["entries"]} == {
        "Ann": 1,
        "Bob": 0,
        "Cy": 1,
    }
    assert all(e["movement"] is None for e in first.json["entries"])

    second = after(client, code, 2).json
    assert {e["display_name"]: e["score"] for e in second["entries"]} == stored_totals(
        engine, qids[:2]
    )
    rows = {e["display_name"]: e for e in second["entries"]}
    assert rows["Cy"]["rank"] == 1 and rows["Cy"]["correct_answers"] == 2
    for row in second["entries"]:
        before = next(
            e for e in first.json["entries"] if e["participant_id"] == row["participant_id"]
        )
        assert row["previous_rank"] == before["rank"]
        assert row["movement"] == before["rank"] - row["rank"]
    # competition ranks of the stored totals: 1 + how many players scored more
    totals = stored_totals(engine, qids[:2])
    for row in second["entries"]:
        better = sum(1 for score in totals.values() if score > row["score"])
        assert row["rank"] == better + 1
    assert second["total_participants"] == 3


def test_the_board_after_a_question_not_closed_yet_is_refused(client):
    quiz, players = play_two_questions(client)
    code = quiz["quiz_id"]
    refused = after(client, code, 3)
    assert refused.status_code == 409
    assert "2 question(s)" in refused.json["message"]
    assert after(client, code, 0).status_code == 422
    assert after(client, code, "x").status_code == 422
    assert after(client, "NOPE42", 1).status_code == 404
    mine = after(client, code, 2, participant_id=players["Bob"]["participant_id"], limit=1).json
    assert mine["me"]["display_name"] == "Bob" and len(mine["entries"]) == 1
    assert after(client, code, 2, participant_id=999999).status_code == 422


def test_a_player_reads_their_own_results_and_streak(client):
    quiz, players = play_two_questions(client)
    code = quiz["quiz_id"]
    cy = me(client, code, players["Cy"])
    assert cy.status_code == 200, cy.json
    body = cy.json
    assert body["display_name"] == "Cy" and body["quiz_status"] == "running"
    # question 3 is open and Cy has not answered it: not a miss yet
    assert [(r["position"], r["correct"], r["streak"]) for r in body["results"]] == [
        (1, True, 1),
        (2, True, 2),
    ]
    assert body["results"][1]["streak_bonus"] == 100
    assert body["score"] == sum(r["points"] for r in body["results"])

    ann = me(client, code, players["Ann"]).json
    assert [(r["correct"], r["streak"]) for r in ann["results"]] == [(True, 1), (False, 0)]
    assert ann["results"][1]["points"] == 0


def test_my_results_need_my_token_and_end_with_removal(client):
    quiz, players = play_two_questions(client)
    code = quiz["quiz_id"]
    assert client.get(f"/api/v1/quizzes/{code}/participants/me").status_code == 401
    other = create_quiz(client)["quiz_id"]
    assert me(client, other, players["Ann"]).status_code == 403
    bob = players["Bob"]
    removed = client.delete(
        f"/api/v1/quizzes/{code}/participants/{bob['participant_id']}", headers=HOST
    )
    assert removed.status_code == 204
    refused = me(client, code, bob)
    assert refused.status_code == 403
    assert "removed" in refused.json["message"]
    # and a removed player is on no board, past or present
    assert "Bob" not in {e["display_name"] for e in after(client, code, 2).json["entries"]}


def test_anyone_may_count_the_answers_of_an_open_question_but_not_see_them(client):
    quiz, players = play_two_questions(client)
    code, third = quiz["quiz_id"], quiz["questions"][2]
    submit(client, code, players["Ann"], third["question_id"], third["choices"][0]["choice_id"])
    progress = client.get(f"/api/v1/quizzes/{code}/questions/{third['question_id']}/progress")
    assert progress.status_code == 200
    assert (progress.json["answered"], progress.json["participants"]) == (1, 3)
    assert "choices" not in progress.json


def test_a_settled_board_after_a_question_is_kept_until_a_player_is_removed(client, redis_client):
    quiz, players = play_two_questions(client)
    code = quiz["quiz_id"]
    key = f"quiz:{{{code}}}:standings:2"
    first = after(client, code, 2).json
    assert redis_client.exists(key)
    assert after(client, code, 2).json == first
    bob = players["Bob"]
    client.delete(f"/api/v1/quizzes/{code}/participants/{bob['participant_id']}", headers=HOST)
    assert not redis_client.exists(key)
    assert "Bob" not in {e["display_name"] for e in after(client, code, 2).json["entries"]}


def test_a_board_with_an_answer_still_waiting_for_a_worker_is_not_kept(
    client, redis_client, engine
):
    quiz, _ = play_two_questions(client)
    code, second = quiz["quiz_id"], quiz["questions"][1]["question_id"]
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE answers SET state = 'accepted', points = NULL WHERE id = "
                "(SELECT min(id) FROM answers WHERE question_id = :q)"
            ),
            {"q": second},
        )
    assert after(client, code, 2).status_code == 200
    assert not redis_client.exists(f"quiz:{{{code}}}:standings:2")
    # the question before is settled, so its board is kept
    assert after(client, code, 1).status_code == 200
    assert redis_client.exists(f"quiz:{{{code}}}:standings:1")
