"""Score corrections after the fact: change a question's answer key (regrade), or void it.

Every total is recomputed from the stored answers with the pure rules of
shared/quiz/scoring.py and the policy the quiz was played with, in the order the
questions opened, so a recomputation equals what a fresh game with the same answers and
the corrected key would give; a later question's streak bonus changes with it. It runs
in one transaction that holds the quiz's row FOR UPDATE and every answer row of the
quiz; a scoring batch takes FOR KEY SHARE of its quizzes before it reads a key, so it
waits, and no answer is scored by the key the correction replaces. Each correction
starts a new score epoch: the leaderboard events it writes carry it, and a board never
lets an event computed before the correction overwrite a total computed after it
(shared/leaderboard/board.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared import live_notices, redis_keys
from shared.errors import Conflict, InvalidInput
from shared.events import LEADERBOARD_QUEUE, leaderboard_update
from shared.models import (
    Answer,
    AnswerState,
    Participant,
    Question,
    QuestionStatus,
    Quiz,
    ScoreCorrection,
)
from shared.quiz import results
from shared.quiz.answer_keys import key_of, response_of
from shared.quiz.outbox import add_events
from shared.quiz.question_types import KEYED_BY_CHOICES, AnswerKey, Response, judge
from shared.quiz.quizzes import get_quiz, question_of
from shared.quiz.scoring import (
    Policy,
    QuestionWindow,
    answer_counts_correct,
    compute_score,
    counts_for_streaks,
    score_voided,
)
from shared.quiz.stats import COUNTED

ANSWER_KEY = "answer_key"
VOID = "void"


@dataclass(frozen=True)
class KeyedQuestion:
    """A question that opened, with its answer key and whether it is voided."""

    question_id: int
    window: QuestionWindow
    key: AnswerKey
    voided: bool = False


@dataclass(frozen=True)
class GivenAnswer:
    answer_id: int
    participant_id: int
    question_id: int
    response: Response
    received_at: datetime
    # False while it waits for a worker: it counts for later streaks, but the worker
    # gives it its points
    scored: bool = True


@dataclass(frozen=True)
class Rescored:
    correct: bool | None
    points: int
    streak_bonus: int
    total_after: int


@dataclass
class Recomputed:
    answers: dict[int, Rescored] = field(default_factory=dict)
    totals: dict[int, int] = field(default_factory=dict)


def recompute(
    opened: Sequence[KeyedQuestion], answers: Iterable[GivenAnswer], policy: Policy
) -> Recomputed:
    """Every scored answer's points and every player's total, from scratch.

    :param opened: the quiz's questions that opened, in the order they opened
    """
    by_player: dict[int, dict[int, GivenAnswer]] = defaultdict(dict)
    for answer in answers:
        by_player[answer.participant_id][answer.question_id] = answer
    out = Recomputed()
    for participant_id, theirs in by_player.items():
        earlier: list[bool] = []
        total = 0
        for question in opened:
            given = theirs.get(question.question_id)
            right_in_time = False
            if given is not None:
                verdict = judge(question.key, given.response)
                right_in_time = answer_counts_correct(
                    question.window, verdict.correct, given.received_at
                )
                if given.scored:
                    score = (
                        score_voided(verdict.correct)
                        if question.voided
                        else compute_score(
                            question.window, verdict, given.received_at, earlier, policy
                        )
                    )
                    total += score.points
                    out.answers[given.answer_id] = Rescored(
                        score.correct, score.points, score.streak_bonus, total
                    )
            if counts_for_streaks(question.key.type, question.voided):
                earlier.append(right_in_time)
        out.totals[participant_id] = total
    return out


# --- applying a correction -----------------------------------------------------------


_RESCORE = text(
    """
    UPDATE answers SET correct = new.correct, points = new.points,
        streak_bonus = new.streak_bonus, total_score_after = new.total
    FROM unnest(
        CAST(:ids AS bigint[]), CAST(:correct AS boolean[]), CAST(:points AS integer[]),
        CAST(:bonuses AS integer[]), CAST(:totals AS integer[])
    ) AS new (id, correct, points, streak_bonus, total)
    WHERE answers.id = new.id
    """
)

_SET_TOTALS = text(
    """
    UPDATE participants SET total_score = new.total
    FROM unnest(CAST(:ids AS bigint[]), CAST(:totals AS integer[])) AS new (id, total)
    WHERE participants.id = new.id
    """
)


@dataclass(frozen=True)
class Applied:
    """A committed correction, and what must follow it outside PostgreSQL."""

    correction: ScoreCorrection
    outbox_ids: list[int]
    # the answers whose scores changed: their task statuses in Redis are stale
    changed_task_ids: list[str]
    quiz_code: str
    question_count: int


def change_answer_key(
    session: Session,
    quiz_code: str,
    question_id: int,
    correct_choice_ids: Sequence[int],
    now: datetime,
    request_id: str | None = None,
) -> Applied:
    """Make `correct_choice_ids` the question's right choices and recompute every score."""
    quiz = get_quiz(session, quiz_code, hold_scoring=True)
    question = question_of(quiz, question_id)
    if question.type not in KEYED_BY_CHOICES:
        raise Conflict(
            f"question {question_id} is a {question.type} question: its answer key is not a "
            "set of right choices (void it instead)"
        )
    wanted = set(correct_choice_ids)
    own = {c.id for c in question.choices}
    if not wanted or not wanted <= own:
        raise InvalidInput(
            f"the answer key must name one or more choices of question {question_id}",
            {"correct_choice_ids": [f"choices of this question: {sorted(own)}"]},
        )
    before = sorted(c.id for c in question.choices if c.is_correct)
    for choice in question.choices:
        choice.is_correct = choice.id in wanted
    details = {"correct_choice_ids": {"before": before, "after": sorted(wanted)}}
    return _recompute_and_record(session, quiz, question, ANSWER_KEY, details, now, request_id)


