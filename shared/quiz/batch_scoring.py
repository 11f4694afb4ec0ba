"""Scoring many accepted answers in one transaction, with a fixed number of statements.

The rules are the pure ones of shared/quiz/scoring.py; this module only moves data, with
Core statements on the session's connection (no ORM on this path):
1. lock the batch's answer rows, in id order: a duplicate run of the same answers waits,
   then finds them scored and changes nothing;
2. read the opened questions of the batch's quizzes with their answer keys, and every
   stored answer of its participants: streaks count stored answers only (judged by the
   keys, shared/quiz/question_types.py), never other workers' progress, so the order in
   which answers are scored never changes a score;
3. add the points to each participant's total (`UPDATE … FROM (VALUES …)`), mark the
   answers scored the same way, and write one outbox row per scored answer; one commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from shared.errors import NotFound
from shared.events import LEADERBOARD_QUEUE, leaderboard_update
from shared.models import Answer, AnswerState, Participant, Question, Quiz, table_of
from shared.quiz import scoring
from shared.quiz.answer_keys import (
    KEY_COLUMNS,
    QUESTIONS_WITH_CHOICES,
    key_of_row,
    response_of,
)
from shared.quiz.outbox import add_events
from shared.quiz.question_types import (
    AnswerKey,
    Response,
    ResponseMismatch,
    Verdict,
    check_response,
    judge,
)
from shared.quiz.task_status import (
    REMOVED_PLAYER,
    STATUS_COLUMNS,
    TaskState,
    TaskStatus,
    result_of,
    status_of,
)

answer_table = table_of(Answer)
question_table = table_of(Question)
participant_table = table_of(Participant)
quiz_table = table_of(Quiz)


@dataclass
class BatchOutcome:
    """What one scoring transaction settled."""

    # every answer of the batch that exists, by id, with its final status
    statuses: dict[int, TaskStatus] = field(default_factory=dict)
    # the leaderboard events of the answers this call scored, and their outbox rows
    events: list[dict[str, Any]] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class EarlierAnswer:
    """A participant's stored answer to a question, as streaks see it."""

    response: Response
    received_at: datetime


def score_answers(
    conn: Connection,
    answer_ids: Iterable[int],
    now: datetime,
    *,
    set_aside: Iterable[int] = (),
) -> BatchOutcome:
    """Score the accepted answers among `answer_ids` in the caller's transaction.

    Answers already scored or rejected only report their status; `set_aside` names
    answers to reject as `too_many_attempts` (their runs kept dying). Ids of no answer
    are left out of the outcome.
    """
    outcome = BatchOutcome()
    ids = sorted(set(answer_ids))
    _hold_quizzes(conn, ids)
    rows = _lock(conn, ids)
    waiting = [row for row in rows if row.state == AnswerState.ACCEPTED]
    opened, keys = _opened_questions(conn, (r.quiz_id for r in waiting))
    poison = set(set_aside)
    rejected: dict[int, str] = {}
    to_score = []
    for row in rows:
        if row.state != AnswerState.ACCEPTED:
            outcome.statuses[row.id] = status_of(row)
        elif row.id in poison:
            rejected[row.id] = "too_many_attempts"
        elif row.removed_at is not None:
            # the host removed the player while the answer waited for a worker
            rejected[row.id] = REMOVED_PLAYER
        elif row.question_id not in keys or not _fits(keys[row.question_id], row):
            rejected[row.id] = "choice_not_in_question"
        else:
            to_score.append(row)
    if rejected:
        for row in _reject(conn, rejected, now):
            outcome.statuses[row.id] = status_of(row)
    if to_score:
        _score(conn, to_score, opened, keys, set(rejected), now, outcome)
    return outcome


def _fits(key: AnswerKey, row: Any) -> bool:
    """The answer is one to its question (the API checked it against the cached state)."""
    try:
        check_response(key.type, key.choice_ids, response_of(row))
    except ResponseMismatch:
        return False
    return True


# A correction holds its quiz FOR UPDATE while it recomputes every score; a batch waits
# for it here, before it reads a single answer key, so no answer is scored by the key
# (or in the score epoch) the correction replaces. Transitions (open, close, next) take
# FOR NO KEY UPDATE, which this does not wait for.
_HOLD_QUIZZES = text(
    """
    SELECT z.id FROM quizzes z
    WHERE z.id IN (
        SELECT q.quiz_id FROM answers a JOIN questions q ON q.id = a.question_id
        WHERE a.id = ANY(:ids)
    )
    ORDER BY z.id
    FOR KEY SHARE OF z
    """
)


def _hold_quizzes(conn: Connection, answer_ids: Sequence[int]) -> None:
    conn.execute(_HOLD_QUIZZES, {"ids": list(answer_ids)})


