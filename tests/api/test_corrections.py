"""Regrade and void through the API: every score recomputed from the stored answers."""

from __future__ import annotations

from sqlalchemy import text

from tests.helpers import HOST, bearer, create_quiz, join, submit


def answer_key(client, code, question_id, choice_ids, headers=HOST):
    return client.put(
        f"/api/v1/quizzes/{code}/questions/{question_id}/answer-key",
        json={"correct_choice_ids": choice_ids},
        headers=headers,
    )


def void(client, code, question_id, headers=HOST):
    return client.post(f"/api/v1/quizzes/{code}/questions/{question_id}/void", headers=headers)


def scored(engine, code):
    """(player, question position) -> (correct, points, streak bonus), and the totals."""
    with engine.connect() as conn:
        answers = conn.execute(
            text(
                "SELECT p.display_name, q.position, a.correct, a.points, a.streak_bonus "
                "FROM answers a JOIN participants p ON p.id = a.participant_id "
                "JOIN questions q ON q.id = a.question_id JOIN quizzes z ON z.id = q.quiz_id "
                "WHERE z.code = :c"
            ),
            {"c": code},
        ).all()
        totals = dict(
            conn.execute(
                text(
                    "SELECT p.display_name, p.total_score FROM participants p "
                    "JOIN quizzes z ON z.id = p.quiz_id WHERE z.code = :c"
                ),
                {"c": code},
            ).all()
        )
    return {
        (a.display_name, a.position): (a.correct, a.points, a.streak_bonus) for a in answers
    }, totals


def play(client):
    """Three questions: Ann right, right, right; Bob wrong, right, right; Cy only the last."""
    quiz = create_quiz(client, questions=3)
    code = quiz["quiz_id"]
    players = {name: join(client, code, name) for name in ("Ann", "Bob", "Cy")}
    picks = [
        {"Ann": 0, "Bob": 1, "Cy": 2},
        {"Ann": 0, "Bob": 0, "Cy": 1},
        {"Ann": 0, "Bob": 0, "Cy": 0},
    ]
    for question, pick in zip(quiz["questions"], picks, strict=True):
        client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
        for name, choice in pick.items():
            chosen = question["choices"][choice]["choice_id"]
            assert (
                submit(client, code, players[name], question["question_id"], chosen).status_code
                == 202
            )
    client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)  # the last one closes
    return quiz, players


def test_a_regrade_recomputes_points_and_later_streak_bonuses(client, engine):
    quiz, players = play(client)
    code, q1 = quiz["quiz_id"], quiz["questions"][0]
    before, totals_before = scored(engine, code)
    assert [before[("Ann", n)][2] for n in (1, 2, 3)] == [0, 100, 200]

    # the second choice of question 1 was the right one all along
    response = answer_key(client, code, q1["question_id"], [q1["choices"][1]["choice_id"]])
    assert response.status_code == 200, response.json
    after, totals = scored(engine, code)
    # Ann's first answer is now wrong: her streak starts at question 2
    assert after[("Ann", 1)] == (False, 0, 0)
    assert [after[("Ann", n)][2] for n in (2, 3)] == [0, 100]
    # Bob's is right: three in a row
    assert after[("Bob", 1)][0] is True and after[("Bob", 1)][1] > 0
    assert [after[("Bob", n)][2] for n in (1, 2, 3)] == [0, 100, 200]
    # totals are the sums of the stored points
    for name in ("Ann", "Bob", "Cy"):
        assert totals[name] == sum(v[1] for (who, _), v in after.items() if who == name)

    correction = response.json
    assert correction["kind"] == "answer_key" and correction["epoch"] == 1
    assert correction["details"]["correct_choice_ids"] == {
        "before": [q1["choices"][0]["choice_id"]],
        "after": [q1["choices"][1]["choice_id"]],
    }
    changed = {c["participant_id"]: (c["before"], c["after"]) for c in correction["totals"]}
    ids = {name: p["participant_id"] for name, p in players.items()}
    assert changed == {ids[name]: (totals_before[name], totals[name]) for name in ("Ann", "Bob")}
    # the host reads it back; the statistics and the boards show the new key
    listed = client.get(f"/api/v1/quizzes/{code}/corrections", headers=HOST).json
    assert [c["correction_id"] for c in listed] == [correction["correction_id"]]
    stats = client.get(f"/api/v1/quizzes/{code}/questions/{q1['question_id']}/stats").json
    assert [c["correct"] for c in stats["choices"]] == [False, True, False]
    board = client.get(f"/api/v1/quizzes/{code}/leaderboard?after_question=3").json
    assert {e["display_name"]: e["score"] for e in board["entries"]} == totals


