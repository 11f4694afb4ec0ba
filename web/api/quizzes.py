"""Quizzes: created and run by the host, read by anyone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from shared.models import Question, Quiz
from shared.quiz import quizzes
from shared.quiz.question_types import QuestionType
from shared.quiz.scoring import Policy
from web import rate_limits
from web.api.responses import BACKING, BODY, HOST_KEY, LIMITED, shared_errors
from web.api.schemas import (
    ErrorSchema,
    HostQuizSchema,
    QuestionSchema,
    QuizCreateSchema,
    QuizSchema,
)
from web.auth import host_required
from web.db import get_session, resources

blp = Blueprint(
    "quizzes", __name__, url_prefix="/api/v1/quizzes", description="Create, read and run quizzes."
)

HOST: list[dict[str, list[str]]] = [{"hostKey": []}]


def question_spec(question: dict[str, Any]) -> quizzes.QuestionSpec:
    """A loaded question body of any type (web/api/schemas.py) as the service takes it."""
    kind = QuestionType(question["type"])
    if kind is QuestionType.TRUE_FALSE:
        choices: Sequence[quizzes.ChoiceSpec] = quizzes.true_false_choices(question["correct"])
    else:
        # a poll's choices and an order's items are never "correct" (an order's is its place)
        choices = [
            quizzes.ChoiceSpec(c["text"].strip(), c.get("correct", False))
            for c in question.get("choices", [])
        ]
    return quizzes.QuestionSpec(
        text=question["text"].strip(),
        time_limit_s=question["time_limit_s"],
        points=question["points"],
        choices=choices,
        type=kind,
        partial=question.get("partial_credit", False),
        accepted_answers=[a.strip() for a in question.get("accepted_answers", [])],
        max_typos=question.get("max_typos", 0),
        ignore_accents=question.get("ignore_accents", False),
        ignore_trailing_period=question.get("ignore_trailing_period", False),
    )


def quiz_spec(body: dict[str, Any]) -> quizzes.QuizSpec:
    return quizzes.QuizSpec(
        title=body["title"].strip(),
        questions=[question_spec(q) for q in body["questions"]],
        allow_late_join=body["allow_late_join"],
        policy=Policy(streak_bonus=body["streak_bonus"], speed_weighting=body["speed_weighting"]),
    )


@blp.route("")
class Quizzes(MethodView):
    @host_required
    @blp.arguments(QuizCreateSchema())
    @blp.response(201, HostQuizSchema)
    @blp.alt_response(422, schema=ErrorSchema, description="the quiz is not valid")
    @shared_errors(blp, *HOST_KEY, *BODY, *BACKING)
    @blp.doc(security=HOST)
    def post(self, body: dict[str, Any]) -> Quiz:
        """Create a quiz

        Answers with the quiz, its join code (`quiz_id`) and the ids of its questions and
        choices. Each question is one of six types (`type`, default `single`), each with
        its own body. Only the host's calls (this one, `next`, `finish`, …) show which
        choices are correct and a typed question's accepted answers.
        """
        session = get_session()
        quiz = quizzes.create_quiz(session, quiz_spec(body))
        session.commit()
        return quizzes.get_quiz(session, quiz.code)


@blp.route("/<join_code:quiz_id>")
class QuizById(MethodView):
    @rate_limits.lookups
    @blp.response(200, QuizSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="no quiz has this join code")
    @shared_errors(blp, *LIMITED, *BACKING)
    def get(self, quiz_id: str) -> Quiz:
        """Read a quiz

        The join code is case-insensitive. Correct choices and accepted answers are never
        shown here, and an `order` question's items come shuffled (the same way on every
        read).
        """
        return quizzes.get_quiz(get_session(), quiz_id)


@blp.route("/<join_code:quiz_id>/next")
class QuizNext(MethodView):
    @host_required
    @blp.response(200, HostQuizSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="no quiz has this join code")
    @blp.alt_response(
        409, schema=ErrorSchema, description="the quiz has finished, or every question was played"
    )
    @blp.doc(security=HOST)
    @shared_errors(blp, *HOST_KEY, *BACKING)
    def post(self, quiz_id: str) -> Quiz:
        """Move the game on

        Closes the open question, if any (its answers are still scored), and opens the
        next question not played yet, in order; with the last question open it only
        closes it, which finishes the quiz. Answers with the whole quiz, correct choices
        included, for the host's screen. Not idempotent: after a lost response, read the
        quiz again rather than sending `next` twice (`…/open` is safe to retry).
        """
        return quizzes.next_question(get_session(), resources().redis, quiz_id, datetime.now(UTC))


@blp.route("/<join_code:quiz_id>/finish")
class QuizFinish(MethodView):
    @host_required
    @blp.response(200, HostQuizSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="no quiz has this join code")
    @blp.doc(security=HOST)
    @shared_errors(blp, *HOST_KEY, *BACKING)
    def post(self, quiz_id: str) -> Quiz:
        """Finish the quiz

        Closes the open question, if any (answers received before are still scored), and
        ends the quiz: no question opens and no player joins after, and the board keeps
        its final standings. Finishing a finished quiz changes nothing and answers 200
        with it, so a retry is safe.
        """
        return quizzes.finish_quiz(get_session(), resources().redis, quiz_id, datetime.now(UTC))


def _change_question(quiz_id: str, question_id: int, change: Any) -> Question:
    return change(get_session(), resources().redis, quiz_id, question_id, datetime.now(UTC))


@blp.route("/<join_code:quiz_id>/questions/<int:question_id>/open")
class QuestionOpen(MethodView):
    @host_required
    @blp.response(200, QuestionSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="unknown quiz or question")
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="already opened and closed, another is open, or the quiz has finished",
    )
    @blp.doc(security=HOST)
    @shared_errors(blp, *HOST_KEY, *BACKING)
    def post(self, quiz_id: str, question_id: int) -> Question:
        """Open a question

        Starts its timer: answers are taken until `closes_at` (open time + time limit) or
        until the host closes it. One question is open at a time, and each opens once.
        Opening the open question again changes nothing and answers 200 with it, so a
        retry after a lost response or a 503 is safe.
        """
        return _change_question(quiz_id, question_id, quizzes.open_question)


@blp.route("/<join_code:quiz_id>/questions/<int:question_id>/close")
class QuestionClose(MethodView):
    @host_required
    @blp.response(200, QuestionSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="unknown quiz or question")
    @blp.alt_response(409, schema=ErrorSchema, description="the question was never opened")
    @blp.doc(security=HOST)
    @shared_errors(blp, *HOST_KEY, *BACKING)
    def post(self, quiz_id: str, question_id: int) -> Question:
        """Close a question

        Answers already received are still scored; later ones are refused. Closing the
        last question finishes the quiz. Closing a closed question changes nothing and
        answers 200 with it, so a retry after a lost response or a 503 is safe.
        """
        return _change_question(quiz_id, question_id, quizzes.close_question)
