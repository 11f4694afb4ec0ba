"""Players: joining a quiz by its code and a name, and the host removing (or banning) one.

A removed player's token stops working, they leave the board, and their answers stay in
PostgreSQL, rejected as `removed_player`, so they count for nothing (scores, streaks,
statistics). With a ban their display name cannot join the quiz again.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import datetime
from pathlib import Path

import redis
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.leaderboard import board
from shared.models import Answer, AnswerState, Participant, Quiz, QuizStatus
from shared.quiz import results
from shared.quiz.quizzes import get_quiz
from shared.quiz.task_status import REMOVED_PLAYER

BUILT_IN_BLOCKED_NAMES = Path(__file__).with_name("blocked_names.txt")


@functools.lru_cache(maxsize=4)
def blocked_words(path: str = "") -> frozenset[str]:
    """The words of a blocked-names file (the built-in one when `path` is empty)."""
    text = Path(path or BUILT_IN_BLOCKED_NAMES).read_text(encoding="utf-8")
    words = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(_fold(word) for word in words if word)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def is_blocked(name: str, blocked: frozenset[str]) -> bool:
    """A word of the name is a blocked word, or one spelled out letter by letter.

    Whole words only: "Scunthorpe" or "Dickens" pass, "dick" or "big F.U.C.K" do not.
    """
    words = [w for w in re.split(r"[\W_]+", _fold(name)) if w]
    spelled: list[str] = []  # runs of one-letter words, joined
    run = ""
    for word in [*words, ""]:
        if len(word) == 1:
            run += word
        elif run:
            spelled.append(run)
            run = ""
    return any(w in blocked for w in [*words, *spelled])


def join_quiz(
    session: Session, quiz_code: str, display_name: str, blocked: frozenset[str] = frozenset()
) -> Participant:
    """Add a participant; display names are unique among a quiz's players, ignoring case."""
    quiz = get_quiz(session, quiz_code)
    if quiz.status == QuizStatus.FINISHED:
        raise Conflict(f"quiz {quiz.code} has finished")
    if quiz.status == QuizStatus.RUNNING and not quiz.allow_late_join:
        raise Conflict(f"quiz {quiz.code} has started and takes no late players")
    name = " ".join(display_name.split())
    if is_blocked(name, blocked):
        raise InvalidInput(
            "this display name is not allowed; choose another",
            {"json": {"display_name": ["not allowed"]}},
        )
    same_name = func.lower(Participant.display_name) == name.lower()
    banned = session.scalar(
        select(Participant.id).where(
            Participant.quiz_id == quiz.id, same_name, Participant.banned.is_(True)
        )
    )
    if banned is not None:
        raise Forbidden(f"the host banned the name {name!r} from this quiz")
    taken = session.scalar(
        select(Participant.id).where(
            Participant.quiz_id == quiz.id, same_name, Participant.removed_at.is_(None)
        )
    )
    if taken is not None:
        raise Conflict(f"display name {name!r} is taken in this quiz")
    participant = Participant(quiz_id=quiz.id, display_name=name, total_score=0)
    try:
        with session.begin_nested():
            session.add(participant)
    except IntegrityError:
        # two players asked for the same name at the same moment
        raise Conflict(f"display name {name!r} is taken in this quiz") from None
    session.commit()
    return participant


def remove_participant(
    session: Session,
    client: redis.Redis,
    quiz_code: str,
    participant_id: int,
    now: datetime,
    *,
    ban: bool = False,
) -> None:
    """Remove a player (and ban the name with `ban`). Removing again changes nothing but
    a ban, and takes them off the board again: a retry after a 503 is safe."""
    quiz = get_quiz(session, quiz_code)
    participant = locked_participant(session, quiz, participant_id)
    mark_removed(session, participant, now)
    participant.banned = participant.banned or ban
    session.commit()
    # committed: Redis failing here is a 503, and the host's retry removes them again
    take_off_boards(client, quiz, participant.id)


def locked_participant(session: Session, quiz: Quiz, participant_id: int) -> Participant:
    participant = session.scalar(
        select(Participant)
        .where(Participant.id == participant_id, Participant.quiz_id == quiz.id)
        .with_for_update()
    )
    if participant is None:
        raise NotFound(f"participant {participant_id} does not play in quiz {quiz.code}")
    return participant


def mark_removed(session: Session, participant: Participant, now: datetime) -> None:
    """Take a player out of the game in the caller's transaction (again: no change)."""
    if participant.removed_at is not None:
        return
    participant.removed_at = now
    participant.total_score = 0
    # answers scored, or still waiting for a worker: none counts any more
    session.execute(
        update(Answer)
        .where(Answer.participant_id == participant.id)
        .values(
            state=AnswerState.REJECTED.value,
            reject_reason=REMOVED_PLAYER,
            scored_at=func.coalesce(Answer.scored_at, now),
        )
    )


def take_off_boards(client: redis.Redis, quiz: Quiz, participant_id: int) -> None:
    """Off the live board for good, and off the kept boards after each question."""
    board.remove_participant(client, quiz.code, participant_id)
    results.forget_standings(client, quiz.code, len(quiz.questions))
