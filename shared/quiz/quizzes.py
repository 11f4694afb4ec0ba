"""Running a quiz: create it, let participants join, open and close its questions, move it
on (`next`), end it, and close the questions whose timer ran out. The rules of the flow
are in shared/quiz/game.py; here they are applied under the quiz's row lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from shared import live_notices
from shared.codes import new_join_code, normalize_code
from shared.errors import Conflict, NotFound
from shared.models import Choice, Question, QuestionStatus, Quiz, QuizStatus
from shared.quiz import game
from shared.quiz.question_types import TRUE_FALSE_TEXTS, QuestionType
from shared.quiz.scoring import DEFAULT_POLICY, Policy
from shared.quiz.state import mark_quiz_changing, quiz_state_of, save_quiz_state

DEFAULT_TIME_LIMIT_S = 20
DEFAULT_POINTS = 1000


@dataclass(frozen=True)
class ChoiceSpec:
    text: str
    correct: bool


@dataclass(frozen=True)
class QuestionSpec:
    """A question to create. Its choices in position order: for `order`, the right order;
    none for `type_answer`, which has its accepted answers instead."""

    text: str
    choices: Sequence[ChoiceSpec]
    time_limit_s: int = DEFAULT_TIME_LIMIT_S
    points: int = DEFAULT_POINTS
    type: QuestionType = QuestionType.SINGLE
    partial: bool = False
    accepted_answers: Sequence[str] = ()
    max_typos: int = 0
    ignore_accents: bool = False
    ignore_trailing_period: bool = False


def true_false_choices(true_is_correct: bool) -> tuple[ChoiceSpec, ChoiceSpec]:
    """A true/false question's two fixed choices, true first."""
    true_text, false_text = TRUE_FALSE_TEXTS
    return ChoiceSpec(true_text, true_is_correct), ChoiceSpec(false_text, not true_is_correct)


@dataclass(frozen=True)
class QuizSpec:
    title: str
    questions: Sequence[QuestionSpec] = field(default_factory=tuple)
    # players may join after the first question opened (they start at 0)
    allow_late_join: bool = True
    policy: Policy = DEFAULT_POLICY


def create_quiz(session: Session, spec: QuizSpec) -> Quiz:
    """Store a quiz under a fresh join code (retrying the rare code collision)."""
    for _ in range(10):
        quiz = Quiz(
            code=new_join_code(),
            title=spec.title,
            status=QuizStatus.LOBBY.value,
            allow_late_join=spec.allow_late_join,
            scoring_version=spec.policy.version,
            streak_bonus=spec.policy.streak_bonus,
            speed_weighting=spec.policy.speed_weighting,
        )
        quiz.questions = [
            Question(
                position=position,
                text=q.text,
                type=q.type.value,
                time_limit_s=q.time_limit_s,
                points=q.points,
                partial=q.partial,
                accepted_answers=list(q.accepted_answers),
                max_typos=q.max_typos,
                ignore_accents=q.ignore_accents,
                ignore_trailing_period=q.ignore_trailing_period,
                status=QuestionStatus.PENDING.value,
                choices=[
                    Choice(position=i, text=c.text, is_correct=c.correct)
                    for i, c in enumerate(q.choices, start=1)
                ],
            )
            for position, q in enumerate(spec.questions, start=1)
        ]
        try:
            with session.begin_nested():
                session.add(quiz)
        except IntegrityError:
            continue
        return quiz
    raise RuntimeError("could not find a free join code after 10 tries")


def get_quiz(
    session: Session, quiz_code: str, *, for_update: bool = False, hold_scoring: bool = False
) -> Quiz:
    """A quiz with its questions and choices.

    :param for_update: lock its row until commit against other changes of the quiz (FOR NO
        KEY UPDATE: workers go on scoring its answers meanwhile)
    :param hold_scoring: lock it against scoring too (FOR UPDATE: a scoring batch takes
        FOR KEY SHARE of its quizzes first), for a correction that recomputes every score
    """
    query = (
        select(Quiz)
        .where(Quiz.code == normalize_code(quiz_code))
        .options(selectinload(Quiz.questions).selectinload(Question.choices))
    )
    if hold_scoring:
        query = query.with_for_update(of=Quiz)
    elif for_update:
        query = query.with_for_update(of=Quiz, key_share=True)
    quiz = session.scalar(query)
    if quiz is None:
        raise NotFound(f"quiz {quiz_code!r} does not exist")
    return quiz


def question_of(quiz: Quiz, question_id: int) -> Question:
    for question in quiz.questions:
        if question.id == question_id:
            return question
    raise NotFound(f"question {question_id} is not part of quiz {quiz.code}")


