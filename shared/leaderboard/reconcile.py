"""The guard against every fault nobody thought of: compare each live quiz's Redis board
with PostgreSQL and repair what differs.

A board trails PostgreSQL by the events still on their way (an answer scored a moment
ago, an outbox row the relay has not sent yet), and that is no fault. So a player is
compared only once they have been quiet for a while (no answer scored, no join, within
RECONCILE_GRACE_S): any event about them has had that long to land. A repair writes the
total PostgreSQL holds, and only if the board still shows what was read from it
(compare-and-set in one script), so it never undoes an event applied meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from sqlalchemy import text
from sqlalchemy.orm import Session

from shared import live_notices, redis_keys
from shared.leaderboard import board
from shared.leaderboard.ranking import member_of, participant_of

log = logging.getLogger(__name__)

# boards with fewer players are compared whole; larger ones on a random sample
WHOLE_BELOW = 10_000
SAMPLE_SIZE = 1_000
# how long a player must have been quiet before their total is compared
RECONCILE_GRACE_S = 30.0
# finished quizzes are still compared this long after their last question closed
FINISHED_WITHIN = timedelta(hours=1)


@dataclass(frozen=True)
class Expected:
    """A player's total and name as PostgreSQL holds them."""

    participant_id: int
    display_name: str
    total_score: int


@dataclass(frozen=True)
class Repair:
    participant_id: int
    # what the board shows (None: not on it) and what it should show (None: off it)
    found_score: int | None
    found_name: str | None
    expected: Expected | None


def differences(
    expected: Sequence[Expected],
    found: dict[int, tuple[int | None, str | None]],
    extras: Iterable[int] = (),
) -> list[Repair]:
    """What to repair: each expected player whose score or name the board shows wrong
    (or not at all), and each `extras` member that should not be on it."""
    repairs = []
    for player in expected:
        score, name = found.get(player.participant_id, (None, None))
        if score != player.total_score or name != player.display_name:
            repairs.append(Repair(player.participant_id, score, name, player))
    for participant_id in extras:
        score, name = found.get(participant_id, (None, None))
        repairs.append(Repair(participant_id, score, name, None))
    return repairs


_LIVE_QUIZZES = text(
    """
    SELECT q.id, q.code FROM quizzes q
    WHERE q.status <> 'finished' OR EXISTS (
        SELECT 1 FROM questions x WHERE x.quiz_id = q.id AND x.closed_at > :finished_after
    )
    ORDER BY q.id
    """
)

# the quiz's players quiet since :quiet_since (all of them, or a random sample)
_QUIET_PLAYERS = """
    SELECT p.id, p.display_name, p.total_score FROM participants p
    WHERE p.quiz_id = :quiz_pk AND p.removed_at IS NULL AND p.joined_at < :quiet_since
      AND NOT EXISTS (
        SELECT 1 FROM answers a
        WHERE a.participant_id = p.id
          AND (a.scored_at IS NULL AND a.state = 'accepted' OR a.scored_at >= :quiet_since)
      )
"""


def live_quizzes(session: Session, now: datetime) -> list[tuple[int, str]]:
    """Quizzes not finished, or finished within the last hour: (primary key, join code)."""
    rows = session.execute(_LIVE_QUIZZES, {"finished_after": now - FINISHED_WITHIN})
    return [(row.id, row.code) for row in rows]


def _quiet_players(
    session: Session, quiz_pk: int, quiet_since: datetime, sample: int | None
) -> list[Expected]:
    query = _QUIET_PLAYERS + (" ORDER BY random() LIMIT :sample" if sample else "")
    rows = session.execute(
        text(query), {"quiz_pk": quiz_pk, "quiet_since": quiet_since, "sample": sample}
    )
    return [Expected(row.id, row.display_name, row.total_score) for row in rows]


def _players_count(session: Session, quiz_pk: int) -> int:
    count: int = session.execute(
        text("SELECT count(*) FROM participants WHERE quiz_id = :q AND removed_at IS NULL"),
        {"q": quiz_pk},
    ).scalar_one()
    return count


def _every_player(session: Session, quiz_pk: int) -> set[int]:
    rows = session.execute(
        text("SELECT id FROM participants WHERE quiz_id = :q AND removed_at IS NULL"),
        {"q": quiz_pk},
    )
    return {row.id for row in rows}


def _board_of(
    client: redis.Redis, quiz_code: str, participant_ids: Sequence[int], whole: bool
) -> tuple[dict[int, tuple[int | None, str | None]], list[int]]:
    """What the board shows for these players, and (when whole) every member it holds."""
    members = [member_of(pid) for pid in participant_ids]
    with client.pipeline(transaction=False) as pipe:
        if members:
            pipe.zmscore(redis_keys.leaderboard(quiz_code), members)
            pipe.hmget(redis_keys.leaderboard_names(quiz_code), members)
        if whole:
            pipe.zrange(redis_keys.leaderboard(quiz_code), 0, -1)
        replies = pipe.execute()
    found: dict[int, tuple[int | None, str | None]] = {}
    if members:
        scores, names = replies[0], replies[1]
        for pid, score, name in zip(participant_ids, scores, names, strict=True):
            found[pid] = (
                int(score) if score is not None else None,
                _text(name) if name is not None else None,
            )
    on_board = [participant_of(_text(m)) for m in replies[-1]] if whole else []
    return found, on_board


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def reconcile_quiz(
    session: Session,
    client: redis.Redis,
    quiz_pk: int,
    quiz_code: str,
    now: datetime,
    *,
    whole_below: int = WHOLE_BELOW,
    sample_size: int = SAMPLE_SIZE,
) -> int:
    """Compare one quiz's board with PostgreSQL and repair it; return the repairs made.

    A board missing from Redis is left alone: the next reader or event rebuilds it.
    """
    if not board.is_intact(client, quiz_code):
        return 0
    whole = _players_count(session, quiz_pk) < whole_below
    quiet_since = now - timedelta(seconds=RECONCILE_GRACE_S)
    expected = _quiet_players(session, quiz_pk, quiet_since, None if whole else sample_size)
    players = _every_player(session, quiz_pk) if whole else set()
    session.rollback()
    found, on_board = _board_of(client, quiz_code, [p.participant_id for p in expected], whole)
    # members the board holds that PostgreSQL does not have as players (removed, or never)
    extras = [pid for pid in on_board if pid not in players] if whole else []
    if extras:
        more, _ = _board_of(client, quiz_code, extras, False)
        found.update(more)
    repairs = differences(expected, found, extras)
    if not repairs:
        return 0
    repaired = board.compare_and_set(
        client,
        quiz_code,
        [
            (
                r.participant_id,
                r.found_score,
                r.expected.total_score if r.expected else None,
                r.expected.display_name if r.expected else "",
            )
            for r in repairs
        ],
    )
    for repair in repairs:
        log.warning(
            "leaderboard.repaired",
            extra={
                "quiz": quiz_code,
                "participant_id": repair.participant_id,
                "board_score": repair.found_score,
                "postgres_score": repair.expected.total_score if repair.expected else None,
            },
        )
    if repaired:
        client.incrby(redis_keys.board_repairs(), repaired)
        live_notices.publish(client, quiz_code)
    return repaired


def reconcile_all(session: Session, client: redis.Redis, now: datetime) -> dict[str, int]:
    """Reconcile every live quiz's board; the repairs per join code (only those with any)."""
    repaired = {}
    for quiz_pk, code in live_quizzes(session, now):
        count = reconcile_quiz(session, client, quiz_pk, code, now)
        if count:
            repaired[code] = count
    return repaired
