"""Per-question statistics and the live count of answers, against the answers stored."""

from __future__ import annotations

from sqlalchemy import text

from tests.helpers import HOST, create_quiz, join, submit


def stats(client, code, question_id):
    return client.get(f"/api/v1/quizzes/{code}/questions/{question_id}/stats")


def progress(client, code, question_id):
    return client.get(f"/api/v1/quizzes/{code}/questions/{question_id}/progress")


def test_statistics_come_once_the_question_closes_and_equal_the_stored_answers(client, engine):
    quiz = create_quiz(client, questions=2)
    code, question = quiz["quiz_id"], quiz["questions"][0]
    qid = question["question_id"]
    right, wrong = (c["choice_id"] for c in question["choices"][:2])
    players = [join(client, code, f"P{n}") for n in range(5)]
    assert stats(client, code, qid).status_code == 409  # pending
    client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
    for player, choice in zip(players[:4], (right, wrong, right, right), strict=True):
        assert submit(client, code, player, qid, choice).status_code == 202
    # while open: no peeking, but the count is there for the host and the board
    refused = stats(client, code, qid)
    assert refused.status_code == 409
    assert "closes" in refused.json["message"]
    live = progress(client, code, qid).json
    assert (live["answered"], live["participants"], live["status"]) == (4, 5, "open")
    assert "choices" not in live
    client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)

    body = stats(client, code, qid).json
    with engine.connect() as conn:
        counted = dict(
            conn.execute(
                text("SELECT choice_id, count(*) FROM answers WHERE question_id = :q GROUP BY 1"),
                {"q": qid},
            ).all()
        )
        fastest = conn.execute(
            text(
                "SELECT a.participant_id FROM answers a JOIN questions q ON q.id = a.question_id "
                "WHERE a.question_id = :q AND a.correct ORDER BY a.received_at - q.opened_at, "
                "a.participant_id LIMIT 1"
            ),
            {"q": qid},
        ).scalar_one()
    assert {c["choice_id"]: c["count"] for c in body["choices"] if c["count"]} == counted
    assert (body["participants"], body["answered"], body["correct"]) == (5, 4, 3)
    assert body["percent_correct"] == 75.0
    assert [c["correct"] for c in body["choices"]][:2] == [True, False]
    assert body["fastest_correct"]["participant_id"] == fastest
    assert body["response_ms"]["median"] >= 0
    assert body["response_ms"]["p90"] >= body["response_ms"]["median"]


def test_statistics_are_kept_once_computed(client, engine, redis_client):
    quiz = create_quiz(client)
    code, question = quiz["quiz_id"], quiz["questions"][0]
    qid = question["question_id"]
    ann = join(client, code, "Ann")
    client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
    submit(client, code, ann, qid, question["choices"][0]["choice_id"])
    client.post(f"/api/v1/quizzes/{code}/finish", headers=HOST)
    first = stats(client, code, qid).json
    assert redis_client.exists(f"quiz:question:{qid}:stats")
    assert stats(client, code, qid).json == first


def test_unknown_quizzes_and_questions(client):
    quiz = create_quiz(client)
    code, qid = quiz["quiz_id"], quiz["questions"][0]["question_id"]
    assert stats(client, code, 999999).status_code == 404
    assert stats(client, "NOPE42", qid).status_code == 404
    assert progress(client, code, 999999).status_code == 404
