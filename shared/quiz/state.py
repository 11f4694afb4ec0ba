"""The quiz state cached in Redis: which questions are open, so submit never asks PostgreSQL.

The cache is written from PostgreSQL after every change of a question's status; when it is
missing (Redis flushed or restarted) the next reader rebuilds it from PostgreSQL.

It never stays stale when a write fails. Each state has a version that grows with every
transition (questions only go pending -> open -> closed), and a write never replaces a
newer version. Before a transition commits, the host's request replaces the cache with a
*changing* marker carrying the version it is about to commit: while it is there, readers
take the state from PostgreSQL, and their rebuild replaces the marker only once
PostgreSQL holds that version. So if Redis fails between the commit and the cache write,
readers still see the committed state; if the marker cannot be written, the transition
does not happen.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shared import redis_keys
from shared.models import Question, QuestionStatus, Quiz
from shared.quiz.question_types import QuestionType

# long enough for any game; a quiz played again after that is rebuilt on demand
STATE_TTL_S = 7 * 24 * 3600
# a transition that never committed leaves its marker this long (readers ask PostgreSQL)
CHANGING_TTL_S = 60
# how far each status has come: the sum over a quiz's questions only grows
_PROGRESS = {
    QuestionStatus.PENDING.value: 0,
    QuestionStatus.OPEN.value: 1,
    QuestionStatus.CLOSED.value: 2,
}

# KEYS[1] the state; ARGV: the new value, its version, its TTL. Never replaces a newer
# version, nor a marker of a version this one has not reached.
_SAVE_IF_NOT_OLDER = """
local current = redis.call('GET', KEYS[1])
if current then
    local version = cjson.decode(current)['version'] or 0
    if version > tonumber(ARGV[2]) then
        return 0
    end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""


@dataclass(frozen=True)
class QuestionState:
    question_id: int
    status: str
    choice_ids: frozenset[int]
    opened_at: datetime | None = None
    closes_at: datetime | None = None
    # what an answer to it must carry (shared/quiz/question_types.py)
    type: QuestionType = QuestionType.SINGLE

    def is_open_at(self, when: datetime) -> bool:
        """Open: the host opened it, has not closed it, and its timer has not run out."""
        return (
            self.status == QuestionStatus.OPEN
            and self.closes_at is not None
            and when <= self.closes_at
        )


@dataclass(frozen=True)
class QuizState:
    quiz_pk: int
    code: str
    questions: dict[int, QuestionState]

    @property
    def version(self) -> int:
        return sum(_PROGRESS.get(q.status, 0) for q in self.questions.values())

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "quiz_pk": self.quiz_pk,
                "code": self.code,
                "questions": [
                    {
                        "id": q.question_id,
                        "status": q.status,
                        "choices": sorted(q.choice_ids),
                        "type": q.type.value,
                        "opened_at": _timestamp(q.opened_at),
                        "closes_at": _timestamp(q.closes_at),
                    }
                    for q in self.questions.values()
                ],
            }
        )

    @classmethod
    def from_json(cls, raw: str) -> QuizState:
        return cls.from_data(json.loads(raw))

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> QuizState:
        questions = {
            q["id"]: QuestionState(
                question_id=q["id"],
                status=q["status"],
                choice_ids=frozenset(q["choices"]),
                opened_at=_datetime(q["opened_at"]),
                closes_at=_datetime(q["closes_at"]),
                # a state cached before question types is all single choice
                type=QuestionType(q.get("type", QuestionType.SINGLE.value)),
            )
            for q in data["questions"]
        }
        return cls(quiz_pk=data["quiz_pk"], code=data["code"], questions=questions)


def _timestamp(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _datetime(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def quiz_state_from_db(session: Session, quiz_code: str) -> QuizState | None:
    quiz = session.scalar(
        select(Quiz)
        .where(Quiz.code == quiz_code)
        .options(selectinload(Quiz.questions).selectinload(Question.choices))
    )
    if quiz is None:
        return None
    return quiz_state_of(quiz)


def quiz_state_of(quiz: Quiz) -> QuizState:
    return QuizState(
        quiz_pk=quiz.id,
        code=quiz.code,
        questions={
            q.id: QuestionState(
                question_id=q.id,
                status=q.status,
                choice_ids=frozenset(c.id for c in q.choices),
                opened_at=q.opened_at,
                closes_at=q.closes_at,
                type=QuestionType(q.type),
            )
            for q in quiz.questions
        },
    )


def save_quiz_state(client: redis.Redis, state: QuizState) -> bool:
    """Cache `state` unless a newer one (or a marker it has not reached) is there."""
    saved = client.eval(
        _SAVE_IF_NOT_OLDER,
        1,
        redis_keys.quiz_state(state.code),
        state.to_json(),
        state.version,
        STATE_TTL_S,
    )
    return bool(saved)


def mark_quiz_changing(client: redis.Redis, quiz_code: str, version: int) -> None:
    """Before a transition to `version` commits: readers ask PostgreSQL until it is cached.

    :raises redis.exceptions.RedisError: then the transition must not commit
    """
    marker = json.dumps({"version": version, "changing": True})
    client.eval(
        _SAVE_IF_NOT_OLDER, 1, redis_keys.quiz_state(quiz_code), marker, version, CHANGING_TTL_S
    )


@functools.lru_cache(maxsize=256)
def _parsed(raw: str) -> QuizState | None:
    # every answer reads the state; it changes only when a question opens or closes
    data = json.loads(raw)
    return None if data.get("changing") else QuizState.from_data(data)


def load_quiz_state(client: redis.Redis, session: Session, quiz_code: str) -> QuizState | None:
    """Read the cached state; on a miss, or while a transition is under way, rebuild it
    from PostgreSQL (None: no such quiz)."""
    return quiz_state_from(client, session, quiz_code, client.get(redis_keys.quiz_state(quiz_code)))


def quiz_state_from(
    client: redis.Redis, session: Session, quiz_code: str, raw: str | bytes | None
) -> QuizState | None:
    """The state from `raw`, the cached value its caller read (in a pipeline of its own);
    from PostgreSQL when that was a miss or a transition's marker."""
    if raw is not None:
        cached = _parsed(raw)
        if cached is not None:
            return cached
    state = quiz_state_from_db(session, quiz_code)
    # end the read: the connection goes back to the pool, not held while the caller waits
    session.rollback()
    if state is not None:
        save_quiz_state(client, state)
    return state