def _lock(conn: Connection, answer_ids: Sequence[int]) -> list[Any]:
    """The batch's answers with all that scoring needs; their rows stay locked."""
    return list(
        conn.execute(
            select(
                *STATUS_COLUMNS,
                answer_table.c.participant_id,
                answer_table.c.received_at,
                answer_table.c.choice_id,
                answer_table.c.choice_ids,
                answer_table.c.answer_text,
                question_table.c.quiz_id,
                question_table.c.points.label("question_points"),
                question_table.c.time_limit_s,
                question_table.c.opened_at,
                question_table.c.closed_at,
                question_table.c.voided_at,
                participant_table.c.display_name,
                participant_table.c.removed_at,
                quiz_table.c.code.label("quiz_code"),
                quiz_table.c.scoring_version,
                quiz_table.c.streak_bonus.label("policy_streak_bonus"),
                quiz_table.c.speed_weighting,
                quiz_table.c.score_epoch,
            )
            .join(question_table, question_table.c.id == answer_table.c.question_id)
            .join(participant_table, participant_table.c.id == answer_table.c.participant_id)
            .join(quiz_table, quiz_table.c.id == question_table.c.quiz_id)
            .where(answer_table.c.id == any_(bindparam("ids", answer_ids, type_=ARRAY(BigInteger))))
            # locked in this order, so two batches never wait on each other in a cycle
            .order_by(answer_table.c.id)
            .with_for_update(of=answer_table)
        )
    )


# Multi-row statements take their rows as arrays (unnest): one SQL text whatever the
# batch's size, so SQLAlchemy and PostgreSQL see the same statement every time.
_REJECT = text(
    """
    UPDATE answers SET state = 'rejected', reject_reason = why.reason, scored_at = :now
    FROM unnest(CAST(:ids AS bigint[]), CAST(:reasons AS text[])) AS why (id, reason)
    WHERE answers.id = why.id
    RETURNING answers.id, answers.task_id, answers.state, answers.reject_reason,
              answers.question_id, answers.correct, answers.points, answers.total_score_after
    """
)

_ADD_POINTS = text(
    """
    UPDATE participants SET total_score = participants.total_score + delta.points
    FROM unnest(CAST(:ids AS bigint[]), CAST(:points AS integer[])) AS delta (id, points)
    WHERE participants.id = delta.id
    RETURNING participants.id, participants.total_score
    """
)

_MARK_SCORED = text(
    """
    UPDATE answers SET state = 'scored', correct = scored.correct, points = scored.points,
        streak_bonus = scored.streak_bonus, total_score_after = scored.total, scored_at = :now,
        matched_answer = scored.matched
    FROM unnest(
        CAST(:ids AS bigint[]), CAST(:correct AS boolean[]), CAST(:points AS integer[]),
        CAST(:bonuses AS integer[]), CAST(:totals AS integer[]), CAST(:matched AS text[])
    ) AS scored (id, correct, points, streak_bonus, total, matched)
    WHERE answers.id = scored.id
    """
)


def _reject(conn: Connection, reasons: Mapping[int, str], now: datetime) -> list[Any]:
    ids = sorted(reasons)
    rows = conn.execute(_REJECT, {"ids": ids, "reasons": [reasons[i] for i in ids], "now": now})
    return list(rows)


# the batch's quizzes' opened questions, in the order they opened, with their keys
_OPENED = text(
    f"""
    SELECT q.id, q.quiz_id, q.points, q.time_limit_s, q.opened_at, q.closed_at, q.voided_at,
           {KEY_COLUMNS} {QUESTIONS_WITH_CHOICES}
    WHERE q.quiz_id = ANY(CAST(:quiz_ids AS bigint[])) AND q.opened_at IS NOT NULL
    GROUP BY q.id
    ORDER BY q.opened_at
    """
)


def _opened_questions(
    conn: Connection, quiz_ids: Iterable[int]
) -> tuple[dict[int, list[Any]], dict[int, AnswerKey]]:
    """Each quiz's opened questions, in the order they opened, and their keys by question
    id: one query."""
    by_quiz: dict[int, list[Any]] = defaultdict(list)
    keys: dict[int, AnswerKey] = {}
    ids = sorted(set(quiz_ids))
    if not ids:
        return by_quiz, keys
    for row in conn.execute(_OPENED, {"quiz_ids": ids}):
        by_quiz[row.quiz_id].append(row)
        keys[row.id] = key_of_row(row)
    return by_quiz, keys


def _stored_answers(
    conn: Connection, participant_ids: Iterable[int], leaving_out: set[int]
) -> dict[int, dict[int, EarlierAnswer]]:
    """The participants' stored, not rejected, answers: by participant, then question."""
    found: dict[int, dict[int, EarlierAnswer]] = defaultdict(dict)
    rows = conn.execute(
        select(
            answer_table.c.id,
            answer_table.c.participant_id,
            answer_table.c.question_id,
            answer_table.c.received_at,
            answer_table.c.choice_id,
            answer_table.c.choice_ids,
            answer_table.c.answer_text,
        ).where(
            answer_table.c.participant_id.in_(sorted(set(participant_ids))),
            answer_table.c.state != AnswerState.REJECTED.value,
        )
    )
    for row in rows:
        if row.id not in leaving_out:
            found[row.participant_id][row.question_id] = EarlierAnswer(
                response_of(row), row.received_at
            )
    return found


def _window(question: Any) -> scoring.QuestionWindow:
    return scoring.QuestionWindow(
        question.points, question.time_limit_s, question.opened_at, question.closed_at
    )


