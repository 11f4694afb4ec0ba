"""Rebuild leaderboards from PostgreSQL, the source of truth.

Used by the `flask leaderboard rebuild` command, by the consumer when an event finds its
board missing in Redis, and by readers in the same case.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import live_notices
from shared.codes import normalize_code
from shared.errors import NotFound
from shared.leaderboard import board
from shared.models import Participant, Quiz

log = logging.getLogger(__name__)


def standings(session: Session, quiz_pk: int) -> list[board.Standing]:
    """Every player of a quiz (not those the host removed) with the total PostgreSQL holds,
    in the quiz's current score epoch."""
    rows = session.execute(
        select(Participant.id, Participant.display_name, Participant.total_score, Quiz.score_epoch)
        .join(Quiz, Quiz.id == Participant.quiz_id)
        .where(Participant.quiz_id == quiz_pk, Participant.removed_at.is_(None))
    )
    return [board.Standing(r.id, r.display_name, r.total_score, r.score_epoch) for r in rows]


def rebuild_board(session: Session, client: redis.Redis, quiz_code: str) -> int:
    """Recompute a quiz's board from PostgreSQL; return how many participants it holds.

    The new board is written aside and swapped in at once. An event applied to the old
    board while this ran would be lost by the swap, so the totals are read a second time
    and merged (`ZADD GT`): that read comes after the swap, hence after the commit of
    any such event (events are published after their commit).
    """
    code = normalize_code(quiz_code)
    quiz_pk = session.scalar(select(Quiz.id).where(Quiz.code == code))
    if quiz_pk is None:
        raise NotFound(f"quiz {quiz_code!r} does not exist")
    first = standings(session, quiz_pk)
    # end the read transaction, so the second read sees what committed since
    session.rollback()
    # the epochs first: an event of an older epoch on its way is stale from now on
    board.set_epochs(client, code, first)
    board.replace(client, code, first, uuid.uuid4().hex)
    board.merge(client, code, standings(session, quiz_pk))
    session.rollback()
    live_notices.publish(client, code)
    log.info("leaderboard.rebuilt", extra={"quiz": code, "participants": len(first)})
    return len(first)


def quiz_codes(session: Session) -> Iterator[str]:
    """Join codes of every quiz, oldest first."""
    yield from session.scalars(select(Quiz.code).order_by(Quiz.id))


def rebuild_all(session: Session, client: redis.Redis) -> dict[str, int]:
    """Rebuild every quiz's board; return participants per join code."""
    return {code: rebuild_board(session, client, code) for code in list(quiz_codes(session))}