def test_the_correction_writes_events_of_a_new_epoch_for_every_player_who_answered(client, engine):
    quiz, players = play(client)
    code, q1 = quiz["quiz_id"], quiz["questions"][0]
    answer_key(client, code, q1["question_id"], [q1["choices"][2]["choice_id"]])
    with engine.connect() as conn:
        events = conn.execute(
            text("SELECT answer_id, payload FROM outbox_events WHERE payload ? 'correction_id'")
        ).all()
    _, totals = scored(engine, code)
    assert {e.payload["display_name"]: e.payload["total_score"] for e in events} == totals
    assert {e.payload["epoch"] for e in events} == {1}
    assert all(e.answer_id is None for e in events)
    # the poll of a changed answer reads the new points from PostgreSQL
    cy = players["Cy"]
    mine = client.get(f"/api/v1/quizzes/{code}/participants/me", headers=bearer(cy)).json
    assert mine["results"][0]["correct"] is True and mine["score"] == totals["Cy"]


def test_a_void_earns_nothing_and_the_streak_skips_it(client, engine):
    quiz, _ = play(client)
    code, q2 = quiz["quiz_id"], quiz["questions"][1]
    response = void(client, code, q2["question_id"])
    assert response.status_code == 200, response.json
    after, totals = scored(engine, code)
    assert all(after[(name, 2)][1:] == (0, 0) for name in ("Ann", "Bob", "Cy"))
    # Ann: right, (void), right: the void neither breaks nor extends her streak
    assert [after[("Ann", n)][2] for n in (1, 3)] == [0, 100]
    # Bob: wrong, (void), right: a streak of one
    assert after[("Bob", 3)][2] == 0
    quiz_now = client.get(f"/api/v1/quizzes/{code}").json
    assert [q["voided"] for q in quiz_now["questions"]] == [False, True, False]
    final = client.get(f"/api/v1/quizzes/{code}/leaderboard?after_question=3").json
    assert {e["display_name"]: e["correct_answers"] for e in final["entries"]} == {
        "Ann": 2,
        "Bob": 1,
        "Cy": 1,
    }
    assert {e["display_name"]: e["score"] for e in final["entries"]} == totals
    again = void(client, code, q2["question_id"])
    assert again.status_code == 409 and "voided already" in again.json["message"]


def test_bad_corrections_are_refused_and_write_nothing(client, engine):
    quiz = create_quiz(client, questions=2)
    code, q1, q2 = quiz["quiz_id"], quiz["questions"][0], quiz["questions"][1]
    other = q2["choices"][0]["choice_id"]
    assert answer_key(client, code, q1["question_id"], [other]).status_code == 422
    assert answer_key(client, code, q1["question_id"], []).status_code == 422
    assert answer_key(client, code, q1["question_id"], ["1"]).status_code == 422
    assert answer_key(client, code, 999999, [other]).status_code == 404
    assert answer_key(client, code, q1["question_id"], [other], headers={}).status_code == 401
    assert void(client, code, q1["question_id"]).status_code == 409  # never played
    client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
    assert void(client, code, q1["question_id"]).status_code == 409  # still open
    assert void(client, code, q1["question_id"], headers={"X-Host-Key": "no"}).status_code == 403
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM score_corrections")).scalar_one() == 0
        assert conn.execute(text("SELECT score_epoch FROM quizzes")).scalar_one() == 0


def test_stream_clients_are_told_of_a_correction(client, stream):
    quiz, _ = play(client)
    code, q1 = quiz["quiz_id"], quiz["questions"][0]
    live = stream(code)
    assert live.next_event()["event"] == "leaderboard"
    response = answer_key(client, code, q1["question_id"], [q1["choices"][1]["choice_id"]])
    event = live.next_event()
    while event["event"] != "correction":
        event = live.next_event()
    assert event["data"] == {
        "correction_id": response.json["correction_id"],
        "kind": "answer_key",
        "question_id": q1["question_id"],
        "epoch": 1,
        "changed_participants": len(response.json["totals"]),
    }