def earlier_results(
    opened: Sequence[Any],
    stored: Mapping[int, EarlierAnswer],
    opened_at: datetime,
    keys: Mapping[int, AnswerKey],
) -> list[bool]:
    """For each question opened before `opened_at` that counts for streaks, oldest
    first: got it right in time?"""
    results = []
    for question in opened:
        if question.opened_at >= opened_at:
            break
        if not scoring.counts_for_streaks(question.type, question.voided_at is not None):
            continue
        answer = stored.get(question.id)
        results.append(
            answer is not None
            and scoring.answer_counts_correct(
                _window(question),
                judge(keys[question.id], answer.response).correct,
                answer.received_at,
            )
        )
    return results


def _score(
    conn: Connection,
    rows: list[Any],
    opened: Mapping[int, Sequence[Any]],
    keys: Mapping[int, AnswerKey],
    rejected: set[int],
    now: datetime,
    outcome: BatchOutcome,
) -> None:
    stored = _stored_answers(conn, (r.participant_id for r in rows), rejected)
    # each participant's answers in question order, so each carries its running total
    rows = sorted(rows, key=lambda r: (r.participant_id, r.opened_at))
    verdicts: dict[int, Verdict] = {
        row.id: judge(keys[row.question_id], response_of(row)) for row in rows
    }
    scores = {
        row.id: scoring.score_voided(verdicts[row.id].correct)
        if row.voided_at is not None
        else scoring.compute_score(
            scoring.QuestionWindow(
                row.question_points, row.time_limit_s, row.opened_at, row.closed_at
            ),
            verdicts[row.id],
            row.received_at,
            earlier_results(opened[row.quiz_id], stored[row.participant_id], row.opened_at, keys),
            policy_of(row),
        )
        for row in rows
    }
    gained: dict[int, int] = defaultdict(int)
    for row in rows:
        gained[row.participant_id] += scores[row.id].points
    remaining = _add_points(conn, gained)
    # walk each participant's answers back from the new total
    after: dict[int, int] = {}
    for row in reversed(rows):
        after[row.id] = remaining[row.participant_id]
        remaining[row.participant_id] -= scores[row.id].points
    _mark_scored(conn, rows, scores, verdicts, after, now)
    for row in rows:
        score = scores[row.id]
        outcome.statuses[row.id] = TaskStatus(
            str(row.task_id),
            TaskState.SUCCESS,
            result=result_of(row.id, row.question_id, score.correct, score.points, after[row.id]),
        )
        outcome.events.append(
            leaderboard_update(
                quiz_code=row.quiz_code,
                participant_id=row.participant_id,
                display_name=row.display_name,
                total_score=after[row.id],
                answer_id=row.id,
                question_id=row.question_id,
                points=score.points,
                occurred_at=now,
                epoch=row.score_epoch,
            )
        )
    outcome.outbox_ids = add_events(conn, LEADERBOARD_QUEUE, outcome.events)


def policy_of(row: Any) -> scoring.Policy:
    """The scoring policy stored with a quiz (a row with its three policy columns)."""
    return scoring.Policy(
        version=row.scoring_version,
        streak_bonus=row.policy_streak_bonus,
        speed_weighting=row.speed_weighting,
    )


def _add_points(conn: Connection, gained: Mapping[int, int]) -> dict[int, int]:
    """Add each participant's points to their total, in one statement; the new totals."""
    ids = sorted(gained)
    rows = conn.execute(_ADD_POINTS, {"ids": ids, "points": [gained[i] for i in ids]})
    return {row.id: row.total_score for row in rows}


def _mark_scored(
    conn: Connection,
    rows: Sequence[Any],
    scores: Mapping[int, scoring.Score],
    verdicts: Mapping[int, Verdict],
    after: Mapping[int, int],
    now: datetime,
) -> None:
    conn.execute(
        _MARK_SCORED,
        {
            "ids": [row.id for row in rows],
            "correct": [scores[row.id].correct for row in rows],
            "points": [scores[row.id].points for row in rows],
            "bonuses": [scores[row.id].streak_bonus for row in rows],
            "totals": [after[row.id] for row in rows],
            "matched": [verdicts[row.id].matched_answer for row in rows],
            "now": now,
        },
    )


@dataclass(frozen=True)
class ScoringOutcome:
    status: TaskStatus
    # the leaderboard event to publish, when this call did the scoring
    event: dict[str, Any] | None = None
    outbox_id: int | None = None


def score_accepted_answer(session: Session, answer_id: int, now: datetime) -> ScoringOutcome:
    """Score one accepted answer and commit: a batch of one (shared/quiz/batch_scoring.py).

    :raises NotFound: no answer has this id
    """
    outcome = score_answers(session.connection(), [answer_id], now)
    session.commit()
    status = outcome.statuses.get(answer_id)
    if status is None:
        raise NotFound(f"answer {answer_id} does not exist")
    if not outcome.events:
        return ScoringOutcome(status=status)
    return ScoringOutcome(status=status, event=outcome.events[0], outbox_id=outcome.outbox_ids[0])
