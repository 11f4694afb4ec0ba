"""Per-question statistics, from the answers stored in PostgreSQL (never from Redis alone).

Every answer that was accepted (202) is stored with its choice and receipt time before
the question closes, so once it is closed its statistics are final: they are computed
once and kept in Redis, and read from there after. While a question is open they are
refused (players could peek); the host may follow only the count of answers
(`answer_progress`).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared import redis_keys
from shared.errors import REDIS_DOWN, Conflict
from shared.models import Answer, AnswerState, Participant, QuestionStatus
from shared.quiz.quizzes import get_quiz, question_of

# closed questions' statistics are kept this long (the quiz's whole life, in practice)
STATS_TTL_S = 7 * 24 * 3600
# answers that count: accepted or scored, not those set aside as poison
COUNTED = (AnswerState.ACCEPTED.value, AnswerState.SCORED.value)


@dataclass(frozen=True)
class ChoiceFacts:
    choice_id: int
    text: str
    correct: bool


@dataclass(frozen=True)
class AnswerFacts:
    participant_id: int
    display_name: str
    choice_id: int
    response_ms: int


def _share(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _p90(values: Sequence[int]) -> float:
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def summarize(
    question_id: int,
    participants: int,
    choices: Sequence[ChoiceFacts],
    answers: Sequence[AnswerFacts],
) -> dict[str, Any]:
    """The statistics of one question from its choices and its counted answers."""
    correct_ids = {c.choice_id for c in choices if c.correct}
    counts = {c.choice_id: 0 for c in choices}
    for answer in answers:
        counts[answer.choice_id] = counts.get(answer.choice_id, 0) + 1
    right = [a for a in answers if a.choice_id in correct_ids]
    times = sorted(a.response_ms for a in answers)
    fastest = min(right, key=lambda a: (a.response_ms, a.participant_id), default=None)
    return {
        "question_id": question_id,
        "participants": participants,
        "answered": len(answers),
        "correct": len(right),
        "percent_correct": _share(len(right), len(answers)),
        "choices": [
            {
                "choice_id": c.choice_id,
                "text": c.text,
                "correct": c.correct,
                "count": counts[c.choice_id],
                "percent": _share(counts[c.choice_id], len(answers)),
            }
            for c in choices
        ],
        "response_ms": {
            "median": statistics.median(times) if times else None,
            "p90": _p90(times) if times else None,
        },
        "fastest_correct": (
            {
                "participant_id": fastest.participant_id,
                "display_name": fastest.display_name,
                "response_ms": fastest.response_ms,
            }
            if fastest is not None
            else None
        ),
    }


def question_stats(
    session: Session, client: redis.Redis, quiz_code: str, question_id: int
) -> dict[str, Any]:
    """A closed question's statistics; Conflict while it is pending or open."""
    quiz = get_quiz(session, quiz_code)
    question = question_of(quiz, question_id)
    if question.status != QuestionStatus.CLOSED:
        raise Conflict(
            f"question {question_id} is {question.status}: statistics come once it closes"
        )
    key = redis_keys.question_stats(question.id)
    try:
        kept = client.get(key)
    except REDIS_DOWN:
        kept = None  # PostgreSQL has it all: Redis is only where it is kept
    if kept:
        cached: dict[str, Any] = json.loads(kept)
        return cached
    participants = _players(session, quiz.id)
    rows = session.execute(
        select(
            Answer.participant_id, Participant.display_name, Answer.choice_id, Answer.received_at
        )
        .join(Participant, Participant.id == Answer.participant_id)
        .where(Answer.question_id == question.id, Answer.state.in_(COUNTED))
    ).all()
    opened_at = question.opened_at
    answers = [
        AnswerFacts(
            participant_id=row.participant_id,
            display_name=row.display_name,
            choice_id=row.choice_id,
            response_ms=max(0, round((row.received_at - opened_at).total_seconds() * 1000)),
        )
        for row in rows
    ]
    choices = [ChoiceFacts(c.id, c.text, c.is_correct) for c in question.choices]
    stats = summarize(question.id, participants, choices, answers)
    try:
        client.set(key, json.dumps(stats), ex=STATS_TTL_S)
    except REDIS_DOWN:
        pass
    return stats


def _players(session: Session, quiz_pk: int) -> int:
    """The quiz's players, not those the host removed."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Participant)
            .where(Participant.quiz_id == quiz_pk, Participant.removed_at.is_(None))
        )
        or 0
    )


def answer_progress(session: Session, quiz_code: str, question_id: int) -> dict[str, Any]:
    """How many players have answered so far, out of how many: for the host, while open."""
    quiz = get_quiz(session, quiz_code)
    question = question_of(quiz, question_id)
    answered = session.scalar(
        select(func.count())
        .select_from(Answer)
        .where(Answer.question_id == question.id, Answer.state.in_(COUNTED))
    )
    participants = _players(session, quiz.id)
    return {
        "question_id": question.id,
        "status": question.status,
        "answered": answered or 0,
        "participants": participants,
        "closes_at": question.closes_at,
    }
