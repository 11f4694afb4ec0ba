"""A quiz's results for the host to keep: one row per player and question played, and a
summary per player, as CSV or JSON, streamed in constant memory.

PostgreSQL computes each player's running total and rank after every closed question
(window functions over the stored points, in the order the questions closed), and hands
the rows over one player at a time through a server-side cursor; only one player's rows
are held here at once, so a 100,000-player quiz exports like a 10-player one. Ranks and
the players on each board follow GET …/leaderboard?after_question=k (shared/quiz/results.py).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared.models import Question
from shared.quiz.answer_keys import load_answer_keys, response_of
from shared.quiz.question_types import AnswerKey, QuestionType, judge
from shared.quiz.scoring import QuestionWindow, answer_counts_correct, counts_for_streaks
from shared.quiz.stats import COUNTED

# rows fetched from the server-side cursor at a time
FETCH_ROWS = 2000
# a spreadsheet runs a cell that starts with one of these as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

ANSWER_COLUMNS = (
    "row",
    "participant_id",
    "display_name",
    "question_position",
    "question_id",
    "question_type",
    "choice",
    "typed_answer",
    "matched_answer",
    "correct",
    "points",
    "streak_bonus",
    "response_ms",
    "voided",
    "rank_after_question",
    "total",
    "correct_answers",
    "final_rank",
)

# one row per player and closed question (a player who joined later has rows only for
# the boards they were on); the player's rows come together, in closing order
_ROWS = text(
    """
    WITH played AS (
        SELECT id, position, type, opened_at, closed_at, time_limit_s, points, voided_at,
               row_number() OVER (ORDER BY closed_at, position) AS k
        FROM questions
        WHERE quiz_id = :quiz_pk AND status = 'closed' AND closed_at IS NOT NULL
    ),
    cells AS (
        SELECT p.id AS participant_id, p.display_name, q.id AS question_id,
               q.position, q.type, q.k, q.opened_at, q.closed_at, q.time_limit_s,
               q.points AS worth, q.voided_at IS NOT NULL AS voided,
               a.choice_id, a.choice_ids, a.answer_text, a.matched_answer,
               a.received_at, a.points, a.streak_bonus,
               sum(coalesce(a.points, 0)) OVER (PARTITION BY p.id ORDER BY q.k) AS total_after
        FROM participants p
        JOIN played q ON p.joined_at <= q.closed_at
        LEFT JOIN answers a ON a.participant_id = p.id AND a.question_id = q.id
                           AND a.state = ANY(:counted)
        WHERE p.quiz_id = :quiz_pk AND p.removed_at IS NULL
    )
    SELECT cells.*, rank() OVER (PARTITION BY k ORDER BY total_after DESC) AS rank_after,
           (SELECT max(k) FROM played) AS last_k
    FROM cells
    ORDER BY participant_id, k
    """
)

# players without a row above: none closed yet, or they joined after the last one closed
_UNPLACED = text(
    """
    SELECT p.id AS participant_id, p.display_name FROM participants p
    WHERE p.quiz_id = :quiz_pk AND p.removed_at IS NULL AND NOT EXISTS (
        SELECT 1 FROM questions q
        WHERE q.quiz_id = p.quiz_id AND q.status = 'closed' AND q.closed_at >= p.joined_at
    )
    ORDER BY p.id
    """
)


@dataclass
class PlayerExport:
    participant_id: int
    display_name: str
    questions: list[dict[str, Any]]
    total: int = 0
    correct_answers: int = 0
    final_rank: int | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "participant_id": self.participant_id,
            "display_name": self.display_name,
            "total": self.total,
            "correct_answers": self.correct_answers,
            "final_rank": self.final_rank,
        }


@dataclass(frozen=True)
class QuizKeys:
    """What judging and naming the answers of a quiz takes, read once per export."""

    keys: dict[int, AnswerKey]
    choice_texts: dict[int, str]


def _choice_cell(row: Any, texts: dict[int, str]) -> str | None:
    """The chosen choice's text; for `multi` the picks, for `order` the order sent."""
    if row.choice_id is not None:
        return texts.get(row.choice_id)
    if row.choice_ids is not None:
        separator = " > " if row.type == QuestionType.ORDER else "; "
        return separator.join(texts.get(choice_id, "?") for choice_id in row.choice_ids)
    return None