def void_question(
    session: Session,
    quiz_code: str,
    question_id: int,
    now: datetime,
    request_id: str | None = None,
) -> Applied:
    """Void a closed question: it earns nobody anything and counts for no streak."""
    quiz = get_quiz(session, quiz_code, hold_scoring=True)
    question = question_of(quiz, question_id)
    if question.status != QuestionStatus.CLOSED:
        raise Conflict(f"question {question_id} is {question.status}: only a closed one is voided")
    if question.voided_at is not None:
        raise Conflict(f"question {question_id} is voided already")
    question.voided_at = now
    return _recompute_and_record(session, quiz, question, VOID, {}, now, request_id)


def _recompute_and_record(
    session: Session,
    quiz: Quiz,
    question: Question,
    kind: str,
    details: dict[str, Any],
    now: datetime,
    request_id: str | None,
) -> Applied:
    session.flush()
    stored = _lock_answers(session, quiz.id)
    opened = _keyed(quiz)
    policy = Policy(quiz.scoring_version, quiz.streak_bonus, quiz.speed_weighting)
    given = [
        GivenAnswer(
            r.id,
            r.participant_id,
            r.question_id,
            response_of(r),
            r.received_at,
            r.state == AnswerState.SCORED,
        )
        for r in stored
    ]
    new = recompute(opened, given, policy)
    changed = [
        r
        for r in stored
        if r.id in new.answers
        and (r.correct, r.points, r.streak_bonus, r.total_score_after)
        != tuple(vars(new.answers[r.id]).values())
    ]
    if changed:
        session.execute(
            _RESCORE,
            {
                "ids": [r.id for r in changed],
                "correct": [new.answers[r.id].correct for r in changed],
                "points": [new.answers[r.id].points for r in changed],
                "bonuses": [new.answers[r.id].streak_bonus for r in changed],
                "totals": [new.answers[r.id].total_after for r in changed],
            },
        )
    players = session.execute(
        select(Participant.id, Participant.display_name, Participant.total_score).where(
            Participant.quiz_id == quiz.id, Participant.removed_at.is_(None)
        )
    ).all()
    totals = {p.id: [p.total_score, new.totals.get(p.id, 0)] for p in players}
    moved = {pid: pair for pid, pair in totals.items() if pair[0] != pair[1]}
    if moved:
        ids = sorted(moved)
        session.execute(_SET_TOTALS, {"ids": ids, "totals": [moved[i][1] for i in ids]})
    quiz.score_epoch += 1
    correction = ScoreCorrection(
        quiz_id=quiz.id,
        question_id=question.id,
        kind=kind,
        details=details,
        totals={str(pid): pair for pid, pair in moved.items()},
        epoch=quiz.score_epoch,
        corrected_at=now,
        requested_by="host",
        request_id=request_id,
    )
    session.add(correction)
    session.flush()
    latest = _latest_answers(stored)
    events = [
        leaderboard_update(
            quiz_code=quiz.code,
            participant_id=p.id,
            display_name=p.display_name,
            total_score=totals[p.id][1],
            answer_id=latest[p.id],
            question_id=question.id,
            points=totals[p.id][1] - totals[p.id][0],
            occurred_at=now,
            epoch=quiz.score_epoch,
            correction_id=correction.id,
        )
        # every player with an answer: their older events on their way become stale
        for p in players
        if p.id in latest
    ]
    outbox_ids = add_events(session.connection(), LEADERBOARD_QUEUE, events, answer_rows=False)
    applied = Applied(
        correction=correction,
        outbox_ids=outbox_ids,
        changed_task_ids=[str(r.task_id) for r in changed],
        quiz_code=quiz.code,
        question_count=len(quiz.questions),
    )
    session.commit()
    return applied


