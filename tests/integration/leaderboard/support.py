"""Quizzes, participants and totals made through the services, and the board read whole."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.events import leaderboard_update
from shared.leaderboard import board
from shared.models import Participant
from shared.quiz import players, quizzes


def make_quiz(session: Session, names: list[str]) -> tuple[str, dict[str, int]]:
    """A quiz with one question and these participants (joined in order): code and ids."""
    quiz = quizzes.create_quiz(
        session,
        quizzes.QuizSpec(
            title="Leaderboard quiz",
            questions=[
                quizzes.QuestionSpec(
                    "Q?", [quizzes.ChoiceSpec("yes", True), quizzes.ChoiceSpec("no", False)]
                )
            ],
        ),
    )
    session.commit()
    ids = {name: players.join_quiz(session, quiz.code, name).id for name in names}
    return quiz.code, ids


def set_total(session: Session, participant_id: int, total: int) -> None:
    """What scoring commits: the participant's new total in PostgreSQL."""
    session.execute(
        update(Participant).where(Participant.id == participant_id).values(total_score=total)
    )
    session.commit()


def event(quiz_code: str, participant_id: int, name: str, total: int, **extra: object) -> dict:
    """A version-1 leaderboard event as the worker publishes it (JSON form)."""
    return leaderboard_update(
        quiz_code=quiz_code,
        participant_id=participant_id,
        display_name=name,
        total_score=total,
        answer_id=extra.pop("answer_id", 1),  # type: ignore[arg-type]
        question_id=1,
        points=0,
        occurred_at=datetime.now(UTC),
        event_id=extra.pop("event_id", None) or uuid.uuid4(),  # type: ignore[arg-type]
        epoch=extra.pop("epoch", 0),  # type: ignore[arg-type]
    )


def whole_board(client: redis.Redis, quiz_code: str) -> list[tuple[int, str, int, int]]:
    """Every entry as (rank, name, score, participant id), best first."""
    view = board.read(client, quiz_code, limit=10**6)
    assert view is not None, f"the board of {quiz_code} is missing"
    return [(e.rank, e.display_name, e.score, e.participant_id) for e in view.entries]


def database_board(session: Session, quiz_code: str) -> dict[int, tuple[str, int]]:
    """participant id -> (name, total) as PostgreSQL has it."""
    quiz = quizzes.get_quiz(session, quiz_code)
    rows = session.execute(
        select(Participant.id, Participant.display_name, Participant.total_score).where(
            Participant.quiz_id == quiz.id
        )
    )
    session.rollback()
    return {r.id: (r.display_name, r.total_score) for r in rows}


def scores_of(entries: list[tuple[int, str, int, int]]) -> dict[int, tuple[str, int]]:
    return {pid: (name, score) for _, name, score, pid in entries}
