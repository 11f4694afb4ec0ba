"""Questions' answer keys as stored: for the ORM's questions, and for many questions at
once in one query (the scorer, the results and the export judge stored answers by them)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, text

from shared.quiz.question_types import AnswerKey, Response, answer_key

# A question's key from `questions q` and its `choices c` (joined, grouped by q.id):
# every choice in position order, with whether it is correct and its text. Other queries
# that read questions put these columns beside their own (shared/quiz/batch_scoring.py).
KEY_COLUMNS = """
    q.type, q.partial, q.accepted_answers, q.max_typos, q.ignore_accents,
    q.ignore_trailing_period,
    coalesce(array_agg(c.id ORDER BY c.position) FILTER (WHERE c.id IS NOT NULL),
             '{}') AS choice_ids,
    coalesce(array_agg(c.is_correct ORDER BY c.position) FILTER (WHERE c.id IS NOT NULL),
             '{}') AS correct,
    coalesce(array_agg(c.text ORDER BY c.position) FILTER (WHERE c.id IS NOT NULL),
             '{}') AS texts
"""
QUESTIONS_WITH_CHOICES = "FROM questions q LEFT JOIN choices c ON c.question_id = q.id"

_KEYS = text(
    f"""
    SELECT q.id, {KEY_COLUMNS} {QUESTIONS_WITH_CHOICES}
    WHERE q.id = ANY(CAST(:ids AS bigint[]))
    GROUP BY q.id
    """
)


def key_of_row(row: Any) -> AnswerKey:
    """The key of a row with KEY_COLUMNS."""
    return answer_key(
        row.type,
        list(zip(row.choice_ids, row.correct, strict=True)),
        choice_texts=row.texts,
        partial=row.partial,
        accepted_answers=row.accepted_answers,
        max_typos=row.max_typos,
        ignore_accents=row.ignore_accents,
        ignore_trailing_period=row.ignore_trailing_period,
    )


def load_answer_keys(conn: Connection, question_ids: Iterable[int]) -> dict[int, AnswerKey]:
    """The keys of these questions, by question id, in one query."""
    ids = sorted(set(question_ids))
    if not ids:
        return {}
    return {row.id: key_of_row(row) for row in conn.execute(_KEYS, {"ids": ids})}


def key_of(question: Any) -> AnswerKey:
    """The key of an ORM question (its choices loaded)."""
    return answer_key(
        question.type,
        [(c.id, c.is_correct) for c in question.choices],
        choice_texts=[c.text for c in question.choices],
        partial=question.partial,
        accepted_answers=question.accepted_answers,
        max_typos=question.max_typos,
        ignore_accents=question.ignore_accents,
        ignore_trailing_period=question.ignore_trailing_period,
    )


def response_of(row: Any) -> Response:
    """A stored answer's response (a row with choice_id, choice_ids and answer_text)."""
    return Response(
        choice_id=row.choice_id,
        choice_ids=tuple(row.choice_ids) if row.choice_ids is not None else None,
        text=row.answer_text,
    )
