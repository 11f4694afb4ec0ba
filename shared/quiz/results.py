"""What the stored answers say about the game so far: the board as it stood after each
question, and one player's results question by question.

Both are read from PostgreSQL, the source of truth, with the scoring rules of
shared/quiz/scoring.py: an answer counts as right only when its question's key says so and it
came in time, and a streak runs over the questions in the order they opened (a question
not answered breaks it). Points are the points the scorer stored, streak bonus included,
so the board after the last question equals the live one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import redis_keys
from shared.errors import REDIS_DOWN, Conflict, Forbidden, InvalidInput, NotFound
from shared.leaderboard.ranking import rank_all
from shared.models import Answer, AnswerState, Participant, Question, QuestionStatus
from shared.quiz.answer_keys import load_answer_keys, response_of
from shared.quiz.question_types import QuestionType, judge
from shared.quiz.quizzes import get_quiz
from shared.quiz.scoring import QuestionWindow, answer_counts_correct, counts_for_streaks
from shared.quiz.stats import COUNTED
from shared.quiz.task_status import REJECT_MESSAGES, REMOVED_PLAYER

# the boards after each question are kept this long (the quiz's whole life, in practice)
STANDINGS_TTL_S = 7 * 24 * 3600


@dataclass(frozen=True)
class PlayedQuestion:
    question_id: int
    position: int
    window: QuestionWindow
    closed: bool
    # a voided question earns nothing and counts for no streak
    voided: bool = False
    type: str = QuestionType.SINGLE.value


@dataclass(frozen=True)
class StoredAnswer:
    participant_id: int
    question_id: int
    choice_id: int | None
    # right by the question's key, whatever the time (None: a poll)
    judged_correct: bool | None
    received_at: datetime
    state: str
    # as scored, streak bonus included; None while the answer waits for a worker
    points: int | None = None
    streak_bonus: int | None = None
    # `multi` and `order`: the choices sent; `type_answer`: the text typed
    choice_ids: tuple[int, ...] | None = None
    text: str | None = None


@dataclass(frozen=True)
class Player:
    participant_id: int
    display_name: str
    joined_at: datetime


@dataclass(frozen=True)
class Standing:
    rank: int
    participant_id: int
    display_name: str
    score: int
    correct_answers: int
    # the rank after the question before; None after the first, or for who joined since
    previous_rank: int | None

    @property
    def movement(self) -> int | None:
        """Places moved up (positive) or down (negative) since the question before."""
        return None if self.previous_rank is None else self.previous_rank - self.rank


def counts_correct(question: PlayedQuestion, answer: StoredAnswer) -> bool:
    if not counts_for_streaks(question.type, question.voided):
        return False
    return answer_counts_correct(question.window, answer.judged_correct, answer.received_at)


def _ranked(
    players: Sequence[Player], closed: Sequence[PlayedQuestion], answers: Sequence[StoredAnswer]
) -> dict[int, tuple[int, int, int]]:
    """Rank, score and right answers of each player on the board once `closed` had closed."""
    cutoff = closed[-1].window.closed_at if closed else None
    present = [p for p in players if cutoff is None or p.joined_at <= cutoff]
    by_id = {q.question_id: q for q in closed}
    score = {p.participant_id: 0 for p in present}
    right = dict(score)
    for answer in answers:
        question = by_id.get(answer.question_id)
        if question is None or answer.participant_id not in score:
            continue
        score[answer.participant_id] += answer.points or 0
        right[answer.participant_id] += counts_correct(question, answer)
    ids = sorted(score, key=lambda pid: (-score[pid], pid))
    ranks = rank_all(score[pid] for pid in ids)
    return {pid: (rank, score[pid], right[pid]) for pid, rank in zip(ids, ranks, strict=True)}


def standings_after(
    players: Sequence[Player],
    closed: Sequence[PlayedQuestion],
    answers: Sequence[StoredAnswer],
    k: int,
) -> list[Standing]:
    """The board as it stood once the first `k` of `closed` (in closing order) had closed,
    best first; each row with its rank after the question before.

    A player is on it when they had joined by then. Ties share a rank (1, 2, 2, 4) and
    list who joined first first, as the live board does.
    """
    if not 1 <= k <= len(closed):
        raise ValueError(f"k={k} is outside 1..{len(closed)}")
    now = _ranked(players, closed[:k], answers)
    before = _ranked(players, closed[: k - 1], answers) if k > 1 else {}
    names = {p.participant_id: p.display_name for p in players}
    rows = [
        Standing(
            rank=rank,
            participant_id=pid,
            display_name=names[pid],
            score=score,
            correct_answers=right,
            previous_rank=before[pid][0] if pid in before else None,
        )
        for pid, (rank, score, right) in now.items()
    ]
    return sorted(rows, key=lambda s: (s.rank, s.participant_id))


def results_of(
    opened: Sequence[PlayedQuestion], answers: Sequence[StoredAnswer]
) -> list[dict[str, Any]]:
    """One player's result on each question that opened (oldest first) and that they
    answered or that has closed, with the streak of right answers it ended on."""
    by_question = {a.question_id: a for a in answers}
    streak = 0
    results = []
    for question in opened:
        answer = by_question.get(question.question_id)
        if answer is None and not question.closed:
            continue  # still open: not answered yet is not a miss yet
        counted = answer is not None and answer.state in COUNTED
        right = counted and counts_correct(question, answer)  # type: ignore[arg-type]
        polled = question.type == QuestionType.POLL
        if counts_for_streaks(question.type, question.voided):
            streak = streak + 1 if right else 0
        results.append(
            {
                "question_id": question.question_id,
                "position": question.position,
                "closed": question.closed,
                "answered": answer is not None,
                "state": answer.state if answer is not None else None,
                "choice_id": answer.choice_id if answer is not None else None,
                "choice_ids": list(answer.choice_ids)
                if answer is not None and answer.choice_ids is not None
                else None,
                "text": answer.text if answer is not None else None,
                "correct": right
                if answer is not None and answer.points is not None and not polled
                else None,
                "points": answer.points if answer is not None else None,
                "streak_bonus": answer.streak_bonus if answer is not None else None,
                "streak": streak,
                "voided": question.voided,
            }
        )
    return results


# --- reading them from PostgreSQL --------------------------------------------------------


def _played(questions: Sequence[Question]) -> list[PlayedQuestion]:
    return [
        PlayedQuestion(
            question_id=q.id,
            position=q.position,
            window=QuestionWindow(q.points, q.time_limit_s, q.opened_at, q.closed_at),
            closed=q.status == QuestionStatus.CLOSED,
            voided=q.voided_at is not None,
            type=q.type,
        )
        for q in questions
        if q.opened_at is not None
    ]


def _answers(session: Session, question_ids: Sequence[int], *where: Any) -> list[StoredAnswer]:
    keys = load_answer_keys(session.connection(), question_ids)
    rows = session.execute(
        select(
            Answer.participant_id,
            Answer.question_id,
            Answer.choice_id,
            Answer.choice_ids,
            Answer.answer_text,
            Answer.received_at,
            Answer.state,
            Answer.points,
            Answer.streak_bonus,
        ).where(Answer.question_id.in_(question_ids), *where)
    )
    return [
        StoredAnswer(
            participant_id=row.participant_id,
            question_id=row.question_id,
            choice_id=row.choice_id,
            judged_correct=judge(keys[row.question_id], response_of(row)).correct,
            received_at=row.received_at,
            state=row.state,
            points=row.points,
            streak_bonus=row.streak_bonus,
            choice_ids=tuple(row.choice_ids) if row.choice_ids is not None else None,
            text=row.answer_text,
        )
        for row in rows
    ]


def leaderboard_after(
    session: Session,
    client: redis.Redis,
    quiz_code: str,
    k: int,
    limit: int,
    participant_id: int | None = None,
) -> dict[str, Any]:
    """The board after the k-th question closed (GET …/leaderboard?after_question=k).

    Computed from PostgreSQL, and kept in Redis once every answer it counts is scored:
    from then on it changes only when the host removes a player (forget_standings).
    """
    quiz = get_quiz(session, quiz_code)
    closed = sorted(
        (q for q in quiz.questions if q.status == QuestionStatus.CLOSED and q.closed_at),
        key=lambda q: (q.closed_at, q.position),
    )
    if k > len(closed):
        raise Conflict(
            f"{len(closed)} question(s) of quiz {quiz.code} have closed: no board after "
            f"question {k} yet"
        )
    played = _played(closed[:k])
    rows = _kept_standings(client, quiz.code, k)
    if rows is None:
        rows, settled = _standings_from_db(session, quiz.id, played, k)
        if settled:
            _keep_standings(client, quiz.code, k, rows)
    board: dict[str, Any] = {
        "quiz_id": quiz.code,
        "after_question": k,
        "question_id": played[-1].question_id,
        "total_participants": len(rows),
        "entries": rows[:limit],
    }
    if participant_id is not None:
        mine = [row for row in rows if row.participant_id == participant_id]
        if not mine:
            raise InvalidInput(
                f"participant {participant_id} was not on the board after question {k}"
            )
        board["me"] = mine[0]
    return board


def _standings_from_db(
    session: Session, quiz_pk: int, played: Sequence[PlayedQuestion], k: int
) -> tuple[list[Standing], bool]:
    """The standings from the stored answers, and whether they are final: not while an
    answer still waits for a worker (its points are not known yet)."""
    players = [
        Player(*row)
        for row in session.execute(
            select(Participant.id, Participant.display_name, Participant.joined_at).where(
                Participant.quiz_id == quiz_pk, Participant.removed_at.is_(None)
            )
        )
    ]
    answers = _answers(session, [q.question_id for q in played], Answer.state.in_(COUNTED))
    settled = all(a.state != AnswerState.ACCEPTED for a in answers)
    return standings_after(players, played, answers, k), settled


def _kept_standings(client: redis.Redis, quiz_code: str, k: int) -> list[Standing] | None:
    try:
        kept = client.get(redis_keys.standings_after(quiz_code, k))
    except REDIS_DOWN:
        return None  # PostgreSQL has it all: Redis only keeps it
    return [Standing(*row) for row in json.loads(kept)] if kept else None


def _keep_standings(client: redis.Redis, quiz_code: str, k: int, rows: list[Standing]) -> None:
    packed = json.dumps([astuple(row) for row in rows], separators=(",", ":"))
    try:
        client.set(redis_keys.standings_after(quiz_code, k), packed, ex=STANDINGS_TTL_S)
    except REDIS_DOWN:
        pass


def forget_standings(client: redis.Redis, quiz_code: str, question_count: int) -> None:
    """Drop the kept boards after each question: a player left, so every one changes."""
    keys = [redis_keys.standings_after(quiz_code, k) for k in range(1, question_count + 1)]
    if keys:
        client.delete(*keys)


def my_results(session: Session, quiz_code: str, participant_id: int) -> dict[str, Any]:
    """A player's own score and results (GET …/participants/me)."""
    quiz = get_quiz(session, quiz_code)
    player = session.scalar(
        select(Participant).where(Participant.id == participant_id, Participant.quiz_id == quiz.id)
    )
    if player is None:
        raise NotFound(f"participant {participant_id} does not play in quiz {quiz.code}")
    if player.removed_at is not None:
        raise Forbidden(REJECT_MESSAGES[REMOVED_PLAYER])
    opened = sorted(_played(quiz.questions), key=lambda q: (q.window.opened_at, q.position))
    answers = _answers(
        session, [q.question_id for q in opened], Answer.participant_id == participant_id
    )
    return {
        "participant_id": player.id,
        "display_name": player.display_name,
        "score": player.total_score,
        "quiz_status": quiz.status,
        "results": results_of(opened, answers),
    }