def open_question(
    session: Session, client: redis.Redis, quiz_code: str, question_id: int, now: datetime
) -> Question:
    """Open a question for answers; one question at a time, and each only once.

    Opening the open question again changes nothing and answers it as it is (a host's
    retry after a lost response), caching its state again.
    """
    quiz = get_quiz(session, quiz_code, for_update=True)
    question = question_of(quiz, question_id)
    if question.status == QuestionStatus.OPEN:
        _settled(session, client, quiz)
        return question
    if question.status != QuestionStatus.PENDING:
        raise Conflict(f"question {question_id} is already {question.status}")
    game.can_open(quiz.status)
    still_open = [q.id for q in quiz.questions if q.status == QuestionStatus.OPEN]
    if still_open:
        raise Conflict(f"question {still_open[0]} is still open; close it first")
    _open(quiz, question, now)
    _commit_transition(session, client, quiz)
    return question


def _open(quiz: Quiz, question: Question, now: datetime) -> None:
    question.status = QuestionStatus.OPEN.value
    question.opened_at = now
    question.closes_at = now + timedelta(seconds=question.time_limit_s)
    quiz.status = QuizStatus.RUNNING.value


def close_question(
    session: Session, client: redis.Redis, quiz_code: str, question_id: int, now: datetime
) -> Question:
    """Stop taking answers; answers received before `now` are still scored.

    Closing a closed question changes nothing and answers it as it is.
    """
    quiz = get_quiz(session, quiz_code, for_update=True)
    question = question_of(quiz, question_id)
    if question.status == QuestionStatus.CLOSED:
        _settled(session, client, quiz)
        return question
    if question.status != QuestionStatus.OPEN:
        raise Conflict(f"question {question_id} is {question.status}, not open")
    _close(quiz, question, now)
    _commit_transition(session, client, quiz)
    return question


def _close(quiz: Quiz, question: Question, now: datetime) -> None:
    question.status = QuestionStatus.CLOSED.value
    # a timer that ran out closed it at its deadline, however late the sweep came
    question.closed_at = min(now, question.closes_at) if question.closes_at else now
    # an early close also ends the timer, so the cache and the scorer agree on the end
    if question.closes_at is None or now < question.closes_at:
        question.closes_at = now
    if all(q.status == QuestionStatus.CLOSED for q in quiz.questions):
        quiz.status = QuizStatus.FINISHED.value


def next_question(session: Session, client: redis.Redis, quiz_code: str, now: datetime) -> Quiz:
    """Close the open question, if any, and open the next one not played yet."""
    quiz = get_quiz(session, quiz_code, for_update=True)
    step = game.next_step(quiz.status, quiz.questions)
    if step.close is not None:
        _close(quiz, question_of(quiz, step.close), now)
    if step.open is not None:
        _open(quiz, question_of(quiz, step.open), now)
    _commit_transition(session, client, quiz)
    return quiz


def finish_quiz(session: Session, client: redis.Redis, quiz_code: str, now: datetime) -> Quiz:
    """End the quiz: the open question closes, no question opens and no one joins after.

    Answers received before now are still scored. Finishing a finished quiz changes
    nothing and answers it as it is, so a retry is safe.
    """
    quiz = get_quiz(session, quiz_code, for_update=True)
    step = game.finish_step(quiz.status, quiz.questions)
    if step is None:
        _settled(session, client, quiz)
        return quiz
    if step.close is not None:
        _close(quiz, question_of(quiz, step.close), now)
    quiz.status = QuizStatus.FINISHED.value
    _commit_transition(session, client, quiz)
    return quiz


def close_timed_out(session: Session, client: redis.Redis, now: datetime) -> list[str]:
    """Close every open question whose timer has run out (beat runs this each second), so
    the board and the players see time's up without the host. The codes of their quizzes."""
    codes = session.scalars(
        select(Quiz.code)
        .join(Question, Question.quiz_id == Quiz.id)
        .where(Question.status == QuestionStatus.OPEN.value, Question.closes_at <= now)
        .distinct()
    ).all()
    closed = []
    for code in codes:
        quiz = get_quiz(session, code, for_update=True)
        due = game.timed_out(quiz.questions, now)
        if not due:  # the host closed it meanwhile
            session.commit()
            continue
        for question in due:
            _close(quiz, question, now)
        _commit_transition(session, client, quiz)
        closed.append(code)
    return closed


def _commit_transition(session: Session, client: redis.Redis, quiz: Quiz) -> None:
    """Commit a changed quiz so that the cached state can never stay behind it."""
    state = quiz_state_of(quiz)
    # Redis down here: the transition fails before it happens (rolled back, 503)
    mark_quiz_changing(client, quiz.code, state.version)
    session.commit()
    # Redis down from here on: the marker makes readers ask PostgreSQL meanwhile
    save_quiz_state(client, state)
    # live pages learn that a question opened or closed (leaderboard stream)
    live_notices.publish(client, quiz.code, live_notices.QUIZ_CHANGED)


def _settled(session: Session, client: redis.Redis, quiz: Quiz) -> None:
    """A transition asked again (its response, or its cache write, was lost): nothing to
    commit; the cache and the live notice are written again."""
    save_quiz_state(client, quiz_state_of(quiz))
    session.commit()  # ends the row lock
    live_notices.publish(client, quiz.code, live_notices.QUIZ_CHANGED)
