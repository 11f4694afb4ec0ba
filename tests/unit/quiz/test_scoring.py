"""The scoring rules of DESIGN.md, without a database or a clock."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.quiz.scoring import (
    QuestionWindow,
    compute_score,
    current_streak,
    round_half_up,
    streak_bonus,
    time_points,
)

OPENED = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return OPENED + timedelta(seconds=seconds)


def window(points: int = 1000, time_limit_s: int = 30, closed_after_s: float | None = None):
    closed_at = at(closed_after_s) if closed_after_s is not None else None
    return QuestionWindow(points, time_limit_s, OPENED, closed_at)


def test_worked_example_two_seconds_on_a_thirty_second_timer_earns_967():
    score = compute_score(window(), True, at(2), [])
    assert score.points == 967


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [(0.0, 1000), (0.3, 1000), (0.5, 1000), (15, 750), (30, 500), (1.5, 975)],
)
def test_time_points_run_from_full_to_half(elapsed, expected):
    assert time_points(1000, 30, elapsed) == expected


def test_double_points_question_doubles_the_time_points():
    assert compute_score(window(points=2000), True, at(2), []).points == 1933


def test_zero_point_question_earns_no_time_points():
    assert compute_score(window(points=0), True, at(1), []).base_points == 0


def test_half_points_round_up():
    assert round_half_up(966.5) == 967
    assert round_half_up(966.4999) == 966
    # 1000 x (1 - (9/20)/2) = 775 exactly; 1000 x (1 - (3/40)/2) = 962.5 -> 963
    assert time_points(1000, 40, 3) == 963


def test_wrong_answer_earns_nothing_and_breaks_no_rule():
    score = compute_score(window(), False, at(1), [True, True])
    assert (score.correct, score.points, score.streak) == (False, 0, 0)


def test_answer_after_the_timer_earns_nothing_but_stays_marked_correct():
    score = compute_score(window(time_limit_s=20), True, at(20.001), [])
    assert score.correct is True
    assert score.points == 0


def test_answer_after_an_early_close_earns_nothing():
    assert compute_score(window(closed_after_s=5), True, at(6), []).points == 0
    assert compute_score(window(closed_after_s=5), True, at(4), []).points > 0


def test_answer_before_the_question_opened_earns_nothing():
    assert compute_score(window(), True, at(-1), []).points == 0


@pytest.mark.parametrize(
    ("streak", "bonus"), [(0, 0), (1, 0), (2, 100), (3, 200), (6, 500), (7, 500), (20, 500)]
)
def test_streak_bonus_grows_by_100_and_stops_at_500(streak, bonus):
    assert streak_bonus(streak) == bonus


def test_streak_counts_correct_answers_in_a_row_at_the_end():
    assert current_streak([]) == 0
    assert current_streak([True, True, False, True, True]) == 2
    assert current_streak([True, True, True]) == 3
    assert current_streak([True, False]) == 0


def test_second_correct_answer_in_a_row_earns_100_more():
    score = compute_score(window(), True, at(0.2), [True])
    assert (score.base_points, score.streak, score.streak_bonus, score.points) == (
        1000,
        2,
        100,
        1100,
    )


def test_streak_bonus_is_not_doubled_on_double_points():
    score = compute_score(window(points=2000), True, at(0.2), [True, True])
    assert (score.base_points, score.streak_bonus) == (2000, 200)


def test_missing_answer_resets_the_streak():
    # a missing answer reaches the rule as False, like a wrong one
    assert compute_score(window(), True, at(0.2), [True, True, False]).streak_bonus == 0
