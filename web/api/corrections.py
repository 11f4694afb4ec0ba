"""Score corrections: the host changes a question's answer key or voids it, during the
game or after, and every total is recomputed from the stored answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from shared.models import ScoreCorrection
from shared.quiz import corrections
from web import dispatch
from web.api.responses import BACKING, BODY, HOST_KEY, shared_errors
from web.api.schemas import AnswerKeySchema, CorrectionSchema, ErrorSchema
from web.auth import host_required
from web.db import get_session, resources

blp = Blueprint(
    "corrections",
    __name__,
    url_prefix="/api/v1/quizzes",
    description="Score corrections: regrade a question or void it; every total is "
    "recomputed from the stored answers and pushed to the board.",
)

HOST: list[dict[str, list[str]]] = [{"hostKey": []}]


def _published(applied: corrections.Applied) -> ScoreCorrection:
    """After the commit: Redis forgets what went stale, a worker publishes the new totals."""
    corrections.after_commit(resources().redis, applied)
    dispatch.enqueue_outbox_publish(applied.outbox_ids)
    return applied.correction


@blp.route("/<join_code:quiz_id>/questions/<int:question_id>/answer-key")
class AnswerKey(MethodView):
    @host_required
    @blp.arguments(AnswerKeySchema())
    @blp.response(200, CorrectionSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="unknown quiz or question")
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="a type_answer, order or poll question: its key is not a set of right "
        "choices (void it instead)",
    )
    @blp.alt_response(
        422, schema=ErrorSchema, description="no choice named, or one of another question"
    )
    @shared_errors(blp, *HOST_KEY, *BODY, *BACKING)
    @blp.doc(security=HOST)
    def put(self, body: dict[str, Any], quiz_id: str, question_id: int) -> ScoreCorrection:
        """Change a question's answer key (regrade)

        The named choices are the right ones from now on, for answers already scored and
        for those still to come (single, true_false and multi questions). Every player's
        points and streak bonuses are recomputed from the stored answers in one
        transaction (a later question's streak bonus may change too), the correction is
        recorded with every total it changed, and the new totals reach the board and the
        streams (`event: correction`) like any score.
        """
        applied = corrections.change_answer_key(
            get_session(),
            quiz_id,
            question_id,
            body["correct_choice_ids"],
            datetime.now(UTC),
            request_id=g.get("request_id"),
        )
        return _published(applied)


@blp.route("/<join_code:quiz_id>/questions/<int:question_id>/void")
class VoidQuestion(MethodView):
    @host_required
    @blp.response(200, CorrectionSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="unknown quiz or question")
    @blp.alt_response(
        409, schema=ErrorSchema, description="the question is not closed, or is voided already"
    )
    @shared_errors(blp, *HOST_KEY, *BACKING)
    @blp.doc(security=HOST)
    def post(self, quiz_id: str, question_id: int) -> ScoreCorrection:
        """Void a question

        A closed question stops counting: its answers earn nothing, and it neither
        breaks nor extends a streak (later questions' streak bonuses are recomputed).
        Recorded and pushed like a regrade.
        """
        applied = corrections.void_question(
            get_session(), quiz_id, question_id, datetime.now(UTC), request_id=g.get("request_id")
        )
        return _published(applied)


@blp.route("/<join_code:quiz_id>/corrections")
class Corrections(MethodView):
    @host_required
    @blp.response(200, CorrectionSchema(many=True))
    @blp.alt_response(404, schema=ErrorSchema, description="no quiz has this join code")
    @shared_errors(blp, *HOST_KEY, *BACKING)
    @blp.doc(security=HOST)
    def get(self, quiz_id: str) -> list[ScoreCorrection]:
        """List a quiz's score corrections

        Oldest first, each with what it changed and every total before and after.
        """
        return corrections.corrections_of(get_session(), quiz_id)
