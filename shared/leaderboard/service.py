"""Leaderboard operations as the API, the consumer and the join path use them.

Each repairs a board that is missing in Redis from PostgreSQL instead of using a
partial one.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
import redis.exceptions
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import live_notices, redis_keys
from shared.codes import normalize_code
from shared.errors import InvalidInput, NotFound
from shared.leaderboard import board
from shared.leaderboard.ranking import AROUND_ME, Entry
from shared.leaderboard.rebuild import rebuild_board
from shared.models import Participant
from shared.quiz.state import load_quiz_state

log = logging.getLogger(__name__)


# a rebuild of 100,000 participants takes a few seconds; waiters give up well before a
# request would time out and rebuild themselves
REBUILD_LOCK_S = 60
REBUILD_WAIT_S = 10


def rebuild_missing(session: Session, client: redis.Redis, quiz_code: str) -> None:
    """Rebuild a board Redis lost, once, however many callers find it missing together."""
    lock = client.lock(
        redis_keys.leaderboard_rebuild_lock(quiz_code),
        timeout=REBUILD_LOCK_S,
        blocking_timeout=REBUILD_WAIT_S,
    )
    acquired = lock.acquire()
    try:
        if not board.is_intact(client, quiz_code):
            log.warning("leaderboard.missing_rebuilding", extra={"quiz": quiz_code})
            rebuild_board(session, client, quiz_code)
    finally:
        if acquired:
            try:
                lock.release()
            except redis.exceptions.LockError:
                pass  # it expired: the rebuild took longer than REBUILD_LOCK_S


def read_board(
    client: redis.Redis,
    session: Session,
    quiz_code: str,
    limit: int,
    participant_id: int | None = None,
    around: int = AROUND_ME,
) -> board.BoardView:
    """Read a board, rebuilding it from PostgreSQL first when Redis lost it."""
    view = board.read(client, quiz_code, limit, participant_id, around)
    if view is None:
        rebuild_missing(session, client, quiz_code)
        view = board.read(client, quiz_code, limit, participant_id, around)
        if view is None:
            raise redis.exceptions.ConnectionError("the leaderboard vanished while being read")
    return view


# board.read, or a reader that shares its Redis calls (web/boards.py): client, quiz
# code, limit, participant id, around, known version
ReadBoard = Callable[[redis.Redis, str, int, int | None, int, int | None], board.BoardView | None]


def leaderboard_of(
    client: redis.Redis,
    session: Callable[[], Session],
    quiz_code: str,
    limit: int,
    participant_id: int | None = None,
    known_version: int | None = None,
    read: ReadBoard = board.read,
) -> tuple[board.BoardView, Entry | None]:
    """Top `limit` entries, and with `participant_id` its row (`me`) and neighbours.

    One Redis call (`read`) when the board is there (a board exists only for a quiz
    PostgreSQL knows), and no PostgreSQL session opened: `session` is asked for one only
    when the quiz is looked up, and its board rebuilt or the participant put on it. With
    `known_version`, a board still at that version comes without its top (board.read).

    :raises NotFound: no quiz has this code
    :raises InvalidInput: `participant_id` does not play in this quiz
    """
    code = normalize_code(quiz_code)
    view = read(client, code, limit, participant_id, AROUND_ME, known_version)
    if view is not None and (participant_id is None or view.row_of(participant_id)):
        return view, view.row_of(participant_id) if participant_id is not None else None
    # the quiz state cached in Redis says whether the quiz exists, without PostgreSQL: a
    # burst of new streams on a board not built yet must not queue for the database pool
    state = load_quiz_state(client, session(), code)
    if state is None:
        raise NotFound(f"quiz {quiz_code!r} does not exist")
    view = read_board(client, session(), code, limit, participant_id)
    me = view.row_of(participant_id) if participant_id is not None else None
    if participant_id is not None and me is None:
        standing = _standing(session(), state.quiz_pk, participant_id)
        # joined while Redis was unreachable: put them on the board now
        board.merge(client, code, [standing])
        view = read_board(client, session(), code, limit, participant_id)
        me = view.row_of(participant_id)
    return view, me


def _standing(session: Session, quiz_pk: int, participant_id: int) -> board.Standing:
    row = session.execute(
        select(Participant.display_name, Participant.total_score).where(
            Participant.id == participant_id,
            Participant.quiz_id == quiz_pk,
            Participant.removed_at.is_(None),
        )
    ).one_or_none()
    if row is None:
        raise InvalidInput(
            f"participant {participant_id} does not play in this quiz",
            {"query": {"participant_id": ["no participant of this quiz has this id"]}},
        )
    return board.Standing(participant_id, row.display_name, row.total_score)


def add_participant(
    client: redis.Redis, session: Session, quiz_code: str, participant_id: int, display_name: str
) -> None:
    """Put a participant who just joined on the board with 0 points, and tell live clients."""
    code = normalize_code(quiz_code)
    if board.add_participant(client, code, participant_id, display_name) is None:
        # the first join of a quiz, or a lost board: the rebuild includes this participant
        rebuild_missing(session, client, code)
        if board.add_participant(client, code, participant_id, display_name) is None:
            raise redis.exceptions.ConnectionError("the leaderboard vanished while joining")
    live_notices.publish(client, code)


@dataclass(frozen=True)
class Applied:
    """What applying updates did: boards that changed, quizzes PostgreSQL does not know."""

    changed: set[str]
    unknown: set[str]


def apply_updates(
    client: redis.Redis, session_factory: Callable[[], Session], updates: Sequence[dict[str, Any]]
) -> Applied:
    """Apply leaderboard updates (version-1 events, JSON form), one Redis call per quiz.

    Totals are absolute (`ZADD GT` within a score epoch), so a repeated or late update
    changes nothing. A
    missing board is rebuilt from PostgreSQL first; updates of a quiz PostgreSQL does
    not know are left out and named in the result.
    """
    by_quiz: dict[str, list[board.Standing]] = defaultdict(list)
    for update in updates:
        by_quiz[normalize_code(update["quiz_id"])].append(
            board.Standing(
                update["participant_id"],
                update["display_name"],
                update["total_score"],
                update.get("epoch", 0),
            )
        )
    applied = Applied(changed=set(), unknown=set())
    for code, standings in by_quiz.items():
        changed = board.apply_totals(client, code, standings)
        if changed is None:
            try:
                with session_factory() as session:
                    rebuild_missing(session, client, code)
            except NotFound:
                applied.unknown.add(code)
                continue
            # the rebuild read PostgreSQL after these updates' commit: applying is harmless
            board.apply_totals(client, code, standings)
            changed = len(standings)
        if changed:
            applied.changed.add(code)
    return applied


def apply_update(
    client: redis.Redis, session_factory: Callable[[], Session], event: dict[str, Any]
) -> bool:
    """Apply one version-1 event; whether it changed the board.

    :raises NotFound: the event names a quiz PostgreSQL does not know
    """
    applied = apply_updates(client, session_factory, [event])
    if applied.unknown:
        raise NotFound(f"quiz {event['quiz_id']!r} does not exist")
    return bool(applied.changed)