def _lock_answers(session: Session, quiz_pk: int) -> list[Any]:
    """Every counted answer of the quiz, locked in id order (the scorer's order)."""
    return list(
        session.execute(
            select(
                Answer.id,
                Answer.task_id,
                Answer.participant_id,
                Answer.question_id,
                Answer.choice_id,
                Answer.choice_ids,
                Answer.answer_text,
                Answer.received_at,
                Answer.state,
                Answer.correct,
                Answer.points,
                Answer.streak_bonus,
                Answer.total_score_after,
            )
            .join(Question, Question.id == Answer.question_id)
            .join(Participant, Participant.id == Answer.participant_id)
            .where(
                Question.quiz_id == quiz_pk,
                Answer.state.in_(COUNTED),
                Participant.removed_at.is_(None),
            )
            .order_by(Answer.id)
            .with_for_update(of=Answer)
        )
    )


def _keyed(quiz: Quiz) -> list[KeyedQuestion]:
    opened = sorted(
        (q for q in quiz.questions if q.opened_at is not None),
        key=lambda q: (q.opened_at, q.position),
    )
    keyed = []
    for q in opened:
        assert q.opened_at is not None  # only questions that opened
        keyed.append(
            KeyedQuestion(
                question_id=q.id,
                window=QuestionWindow(q.points, q.time_limit_s, q.opened_at, q.closed_at),
                key=key_of(q),
                voided=q.voided_at is not None,
            )
        )
    return keyed


def _latest_answers(stored: Iterable[Any]) -> Mapping[int, int]:
    latest: dict[int, int] = {}
    for row in stored:
        latest[row.participant_id] = max(row.id, latest.get(row.participant_id, 0))
    return latest


def after_commit(client: redis.Redis, applied: Applied) -> None:
    """Forget what the correction made stale in Redis, and tell the live pages."""
    keys = [redis_keys.task_status(t) for t in applied.changed_task_ids]
    keys.append(redis_keys.question_stats(applied.correction.question_id))
    client.delete(*keys)
    results.forget_standings(client, applied.quiz_code, applied.question_count)
    live_notices.publish(
        client,
        applied.quiz_code,
        live_notices.CORRECTION,
        detail=correction_notice(applied.correction),
    )


def correction_notice(correction: ScoreCorrection) -> dict[str, Any]:
    """What a stream's `correction` event says: which question, what was done, who moved."""
    return {
        "correction_id": correction.id,
        "kind": correction.kind,
        "question_id": correction.question_id,
        "epoch": correction.epoch,
        "changed_participants": len(correction.totals),
    }


def corrections_of(session: Session, quiz_code: str) -> list[ScoreCorrection]:
    """A quiz's corrections, oldest first."""
    quiz = get_quiz(session, quiz_code)
    return list(
        session.scalars(
            select(ScoreCorrection)
            .where(ScoreCorrection.quiz_id == quiz.id)
            .order_by(ScoreCorrection.id)
        )
    )
