"""The board after each question and a player's own results, from stored answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.quiz.results import (
    PlayedQuestion,
    Player,
    StoredAnswer,
    results_of,
    standings_after,
)
from shared.quiz.scoring import QuestionWindow

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def question(qid: int, opened_s: float, closed_s: float | None = None) -> PlayedQuestion:
    window = QuestionWindow(1000, 20, at(opened_s), at(closed_s) if closed_s is not None else None)
    return PlayedQuestion(qid, qid, window, closed=closed_s is not None)


def answer(pid: int, qid: int, received_s: float, right: bool, points: int | None, bonus=0):
    state = "scored" if points is not None else "accepted"
    return StoredAnswer(
        pid,
        qid,
        10 * qid + (1 if right else 2),
        right,
        at(received_s),
        state,
        points,
        bonus if points is not None else None,
    )


PLAYERS = [Player(1, "Ann", at(-60)), Player(2, "Bob", at(-50)), Player(3, "Cy", at(-40))]
Q1, Q2, Q3 = question(1, 0, 20), question(2, 30, 50), question(3, 60, 80)


def test_the_board_after_each_question_with_rank_movement_and_right_answers():
    answers = [
        answer(1, 1, 1, True, 950),
        answer(2, 1, 2, False, 0),
        answer(3, 1, 3, True, 900),
        answer(2, 2, 31, True, 1000),
        answer(3, 2, 40, True, 850, bonus=100),
        # Ann misses question 2
    ]
    first = standings_after(PLAYERS, [Q1, Q2], answers, 1)
    assert [(s.display_name, s.rank, s.score, s.correct_answers) for s in first] == [
        ("Ann", 1, 950, 1),
        ("Cy", 2, 900, 1),
        ("Bob", 3, 0, 0),
    ]
    assert [s.previous_rank for s in first] == [None, None, None]
    assert [s.movement for s in first] == [None, None, None]

    second = standings_after(PLAYERS, [Q1, Q2], answers, 2)
    assert [(s.display_name, s.rank, s.score, s.correct_answers) for s in second] == [
        ("Cy", 1, 1750, 2),
        ("Bob", 2, 1000, 1),
        ("Ann", 3, 950, 1),
    ]
    assert [(s.previous_rank, s.movement) for s in second] == [(2, 1), (3, 1), (1, -2)]


def test_equal_scores_share_a_rank_and_who_joined_first_comes_first():
    answers = [answer(3, 1, 1, True, 1000), answer(2, 1, 1, True, 1000)]
    board = standings_after(PLAYERS, [Q1], answers, 1)
    assert [(s.participant_id, s.rank) for s in board] == [(2, 1), (3, 1), (1, 3)]


def test_a_player_who_joined_after_a_question_closed_is_not_on_its_board():
    late = Player(4, "Di", at(25))
    answers = [answer(4, 2, 31, True, 1000)]
    assert 4 not in {
        s.participant_id for s in standings_after([*PLAYERS, late], [Q1, Q2], answers, 1)
    }
    second = standings_after([*PLAYERS, late], [Q1, Q2], answers, 2)
    di = next(s for s in second if s.participant_id == 4)
    assert (di.rank, di.previous_rank, di.movement) == (1, None, None)


def test_an_answer_still_being_scored_counts_nothing_yet_and_late_ones_are_not_right():
    answers = [answer(1, 1, 1, True, None), answer(2, 1, 25, True, 0)]
    board = {s.participant_id: s for s in standings_after(PLAYERS, [Q1], answers, 1)}
    assert (board[1].score, board[2].score) == (0, 0)
    # Bob's right choice came after the question closed: not a right answer
    assert board[2].correct_answers == 0


def test_k_outside_the_closed_questions_is_refused():
    with pytest.raises(ValueError):
        standings_after(PLAYERS, [Q1], [], 2)
    with pytest.raises(ValueError):
        standings_after(PLAYERS, [Q1], [], 0)


def test_a_players_results_carry_the_streak_a_miss_breaks_and_an_open_question_does_not():
    open_q4 = question(4, 90)
    mine = [
        answer(1, 1, 1, True, 1000),
        answer(1, 2, 31, True, 1050, bonus=100),
        # question 3 missed, question 4 open and answered, not scored yet
        answer(1, 4, 91, True, None),
    ]
    results = results_of([Q1, Q2, Q3, open_q4], mine)
    assert [
        (r["question_id"], r["answered"], r["correct"], r["points"], r["streak"]) for r in results
    ] == [
        (1, True, True, 1000, 1),
        (2, True, True, 1050, 2),
        (3, False, None, None, 0),
        (4, True, None, None, 1),
    ]
    assert results[1]["streak_bonus"] == 100
    assert [r["closed"] for r in results] == [True, True, True, False]
    # an open question not answered yet is not a miss yet
    assert [r["question_id"] for r in results_of([Q1, open_q4], mine[:1])] == [1]


def test_a_wrong_or_rejected_answer_ends_the_streak():
    mine = [
        answer(1, 1, 1, True, 1000),
        answer(1, 2, 31, False, 0),
        StoredAnswer(1, 3, 31, True, at(61), "rejected", None, None),
    ]
    results = results_of([Q1, Q2, Q3], mine)
    assert [(r["correct"], r["streak"], r["state"]) for r in results] == [
        (True, 1, "scored"),
        (False, 0, "scored"),
        (None, 0, "rejected"),
    ]
