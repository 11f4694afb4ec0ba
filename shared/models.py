"""The quiz schema: quizzes, questions, choices, participants, answers and the outbox."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base
from shared.quiz.question_types import MAX_TYPOS, QuestionType


class QuizStatus(enum.StrEnum):
    LOBBY = "lobby"
    RUNNING = "running"
    FINISHED = "finished"


class QuestionStatus(enum.StrEnum):
    PENDING = "pending"
    OPEN = "open"
    CLOSED = "closed"


class AnswerState(enum.StrEnum):
    ACCEPTED = "accepted"
    SCORED = "scored"
    REJECTED = "rejected"


def _in(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Quiz(Base):
    __tablename__ = "quizzes"
    __table_args__ = (CheckConstraint(_in("status", QuizStatus), name="status"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), server_default=QuizStatus.LOBBY.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # players may join once the game has started (they start at 0)
    allow_late_join: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # the scoring rules it is played with (shared/quiz/scoring.py Policy), kept so a later
    # change of the rules never changes how this quiz is recomputed
    scoring_version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    streak_bonus: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    speed_weighting: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # score corrections made so far: each leaderboard event carries it, so a total
    # computed before a correction never overwrites one computed after it
    score_epoch: Mapped[int] = mapped_column(Integer, server_default=text("0"))

    questions: Mapped[list[Question]] = relationship(
        back_populates="quiz", order_by="Question.position", cascade="all, delete-orphan"
    )


class Question(Base):
    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("quiz_id", "position"),
        CheckConstraint(_in("status", QuestionStatus), name="status"),
        CheckConstraint("points IN (0, 1000, 2000)", name="points"),
        CheckConstraint("time_limit_s > 0", name="time_limit_positive"),
        CheckConstraint(_in("type", QuestionType), name="type"),
        CheckConstraint(f"max_typos BETWEEN 0 AND {MAX_TYPOS}", name="max_typos"),
        # the timer's sweep (each second) looks only at the questions open now
        Index("ix_questions_open_closes_at", "closes_at", postgresql_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    # shared/quiz/question_types.py: what players send and how it is judged
    type: Mapped[str] = mapped_column(String(16), server_default=QuestionType.SINGLE.value)
    time_limit_s: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    # `multi`: points in proportion to right picks minus wrong ones, not all or nothing
    partial: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # `type_answer`: the answers taken, and how typed text is matched against them
    # (plain-string defaults: `text` is the question's column in this class body)
    accepted_answers: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    max_typos: Mapped[int] = mapped_column(Integer, server_default="0")
    ignore_accents: Mapped[bool] = mapped_column(Boolean, server_default="false")
    ignore_trailing_period: Mapped[bool] = mapped_column(Boolean, server_default="false")
    status: Mapped[str] = mapped_column(String(16), server_default=QuestionStatus.PENDING.value)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # a voided question earns nobody anything and counts for no streak
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    quiz: Mapped[Quiz] = relationship(back_populates="questions")
    choices: Mapped[list[Choice]] = relationship(
        back_populates="question", order_by="Choice.position", cascade="all, delete-orphan"
    )


class Choice(Base):
    __tablename__ = "choices"
    __table_args__ = (UniqueConstraint("question_id", "position"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    # for an `order` question, the place of the choice in the right order
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    # a poll's choices are all false: it has no right answer
    is_correct: Mapped[bool] = mapped_column(Boolean)

    question: Mapped[Question] = relationship(back_populates="choices")


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (
        # display names are unique per quiz among its players, whatever their case; a
        # removed player's name is free again (unless banned: shared/quiz/players.py)
        Index(
            "uq_participants_quiz_id_display_name",
            "quiz_id",
            func.lower(text("display_name")),
            unique=True,
            postgresql_where=text("removed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    display_name: Mapped[str] = mapped_column(String(40))
    total_score: Mapped[int] = mapped_column(Integer, server_default="0")
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # set when the host removed the player: the token stops working, the answers stay
    # (rejected as removed_player) and count for nothing
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # removed with ?ban=true: the display name cannot join this quiz again
    banned: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (
        # answer once: the authoritative check on the submit path
        UniqueConstraint("participant_id", "question_id"),
        # an Idempotency-Key names one answer of one participant
        UniqueConstraint("participant_id", "idempotency_key"),
        CheckConstraint(_in("state", AnswerState), name="state"),
        # one choice, several (picked or in order), or typed text: as the question's type wants
        CheckConstraint(
            "num_nonnulls(choice_id, choice_ids, answer_text) = 1", name="one_response"
        ),
        # the re-enqueue job scans only answers still waiting for a worker
        Index(
            "ix_answers_accepted_enqueued_at",
            "enqueued_at",
            postgresql_where=text("state = 'accepted'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    choice_id: Mapped[int | None] = mapped_column(ForeignKey("choices.id", ondelete="CASCADE"))
    # `multi`: the picked choices; `order`: every choice, in the order the player chose
    choice_ids: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))
    # `type_answer`: the text as typed, and the accepted answer it matched when scored
    answer_text: Mapped[str | None] = mapped_column(Text)
    matched_answer: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), server_default=AnswerState.ACCEPTED.value)
    reject_reason: Mapped[str | None] = mapped_column(String(64))
    task_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    enqueued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    scored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    correct: Mapped[bool | None] = mapped_column(Boolean)
    points: Mapped[int | None] = mapped_column(Integer)
    streak_bonus: Mapped[int | None] = mapped_column(Integer)
    total_score_after: Mapped[int | None] = mapped_column(Integer)


class AttemptOutcome(enum.StrEnum):
    """What became of a submission that reached the answer endpoint with a valid token."""

    ACCEPTED = "accepted"
    REPLAYED = "replayed"
    ALREADY_ANSWERED = "already_answered"
    NOT_OPEN = "not_open"
    LATE = "late"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    RATE_LIMITED = "rate_limited"
    REMOVED_PLAYER = "removed_player"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    TOO_LARGE = "too_large"
    BAD_REQUEST = "bad_request"


class Attempt(Base):
    """Every submission with a valid token, accepted or not: append-only (erasure aside)."""

    __tablename__ = "attempts"
    __table_args__ = (
        CheckConstraint(_in("outcome", AttemptOutcome), name="outcome"),
        # the host pages through a quiz's attempts by id
        Index("ix_attempts_quiz_id_id", "quiz_id", "id"),
        Index("ix_attempts_participant_id_id", "participant_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    # as sent: a question or choice that does not exist is recorded too
    question_id: Mapped[int | None] = mapped_column(BigInteger)
    choice_id: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(128))
    answer_id: Mapped[int | None] = mapped_column(BigInteger)


class Erasure(Base):
    """That a player's personal data was erased, when and at whose request: no personal
    data itself (the player's row keeps only its id and a tombstone name)."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), unique=True
    )
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # who asked: the host (the only caller allowed), and the request's id for the logs
    requested_by: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(128))


class ScoreCorrection(Base):
    """A regrade or a void, with every total it changed, before and after."""

    __tablename__ = "score_corrections"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    # "answer_key" or "void"
    kind: Mapped[str] = mapped_column(String(16))
    # what changed: the correct choices before and after, for a regrade
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # participant id -> [total before, total after], for the totals that changed
    totals: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # the quiz's score epoch this correction began
    epoch: Mapped[int] = mapped_column(Integer)
    corrected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(128))


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index(
            "ix_outbox_events_unpublished_created_at",
            "created_at",
            postgresql_where=text("published_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    topic: Mapped[str] = mapped_column(String(64))
    answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("answers.id", ondelete="SET NULL"), unique=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def table_of(model: type[Base]) -> Table:
    """A model's Core table, for the multi-row statements of the hot paths."""
    return cast(Table, model.__table__)
