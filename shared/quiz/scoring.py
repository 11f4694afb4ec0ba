"""Kahoot-style scoring rules: pure functions of the question, the answer and the history.

Nothing here reads a clock or a database, so the score of an answer is the same whichever
worker computes it and in whatever order a participant's answers are processed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from shared.quiz.question_types import QuestionType, Verdict

# all of a question's points within this many seconds of it opening
FULL_POINTS_WINDOW_S = 0.5
STREAK_BONUS_STEP = 100
STREAK_BONUS_CAP = 500
ALLOWED_POINTS = (0, 1000, 2000)


@dataclass(frozen=True)
class QuestionWindow:
    """When a question took answers, and what it was worth."""

    points: int
    time_limit_s: int
    opened_at: datetime
    closed_at: datetime | None = None

    def accepts(self, received_at: datetime) -> bool:
        """Whether an answer received at `received_at` was in time."""
        if received_at < self.opened_at:
            return False
        if self.closed_at is not None and received_at > self.closed_at:
            return False
        return self.elapsed_s(received_at) <= self.time_limit_s

    def elapsed_s(self, received_at: datetime) -> float:
        return max(0.0, (received_at - self.opened_at).total_seconds())


@dataclass(frozen=True)
class Policy:
    """The rules a quiz is played with, stored with it: a later change of the rules gets a
    new version, and an old quiz is still recomputed by the version it was played with.

    Version 1 is Kahoot's: points fall from full to half over the time limit
    (`speed_weighting`), and right answers in a row earn a growing bonus (`streak_bonus`).
    """

    version: int = 1
    streak_bonus: bool = True
    speed_weighting: bool = True


DEFAULT_POLICY = Policy()
SCORING_VERSIONS = (1,)


@dataclass(frozen=True)
class Score:
    """`correct` says whether the answer was right (None: a poll, which has no right
    answer); a late right answer still earns 0."""

    correct: bool | None
    base_points: int
    streak: int
    streak_bonus: int

    @property
    def points(self) -> int:
        return self.base_points + self.streak_bonus


def round_half_up(value: float) -> int:
    """Round .5 up, as players expect; Python's round() would give 966 for 966.5."""
    return math.floor(value + 0.5)


def time_points(points: int, time_limit_s: int, elapsed_s: float) -> int:
    """Points for a correct answer after `elapsed_s`: full at first, half at the buzzer."""
    if elapsed_s <= FULL_POINTS_WINDOW_S:
        return points
    fraction = min(elapsed_s, time_limit_s) / time_limit_s
    return round_half_up(points * (1 - fraction / 2))


def streak_bonus(streak: int) -> int:
    """Bonus for the `streak`-th correct answer in a row: 0, 100, 200, … capped at 500."""
    return min(max(streak - 1, 0) * STREAK_BONUS_STEP, STREAK_BONUS_CAP)


def current_streak(earlier_results: Iterable[bool]) -> int:
    """Correct answers in a row at the end of `earlier_results` (oldest question first)."""
    streak = 0
    for counted_correct in earlier_results:
        streak = streak + 1 if counted_correct else 0
    return streak


def counts_for_streaks(question_type: str, voided: bool) -> bool:
    """A voided question and a poll neither break nor extend a streak."""
    return not voided and question_type != QuestionType.POLL


def answer_counts_correct(
    window: QuestionWindow, correct: bool | None, received_at: datetime
) -> bool:
    """A right answer counts (for points and streaks) only when it came in time."""
    return bool(correct) and window.accepts(received_at)


def compute_score(
    window: QuestionWindow,
    verdict: Verdict | bool,
    received_at: datetime,
    earlier_results: Iterable[bool],
    policy: Policy = DEFAULT_POLICY,
) -> Score:
    """Score one answer.

    :param verdict: how right it was (shared/quiz/question_types.py judge); a bool for
        an answer that is simply right or wrong
    :param earlier_results: for each question opened before this one that counts for
        streaks (not voided, not a poll), oldest first, whether the participant answered
        it correctly in time (a missing answer is False).

    A poll earns nothing and leaves the streak as it was; a partly right answer (`multi`
    with partial credit) earns its share of the time points but no streak bonus, and
    ends the streak.
    """
    if policy.version not in SCORING_VERSIONS:
        raise ValueError(f"no scoring rules of version {policy.version}")
    if isinstance(verdict, bool):
        verdict = Verdict.of(verdict)
    if verdict.correct is None:
        return Score(None, base_points=0, streak=current_streak(earlier_results), streak_bonus=0)
    if not window.accepts(received_at) or verdict.credit <= 0:
        return Score(correct=verdict.correct, base_points=0, streak=0, streak_bonus=0)
    if policy.speed_weighting:
        base = time_points(window.points, window.time_limit_s, window.elapsed_s(received_at))
    else:
        base = window.points
    if not verdict.correct:
        partial = round_half_up(base * verdict.credit)
        return Score(correct=False, base_points=partial, streak=0, streak_bonus=0)
    streak = current_streak(earlier_results) + 1
    bonus = streak_bonus(streak) if policy.streak_bonus else 0
    return Score(correct=True, base_points=base, streak=streak, streak_bonus=bonus)


def score_voided(correct: bool | None) -> Score:
    """An answer to a voided question earns nothing, and the question counts for no streak."""
    return Score(correct=correct, base_points=0, streak=0, streak_bonus=0)
