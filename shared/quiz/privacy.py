"""Personal data: erasing one player's on request, and deleting old quizzes for good.

A player's personal data is their display name (on their row, in the leaderboard events
kept in the outbox, on the Redis board, in cached statistics and boards) and what they
sent (their answers with the Idempotency-Key they chose, their attempts). Erasure removes
the player from the game as the host's removal does, then deletes their answers,
attempts and outbox events,
replaces the name with a tombstone and records that it happened, without anything
personal in that record. Other players' points stay as they are; their ranks move up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import redis
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from shared import redis_keys
from shared.models import Answer, Attempt, Erasure, OutboxEvent, Question, Quiz
from shared.quiz import players
from shared.quiz.quizzes import get_quiz

log = logging.getLogger(__name__)

# the display name an erased player's row keeps
TOMBSTONE = "(erased)"
# quizzes deleted in one transaction by the retention job, and transactions per run
RETENTION_BATCH = 100
RETENTION_BATCHES_PER_RUN = 10


def erase_participant(
    session: Session,
    client: redis.Redis,
    quiz_code: str,
    participant_id: int,
    now: datetime,
    request_id: str | None = None,
) -> None:
    """Erase a player's personal data. Again for an erased player: the Redis clean-up is
    done again and nothing else changes, so a retry after a 503 is safe."""
    quiz = get_quiz(session, quiz_code)
    participant = players.locked_participant(session, quiz, participant_id)
    players.mark_removed(session, participant, now)
    task_ids = list(
        session.scalars(select(Answer.task_id).where(Answer.participant_id == participant.id))
    )
    answer_ids = select(Answer.id).where(Answer.participant_id == participant.id)
    session.execute(delete(OutboxEvent).where(OutboxEvent.answer_id.in_(answer_ids)))
    # a correction's events name the player without being an answer's
    session.execute(
        delete(OutboxEvent).where(
            OutboxEvent.answer_id.is_(None),
            OutboxEvent.payload["participant_id"].as_integer() == participant.id,
        )
    )
    session.execute(delete(Answer).where(Answer.participant_id == participant.id))
    session.execute(delete(Attempt).where(Attempt.participant_id == participant.id))
    participant.display_name = TOMBSTONE
    participant.banned = False  # a ban is on a name, and the name is gone
    if session.scalar(select(Erasure.id).where(Erasure.participant_id == participant.id)) is None:
        session.add(
            Erasure(
                quiz_id=quiz.id,
                participant_id=participant.id,
                erased_at=now,
                requested_by="host",
                request_id=request_id,
            )
        )
    question_ids = [q.id for q in quiz.questions]
    session.commit()
    # committed: Redis failing here is a 503, and the host's retry cleans up again
    players.take_off_boards(client, quiz, participant.id)
    forget_cached(client, question_ids, [str(t) for t in task_ids])
    log.info("participant.erased", extra={"quiz": quiz.code, "participant_id": participant.id})


def forget_cached(
    client: redis.Redis, question_ids: Sequence[int], task_ids: Sequence[str]
) -> None:
    """Cached statistics (they name the fastest player) and task statuses."""
    keys = [redis_keys.question_stats(q) for q in question_ids]
    keys += [redis_keys.task_status(t) for t in task_ids]
    if keys:
        client.delete(*keys)


_DUE = text(
    """
    SELECT id, code FROM quizzes
    WHERE status = 'finished' AND created_at < :cutoff
    ORDER BY id LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
)


def delete_old_quizzes(
    session: Session, client: redis.Redis, now: datetime, retention_days: int
) -> list[str]:
    """Delete the finished quizzes created more than `retention_days` ago, with all they
    hold in PostgreSQL and Redis, a bounded batch per transaction. Returns their codes."""
    if retention_days <= 0:
        return []
    cutoff = now - timedelta(days=retention_days)
    deleted: list[str] = []
    for _ in range(RETENTION_BATCHES_PER_RUN):
        due = session.execute(_DUE, {"cutoff": cutoff, "limit": RETENTION_BATCH}).all()
        if not due:
            break
        ids = [row.id for row in due]
        question_ids = list(session.scalars(select(Question.id).where(Question.quiz_id.in_(ids))))
        answer_ids = select(Answer.id).where(Answer.question_id.in_(question_ids))
        session.execute(delete(OutboxEvent).where(OutboxEvent.answer_id.in_(answer_ids)))
        # answers, participants, questions, choices and erasures go with their quiz
        session.execute(
            delete(Quiz).where(Quiz.id.in_(ids)).execution_options(synchronize_session=False)
        )
        session.commit()
        for row in due:
            forget_quiz(client, row.code)
        forget_cached(client, question_ids, [])
        deleted += [row.code for row in due]
    # events whose answer is gone (their rows were deleted before this job existed)
    session.execute(
        delete(OutboxEvent).where(
            OutboxEvent.answer_id.is_(None), OutboxEvent.published_at < cutoff
        )
    )
    session.commit()
    if deleted:
        log.info("retention.deleted", extra={"quizzes": len(deleted), "cutoff": cutoff.isoformat()})
    return deleted


def forget_quiz(client: redis.Redis, quiz_code: str) -> None:
    """Every Redis key of a quiz: they all carry its code as a hash tag."""
    keys = list(client.scan_iter(match=f"quiz:{{{quiz_code}}}:*", count=1000))
    if keys:
        client.delete(*keys)
