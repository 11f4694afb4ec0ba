"""Regrade and void with a real worker and leaderboard consumer: the Redis board converges
to PostgreSQL's recomputed totals, lower ones included, while the game goes on."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.helpers import HOST, join, submit
from tests.integration.support import create_quiz, rows, wait_all_scored, wait_until
from tests.live_stack import start_consumer

pytestmark = pytest.mark.integration


def board_equals_postgres(client, engine, code) -> bool:
    board = client.get(f"/api/v1/quizzes/{code}/leaderboard?limit=100").json
    shown = {e["participant_id"]: e["score"] for e in board["entries"]}
    stored = {
        r.id: r.total_score
        for r in rows(
            engine,
            "SELECT p.id, p.total_score FROM participants p JOIN quizzes q ON q.id = p.quiz_id "
            "WHERE q.code = :c AND p.removed_at IS NULL",
            c=code,
        )
    }
    return shown == stored


def test_a_regrade_during_a_running_game_and_a_void_reach_the_board(
    client, engine, settings, tmp_path, start_worker
):
    start_worker()
    consumer = start_consumer(settings, tmp_path)
    try:
        code, questions = create_quiz(client, [(1000, 30), (1000, 30), (1000, 30)])
        players = [join(client, code, f"P{n}") for n in range(6)]
        q1, q2, q3 = questions
        client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
        for n, player in enumerate(players):  # half right, half wrong
            choice = q1.right_choice if n % 2 == 0 else q1.wrong_choices[0]
            assert submit(client, code, player, q1.question_id, choice).status_code == 202
        client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
        for player in players:
            assert submit(client, code, player, q2.question_id, q2.right_choice).status_code == 202
        wait_all_scored(engine, 12)
        wait_until(lambda: board_equals_postgres(client, engine, code), "the board before")
        before = client.get(f"/api/v1/quizzes/{code}/leaderboard?limit=100").json

        # question 2 still open: question 1's right choice was the other one
        regrade = client.put(
            f"/api/v1/quizzes/{code}/questions/{q1.question_id}/answer-key",
            json={"correct_choice_ids": [q1.wrong_choices[0]]},
            headers=HOST,
        )
        assert regrade.status_code == 200, regrade.json
        lowered = [c for c in regrade.json["totals"] if c["after"] < c["before"]]
        assert lowered, "the regrade lowers the totals of who was right before"
        # the game goes on: question 3's answers are scored in the new epoch
        client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
        for player in players:
            assert submit(client, code, player, q3.question_id, q3.right_choice).status_code == 202
        wait_all_scored(engine, 18)
        wait_until(lambda: board_equals_postgres(client, engine, code), "the regraded board")
        after = client.get(f"/api/v1/quizzes/{code}/leaderboard?limit=100").json
        assert after != before

        # voiding question 2 takes its points off, and its part of question 3's streaks
        def q3_bonuses():
            found = rows(
                engine,
                "SELECT sum(streak_bonus) AS b FROM answers WHERE question_id = :q",
                q=q3.question_id,
            )
            return found[0].b

        # after the regrade: the odd players three right in a row (+200), the even two (+100)
        assert q3_bonuses() == 3 * 200 + 3 * 100
        voided = client.post(
            f"/api/v1/quizzes/{code}/questions/{q2.question_id}/void", headers=HOST
        )
        assert voided.status_code == 200, voided.json
        assert q3_bonuses() == 3 * 100 + 3 * 0
        assert (
            rows(
                engine,
                "SELECT sum(points) AS p FROM answers WHERE question_id = :q",
                q=q2.question_id,
            )[0].p
            == 0
        )
        wait_until(lambda: board_equals_postgres(client, engine, code), "the board after the void")
    finally:
        consumer.stop()
        print(consumer.tail())


def test_a_batch_waits_for_a_correction_and_scores_by_the_corrected_key(
    client, engine, start_worker
):
    """A correction holds its quiz; a worker's batch waits before it reads any answer key,
    then scores by the key the correction committed (never half and half)."""
    code, [question] = create_quiz(client, [(1000, 30)])
    players = [join(client, code, f"P{n}") for n in range(4)]
    client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
    for player in players:
        assert (
            submit(
                client, code, player, question.question_id, question.wrong_choices[0]
            ).status_code
            == 202
        )
    with engine.connect() as correction:
        # what PUT …/answer-key does first: the quiz held against scoring
        correction.execute(text("SELECT id FROM quizzes WHERE code = :c FOR UPDATE"), {"c": code})
        start_worker()
        wait_until(
            lambda: (
                rows(
                    engine,
                    "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE '%FOR KEY SHARE OF z%'",
                )[0].n
            ),
            "a batch to wait for the quiz",
        )
        correction.execute(
            text("UPDATE choices SET is_correct = (id = :w) WHERE question_id = :q"),
            {"w": question.wrong_choices[0], "q": question.question_id},
        )
        correction.commit()
    wait_all_scored(engine, 4)
    scored = rows(engine, "SELECT correct, points FROM answers")
    assert all(r.correct and r.points > 0 for r in scored)
