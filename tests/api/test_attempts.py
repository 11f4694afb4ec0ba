"""The attempt log: every submission with a valid token is recorded with its outcome."""

from __future__ import annotations

from sqlalchemy import text

from tests.helpers import HOST, bearer, create_quiz, join, submit
from tests.integration.support import wait_until


def logged(engine, code):
    """(participant, question, choice, outcome, has answer id) of each attempt, oldest first."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT a.participant_id, a.question_id, a.choice_id, a.outcome, a.answer_id, "
                "a.request_id FROM attempts a JOIN quizzes q ON q.id = a.quiz_id "
                "WHERE q.code = :c ORDER BY a.id"
            ),
            {"c": code},
        ).all()
    return found


def outcomes_once(engine, code, count):
    """The outcomes, once `count` attempts are written (refused ones are written off the
    request path, with the next INSERT or alone)."""

    def written():
        rows = logged(engine, code)
        return rows if len(rows) >= count else None

    return [r.outcome for r in wait_until(written, f"{count} attempts logged")]


def test_every_outcome_of_a_submission_is_logged(client, engine):
    quiz = create_quiz(client, questions=2)
    code, q1 = quiz["quiz_id"], quiz["questions"][0]
    ann = join(client, code, "Ann")
    right = q1["choices"][0]["choice_id"]
    assert submit(client, code, ann, q1["question_id"], right).status_code == 409  # not open
    client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
    accepted = submit(client, code, ann, q1["question_id"], right, key="k-1")
    assert accepted.status_code == 202
    assert submit(client, code, ann, q1["question_id"], right, key="k-1").status_code == 202
    other = q1["choices"][1]["choice_id"]
    assert submit(client, code, ann, q1["question_id"], other, key="k-1").status_code == 422
    assert submit(client, code, ann, q1["question_id"], other).status_code == 409
    # (Ann is at her five answers a second: Bob goes on)
    bob = join(client, code, "Bob")
    assert submit(client, code, bob, 999999, right).status_code == 404
    bad = client.post(
        f"/api/v1/quizzes/{code}/answers", json={"question_id": "x"}, headers=bearer(bob)
    )
    assert bad.status_code == 422
    # a token of no quiz (or another one) never reaches the log
    client.post(f"/api/v1/quizzes/{code}/answers", json={}, headers={"Authorization": "Bearer no"})

    outcomes = outcomes_once(engine, code, 7)
    assert sorted(outcomes) == sorted(
        [
            "not_open",
            "accepted",
            "replayed",
            "idempotency_key_reused",
            "already_answered",
            "not_found",
            "invalid",
        ]
    )
    rows = logged(engine, code)
    assert {r.participant_id for r in rows} == {ann["participant_id"], bob["participant_id"]}
    accepted_row = next(r for r in rows if r.outcome == "accepted")
    with engine.connect() as conn:
        answer_id = conn.execute(text("SELECT id FROM answers")).scalar_one()
    assert accepted_row.answer_id == answer_id
    assert accepted_row.request_id == accepted.headers["X-Request-ID"]
    assert all(r.answer_id is None for r in rows if r.outcome != "accepted")
    invalid = next(r for r in rows if r.outcome == "invalid")
    assert (invalid.question_id, invalid.choice_id) == (None, None)
    assert next(r for r in rows if r.outcome == "not_found").question_id == 999999


def test_late_rate_limited_and_removed_players_are_logged(client, engine):
    quiz = create_quiz(client, questions=1)
    code, q1 = quiz["quiz_id"], quiz["questions"][0]
    ann, bob, cy = join(client, code, "Ann"), join(client, code, "Bob"), join(client, code, "Cy")
    client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
    right = q1["choices"][0]["choice_id"]
    client.delete(f"/api/v1/quizzes/{code}/participants/{bob['participant_id']}", headers=HOST)
    assert submit(client, code, bob, q1["question_id"], right).status_code == 403
    # Cy resends until her five answers a second run out (a window may start in between)
    statuses = []
    while 429 not in statuses and len(statuses) < 20:
        statuses.append(submit(client, code, cy, q1["question_id"], right).status_code)
    assert statuses[0] == 202 and statuses[-1] == 429
    # the timer ran out (the sweep has not closed it yet)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE questions SET closes_at = now() - interval '1 second' WHERE id = :q"),
            {"q": q1["question_id"]},
        )
    client.application.extensions["quiz.resources"].redis.delete(f"quiz:{{{code}}}:state")
    assert submit(client, code, ann, q1["question_id"], right).status_code == 409
    outcomes = outcomes_once(engine, code, len(statuses) + 2)
    assert {"late", "removed_player", "accepted", "rate_limited"} <= set(outcomes)
    assert outcomes.count("accepted") == 1
    assert outcomes.count("rate_limited") == 1


def test_the_host_pages_through_the_log_by_id_with_filters(client, engine):
    quiz = create_quiz(client, questions=1)
    code, q1 = quiz["quiz_id"], quiz["questions"][0]
    players = [join(client, code, f"P{n}") for n in range(5)]
    client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
    right = q1["choices"][0]["choice_id"]
    for player in players:
        submit(client, code, player, q1["question_id"], right)
        submit(client, code, player, q1["question_id"], q1["choices"][1]["choice_id"])
    outcomes_once(engine, code, 10)

    def page(**query):
        response = client.get(f"/api/v1/quizzes/{code}/attempts", query_string=query, headers=HOST)
        assert response.status_code == 200, response.json
        return response.json

    seen, after = [], 0
    while True:
        body = page(limit=3, after=after)
        seen += body["attempts"]
        if body["next_after"] is None:
            break
        after = body["next_after"]
    assert len(seen) == 10
    ids = [a["attempt_id"] for a in seen]
    assert ids == sorted(ids) and len(set(ids)) == 10
    mine = page(participant_id=players[2]["participant_id"])["attempts"]
    assert [a["outcome"] for a in mine] == ["accepted", "already_answered"]
    assert len(page(question_id=q1["question_id"], limit=500)["attempts"]) == 10
    assert page(question_id=424242)["attempts"] == []
    for bad in ({"limit": 501}, {"limit": 0}, {"after": -1}, {"participant_id": "x"}):
        assert (
            client.get(
                f"/api/v1/quizzes/{code}/attempts", query_string=bad, headers=HOST
            ).status_code
            == 422
        )
    assert client.get(f"/api/v1/quizzes/{code}/attempts").status_code == 401
    assert client.get("/api/v1/quizzes/NOPE42/attempts", headers=HOST).status_code == 404
