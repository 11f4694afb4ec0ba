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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared import redis_keys
from shared.errors import REDIS_DOWN, Conflict
from shared.models import Answer, AnswerState, Participant, QuestionStatus
from shared.quiz.answer_keys import key_of
from shared.quiz.question_types import (
    AnswerKey,
    QuestionType,
    Response,
    answer_key,
    judge,
    match_text,
    normalise,
    placed_right,
)
from shared.quiz.quizzes import get_quiz, question_of

# closed questions' statistics are kept this long (the quiz's whole life, in practice)
STATS_TTL_S = 7 * 24 * 3600
# answers that count: accepted or scored, not those set aside as poison
COUNTED = (AnswerState.ACCEPTED.value, AnswerState.SCORED.value)


# typed answers and orders listed one by one; the rest are counted together
TOP_SPELLINGS = 10


@dataclass(frozen=True)
class ChoiceFacts:
    choice_id: int
    text: str
    correct: bool


@dataclass(frozen=True)
class AnswerFacts:
    participant_id: int
    display_name: str
    choice_id: int | None
    response_ms: int
    # `multi` and `order`: the choices sent; `type_answer`: the text typed
    choice_ids: tuple[int, ...] | None = None
    text: str | None = None

    @property
    def response(self) -> Response:
        return Response(self.choice_id, self.choice_ids, self.text)


def _share(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _p90(values: Sequence[int]) -> float:
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def _choice_counts(key: AnswerKey, answers: Sequence[AnswerFacts]) -> Counter[int]:
    """Answers per choice: that picked it, or for `order` that put it in its right place."""
    counts: Counter[int] = Counter()
    for answer in answers:
        if answer.choice_id is not None:
            counts[answer.choice_id] += 1
        elif key.type is QuestionType.ORDER:
            sent = answer.choice_ids or ()
            counts.update(
                right
                for right, placed in zip(key.choice_ids, placed_right(key, sent), strict=False)
                if placed
            )
        else:
            counts.update(answer.choice_ids or ())
    return counts


def _top(
    counts: Counter[Any], answered: int
) -> tuple[list[tuple[Any, int, float]], dict[str, int]]:
    """The most frequent values (ties in first-seen order) and what the rest add up to."""
    ranked = counts.most_common()
    shown = [(value, n, _share(n, answered)) for value, n in ranked[:TOP_SPELLINGS]]
    rest = ranked[TOP_SPELLINGS:]
    return shown, {"count": sum(n for _, n in rest), "distinct": len(rest)}


def _typed(key: AnswerKey, answers: Sequence[AnswerFacts]) -> dict[str, Any]:
    rules = key.text
    assert rules is not None
    spellings: Counter[str] = Counter(
        normalise(a.text or "", rules.ignore_accents, rules.ignore_trailing_period) for a in answers
    )
    shown, rest = _top(spellings, len(answers))
    return {
        "accepted_answers": list(rules.accepted),
        "typed": [
            {
                "text": text,
                "count": n,
                "percent": percent,
                "accepted": match_text(rules, text) is not None,
            }
            for text, n, percent in shown
        ],
        "other_typed": rest,
    }


def _orders(key: AnswerKey, answers: Sequence[AnswerFacts]) -> dict[str, Any]:
    orders: Counter[tuple[int, ...]] = Counter(tuple(a.choice_ids or ()) for a in answers)
    shown, rest = _top(orders, len(answers))
    return {
        "correct_order": list(key.choice_ids),
        "orders": [
            {
                "choice_ids": list(order),
                "count": n,
                "percent": percent,
                "correct": bool(judge(key, Response(choice_ids=order)).correct),
            }
            for order, n, percent in shown
        ],
        "other_orders": rest,
    }


def summarize(
    question_id: int,
    participants: int,
    choices: Sequence[ChoiceFacts],
    answers: Sequence[AnswerFacts],
    key: AnswerKey | None = None,
) -> dict[str, Any]:
    """The statistics of one question from its choices and its counted answers.

    :param key: the question's answer key; without it, a single-choice question of
        `choices`
    """
    if key is None:
        key = answer_key(QuestionType.SINGLE, [(c.choice_id, c.correct) for c in choices])
    poll = key.type is QuestionType.POLL
    counts = _choice_counts(key, answers)
    right = [a for a in answers if judge(key, a.response).correct]
    times = sorted(a.response_ms for a in answers)
    fastest = min(right, key=lambda a: (a.response_ms, a.participant_id), default=None)
    stats: dict[str, Any] = {
        "question_id": question_id,
        "type": key.type.value,
        "participants": participants,
        "answered": len(answers),
        "correct": None if poll else len(right),
        "percent_correct": None if poll else _share(len(right), len(answers)),
        "choices": [
            {
                "choice_id": c.choice_id,
                "text": c.text,
                "correct": None if poll else c.correct,
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
    if key.type is QuestionType.TYPE_ANSWER:
        stats.update(_typed(key, answers))
    elif key.type is QuestionType.ORDER:
        stats.update(_orders(key, answers))
    return stats


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
            Answer.participant_id,
            Participant.display_name,
            Answer.choice_id,
            Answer.choice_ids,
            Answer.answer_text,
            Answer.received_at,
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
            choice_ids=tuple(row.choice_ids) if row.choice_ids is not None else None,
            text=row.answer_text,
        )
        for row in rows
    ]
    choices = [ChoiceFacts(c.id, c.text, c.is_correct) for c in question.choices]
    stats = summarize(question.id, participants, choices, answers, key_of(question))
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
