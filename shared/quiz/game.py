"""The game's flow as plain rules: lobby → question open → closed (reveal) → … → finished.

A quiz is in the lobby until its first question opens, running while questions are
played, finished when its last question closes or the host ends it. Questions open in
their order, one at a time, each once. These functions decide a transition from the
quiz as it is; shared/quiz/quizzes.py applies it under the quiz's row lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from shared.errors import Conflict
from shared.models import QuestionStatus, QuizStatus


class QuestionLike(Protocol):
    id: int
    position: int
    status: str
    closes_at: datetime | None


@dataclass(frozen=True)
class Step:
    """What `next` does: the question it closes and the one it opens (either may be None)."""

    close: int | None
    open: int | None


def _open_question(questions: Sequence[QuestionLike]) -> QuestionLike | None:
    return next((q for q in questions if q.status == QuestionStatus.OPEN), None)


def next_step(quiz_status: str, questions: Sequence[QuestionLike]) -> Step:
    """Close the open question, if any, and open the first question not played yet.

    With the last question open, `next` only closes it (and that finishes the quiz).
    """
    if quiz_status == QuizStatus.FINISHED:
        raise Conflict("the quiz has finished")
    playing = _open_question(questions)
    waiting = sorted(
        (q for q in questions if q.status == QuestionStatus.PENDING), key=lambda q: q.position
    )
    if playing is None and not waiting:
        raise Conflict("every question has been played")
    return Step(
        close=playing.id if playing is not None else None,
        open=waiting[0].id if waiting else None,
    )


def finish_step(quiz_status: str, questions: Sequence[QuestionLike]) -> Step | None:
    """Close the open question, if any, and end the quiz; None: it has finished already
    (a host's retry), so nothing changes."""
    if quiz_status == QuizStatus.FINISHED:
        return None
    playing = _open_question(questions)
    return Step(close=playing.id if playing is not None else None, open=None)


def can_open(quiz_status: str) -> None:
    """No question opens once the quiz has finished (the host ended it early)."""
    if quiz_status == QuizStatus.FINISHED:
        raise Conflict("the quiz has finished")


Q = TypeVar("Q", bound=QuestionLike)


def timed_out(questions: Sequence[Q], now: datetime) -> list[Q]:
    """Open questions whose timer has run out by `now`: the timer closes them."""
    return [
        q
        for q in questions
        if q.status == QuestionStatus.OPEN and q.closes_at is not None and q.closes_at <= now
    ]