def _question_row(row: Any, known: QuizKeys) -> dict[str, Any]:
    answered = row.received_at is not None
    window = QuestionWindow(row.worth, row.time_limit_s, row.opened_at, row.closed_at)
    verdict = judge(known.keys[row.question_id], response_of(row)) if answered else None
    right = (
        verdict is not None
        and counts_for_streaks(row.type, row.voided)
        and answer_counts_correct(window, verdict.correct, row.received_at)
    )
    return {
        "question_position": row.position,
        "question_id": row.question_id,
        "question_type": row.type,
        "choice": _choice_cell(row, known.choice_texts) if answered else None,
        "typed_answer": row.answer_text,
        "matched_answer": row.matched_answer,
        "correct": right if answered and row.type != QuestionType.POLL else None,
        "points": row.points if answered else None,
        "streak_bonus": row.streak_bonus if answered else None,
        "response_ms": round(window.elapsed_s(row.received_at) * 1000) if answered else None,
        "voided": row.voided,
        "rank_after_question": row.rank_after,
    }


def _quiz_keys(session: Session, quiz_pk: int) -> QuizKeys:
    question_ids = session.scalars(select(Question.id).where(Question.quiz_id == quiz_pk)).all()
    keys = load_answer_keys(session.connection(), question_ids)
    texts = {
        choice_id: text
        for key in keys.values()
        for choice_id, text in zip(key.choice_ids, key.choice_texts, strict=True)
    }
    return QuizKeys(keys, texts)


def players(session: Session, quiz_pk: int) -> Iterator[PlayerExport]:
    """Every player of the quiz (not those removed) with their rows, one at a time."""
    known = _quiz_keys(session, quiz_pk)
    result = session.execute(
        _ROWS.execution_options(stream_results=True, yield_per=FETCH_ROWS),
        {"quiz_pk": quiz_pk, "counted": list(COUNTED)},
    )
    current: PlayerExport | None = None
    for row in result:
        if current is None or current.participant_id != row.participant_id:
            if current is not None:
                yield current
            current = PlayerExport(row.participant_id, row.display_name, [])
        cell = _question_row(row, known)
        current.questions.append(cell)
        current.total = row.total_after
        current.correct_answers += bool(cell["correct"])
        if row.k == row.last_k:
            current.final_rank = row.rank_after
    if current is not None:
        yield current
    for row in session.execute(_UNPLACED, {"quiz_pk": quiz_pk}):
        yield PlayerExport(row.participant_id, row.display_name, [])


def safe_cell(value: Any) -> Any:
    """A text cell a spreadsheet shows as text, never runs as a formula (OWASP's advice:
    a leading quote before =, +, -, @, tab or carriage return)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_lines(exports: Iterable[PlayerExport]) -> Iterator[str]:
    """CSV text, a few lines at a time: a header, then each player's `answer` rows and
    their `summary` row."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ANSWER_COLUMNS, extrasaction="ignore")

    def flush() -> str:
        chunk = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return chunk

    writer.writeheader()
    yield flush()
    for player in exports:
        who = {"participant_id": player.participant_id, "display_name": player.display_name}
        for cell in player.questions:
            writer.writerow({k: safe_cell(v) for k, v in {"row": "answer", **who, **cell}.items()})
        writer.writerow(
            {k: safe_cell(v) for k, v in {"row": "summary", **player.summary()}.items()}
        )
        yield flush()


def json_chunks(quiz: dict[str, Any], exports: Iterable[PlayerExport]) -> Iterator[str]:
    """One JSON document, `{"quiz": …, "participants": [...]}`, a player at a time."""
    head = json.dumps({"quiz": quiz}, default=_encode)
    yield head[:-1] + ', "participants": ['
    for index, player in enumerate(exports):
        entry = {**player.summary(), "questions": player.questions}
        yield ("," if index else "") + json.dumps(entry, default=_encode)
    yield "]}"


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
