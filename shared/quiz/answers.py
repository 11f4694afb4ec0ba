"""Answers: accepted once on submit, scored once by a worker, reported to pollers."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.errors import Conflict, IdempotencyKeyReused, NotFound
from shared.events import LEADERBOARD_QUEUE, leaderboard_update
from shared.models import Answer, AnswerState, Choice, Participant, Question, Quiz
from shared.quiz import scoring
from shared.quiz.outbox import add_event
from shared.quiz.task_status import TaskState, TaskStatus

answers = Answer.__table__


@dataclass(frozen=True)
class Submission:
    participant_id: int
    question_id: int
    choice_id: int
    # None: the client sent no Idempotency-Key
    idempotency_key: str | None = None

    @property
    def effective_key(self) -> str:
        """Without a key the question is the key, so a plain retry is a safe replay."""
        return self.idempotency_key or f"question:{self.question_id}"

    @property
    def fingerprint(self) -> str:
        body = json.dumps({"question_id": self.question_id, "choice_id": self.choice_id})
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Acceptance:
    answer_id: int
    task_id: str
    replayed: bool


@dataclass(frozen=True)
class StoredAnswer:
    """The parts of a stored answer that decide how a conflicting submission is answered."""

    answer_id: int
    question_id: int
    task_id: str
    idempotency_key: str | None
    fingerprint: str
    received_at: datetime


def accept_answer(
    conn: Connection,
    submission: Submission,
    task_id: str,
    received_at: datetime,
    idempotency_ttl_s: int,
) -> Acceptance:
    """Record the answer as accepted, once; or say why this submission is a replay or a conflict.

    The INSERT is the authoritative answer-once and idempotency check: concurrent duplicates
    all hit the same unique constraints and exactly one of them inserts.
    """
    inserted = conn.execute(
        insert(answers)
        .values(
            participant_id=submission.participant_id,
            question_id=submission.question_id,
            choice_id=submission.choice_id,
            state=AnswerState.ACCEPTED.value,
            task_id=uuid.UUID(task_id),
            idempotency_key=submission.effective_key,
            fingerprint=submission.fingerprint,
            received_at=received_at,
            enqueued_at=received_at,
        )
        .on_conflict_do_nothing()
        .returning(answers.c.id)
    ).scalar()
    conn.commit()
    if inserted is not None:
        return Acceptance(answer_id=inserted, task_id=task_id, replayed=False)
    rows = conn.execute(
        select(
            answers.c.id,
            answers.c.question_id,
            answers.c.task_id,
            answers.c.idempotency_key,
            answers.c.fingerprint,
            answers.c.received_at,
        ).where(
            answers.c.participant_id == submission.participant_id,
            or_(
                answers.c.question_id == submission.question_id,
                answers.c.idempotency_key == submission.effective_key,
            ),
        )
    ).all()
    conn.rollback()
    stored = [
        StoredAnswer(
            answer_id=r.id,
            question_id=r.question_id,
            task_id=str(r.task_id),
            idempotency_key=r.idempotency_key,
            fingerprint=r.fingerprint,
            received_at=r.received_at,
        )
        for r in rows
    ]
    return resolve_conflict(submission, stored, received_at, idempotency_ttl_s)


def resolve_conflict(
    submission: Submission,
    stored: Sequence[StoredAnswer],
    now: datetime,
    idempotency_ttl_s: int,
) -> Acceptance:
    """Decide what a submission that lost the INSERT is: a replay, a key reuse or a conflict."""
    key_cutoff = now - timedelta(seconds=idempotency_ttl_s)
    for answer in stored:
        if answer.idempotency_key != submission.effective_key or answer.received_at < key_cutoff:
            continue
        if answer.fingerprint == submission.fingerprint:
            return Acceptance(answer_id=answer.answer_id, task_id=answer.task_id, replayed=True)
        if submission.idempotency_key is not None:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used with a different body",
                {"idempotency_key": ["used before with another question_id or choice_id"]},
            )
    raise Conflict(f"question {submission.question_id} has already been answered")


@dataclass(frozen=True)
class ScoringOutcome:
    status: TaskStatus
    # the leaderboard event to publish, when this call did the scoring
    event: dict[str, Any] | None = None
    outbox_id: int | None = None


def _result(answer: Any) -> dict[str, Any]:
    return {
        "answer_id": answer.id,
        "question_id": answer.question_id,
        "correct": answer.correct,
        "points": answer.points,
        "total_score": answer.total_score_after,
    }


def status_of(answer: Any) -> TaskStatus:
    """The task status an answer (model or row) implies, for when Redis no longer has it."""
    task_id = str(answer.task_id)
    if answer.state == AnswerState.SCORED:
        return TaskStatus(task_id, TaskState.SUCCESS, result=_result(answer))
    if answer.state == AnswerState.REJECTED:
        reason = answer.reject_reason or "rejected"
        return TaskStatus(
            task_id, TaskState.FAILURE, error={"code": reason, "message": REJECT_MESSAGES[reason]}
        )
    return TaskStatus(task_id, TaskState.PENDING)


REJECT_MESSAGES = {
    "rejected": "the answer was rejected",
    "choice_not_in_question": "the choice does not belong to the question",
    "too_many_attempts": "scoring failed repeatedly; the answer was set aside",
}


def task_status_from_db(session: Session, task_id: str) -> TaskStatus | None:
    try:
        task_uuid = uuid.UUID(task_id)
    except ValueError:
        return None
    answer = session.execute(select(*_STATUS_COLUMNS).where(answers.c.task_id == task_uuid)).first()
    return status_of(answer) if answer is not None else None


_STATUS_COLUMNS = (
    answers.c.id,
    answers.c.task_id,
    answers.c.state,
    answers.c.reject_reason,
    answers.c.question_id,
    answers.c.correct,
    answers.c.points,
    answers.c.total_score_after,
)


def earlier_results(
    session: Session, quiz_id: int, participant_id: int, opened_at: datetime
) -> list[bool]:
    """For each question opened before `opened_at` (oldest first): did this participant get it?

    Only stored answers count, never other workers' progress, so the result does not depend
    on the order in which answers are scored.
    """
    rows = session.execute(
        select(
            Question.points,
            Question.time_limit_s,
            Question.opened_at,
            Question.closed_at,
            Choice.is_correct,
            Answer.received_at,
        )
        .outerjoin(
            Answer,
            and_(
                Answer.question_id == Question.id,
                Answer.participant_id == participant_id,
                Answer.state != AnswerState.REJECTED.value,
            ),
        )
        .outerjoin(Choice, Choice.id == Answer.choice_id)
        .where(
            Question.quiz_id == quiz_id,
            Question.opened_at.is_not(None),
            Question.opened_at < opened_at,
        )
        .order_by(Question.opened_at)
    ).all()
    return [
        row.received_at is not None
        and scoring.answer_counts_correct(
            scoring.QuestionWindow(row.points, row.time_limit_s, row.opened_at, row.closed_at),
            bool(row.is_correct),
            row.received_at,
        )
        for row in rows
    ]


def _lock_answer_for_scoring(session: Session, answer_id: int) -> Any:
    """The answer with all scoring needs, in one query; the answer row stays locked."""
    row = session.execute(
        select(
            *_STATUS_COLUMNS,
            answers.c.participant_id,
            answers.c.received_at,
            Question.quiz_id,
            Question.points.label("question_points"),
            Question.time_limit_s,
            Question.opened_at,
            Question.closed_at,
            Choice.question_id.label("choice_question_id"),
            Choice.is_correct,
            Participant.display_name,
            Quiz.code.label("quiz_code"),
        )
        .join(Question, Question.id == answers.c.question_id)
        .join(Choice, Choice.id == answers.c.choice_id)
        .join(Participant, Participant.id == answers.c.participant_id)
        .join(Quiz, Quiz.id == Question.quiz_id)
        .where(answers.c.id == answer_id)
        .with_for_update(of=answers)
    ).first()
    if row is None:
        raise NotFound(f"answer {answer_id} does not exist")
    return row


def score_accepted_answer(session: Session, answer_id: int, now: datetime) -> ScoringOutcome:
    """Score an accepted answer in one transaction: answer, total and outbox event together.

    The answer row is locked first, so a duplicate run waits, then sees it scored and
    changes nothing.
    """
    answer = _lock_answer_for_scoring(session, answer_id)
    if answer.state != AnswerState.ACCEPTED:
        session.rollback()
        return ScoringOutcome(status=status_of(answer))
    if answer.choice_question_id != answer.question_id or answer.opened_at is None:
        return reject_answer(session, answer_id, "choice_not_in_question", now)
    score = scoring.score_answer(
        scoring.QuestionWindow(
            answer.question_points, answer.time_limit_s, answer.opened_at, answer.closed_at
        ),
        answer.is_correct,
        answer.received_at,
        earlier_results(session, answer.quiz_id, answer.participant_id, answer.opened_at),
    )
    total_score = session.execute(
        update(Participant)
        .where(Participant.id == answer.participant_id)
        .values(total_score=Participant.total_score + score.points)
        .returning(Participant.total_score)
    ).scalar_one()
    session.execute(
        update(answers)
        .where(answers.c.id == answer_id)
        .values(
            state=AnswerState.SCORED.value,
            correct=score.correct,
            points=score.points,
            streak_bonus=score.streak_bonus,
            total_score_after=total_score,
            scored_at=now,
        )
    )
    event = leaderboard_update(
        quiz_code=answer.quiz_code,
        participant_id=answer.participant_id,
        display_name=answer.display_name,
        total_score=total_score,
        answer_id=answer_id,
        question_id=answer.question_id,
        points=score.points,
        occurred_at=now,
    )
    outbox_id = add_event(session, LEADERBOARD_QUEUE, event, answer_id=answer_id)
    session.commit()
    status = TaskStatus(
        str(answer.task_id),
        TaskState.SUCCESS,
        result={
            "answer_id": answer_id,
            "question_id": answer.question_id,
            "correct": score.correct,
            "points": score.points,
            "total_score": total_score,
        },
    )
    return ScoringOutcome(status=status, event=event, outbox_id=outbox_id)


def reject_answer(session: Session, answer_id: int, reason: str, now: datetime) -> ScoringOutcome:
    """Set an accepted answer aside for good; it earns nothing and its task reports FAILURE."""
    row = session.execute(
        update(answers)
        .where(answers.c.id == answer_id, answers.c.state == AnswerState.ACCEPTED.value)
        .values(state=AnswerState.REJECTED.value, reject_reason=reason, scored_at=now)
        .returning(*_STATUS_COLUMNS)
    ).first()
    if row is None:
        row = session.execute(select(*_STATUS_COLUMNS).where(answers.c.id == answer_id)).first()
        if row is None:
            raise NotFound(f"answer {answer_id} does not exist")
    session.commit()
    return ScoringOutcome(status=status_of(row))


@dataclass(frozen=True)
class StaleAnswer:
    answer_id: int
    participant_id: int
    task_id: str


def claim_stale_answers(
    conn: Connection, now: datetime, older_than_s: float, limit: int
) -> list[StaleAnswer]:
    """Answers still accepted long after they were enqueued; stamped so the next run waits."""
    stale = (
        select(answers.c.id)
        .where(
            answers.c.state == AnswerState.ACCEPTED.value,
            answers.c.enqueued_at < now - timedelta(seconds=older_than_s),
        )
        .order_by(answers.c.enqueued_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("stale")
    )
    rows = conn.execute(
        update(answers)
        .where(answers.c.id == stale.c.id)
        .values(enqueued_at=now)
        .returning(answers.c.id, answers.c.participant_id, answers.c.task_id)
    ).all()
    return [StaleAnswer(r.id, r.participant_id, str(r.task_id)) for r in rows]


def forget_idempotency_keys(conn: Connection, now: datetime, ttl_s: int) -> int:
    """Free keys older than their retention so a participant may use them again."""
    result = conn.execute(
        update(answers)
        .where(
            answers.c.idempotency_key.is_not(None),
            answers.c.received_at < now - timedelta(seconds=ttl_s),
        )
        .values(idempotency_key=None)
    )
    return result.rowcount
