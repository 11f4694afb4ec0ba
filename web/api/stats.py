"""Per-question statistics for the reveal, and the host's live count of answers."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from shared.quiz import stats
from web import rate_limits
from web.api.responses import BACKING, LIMITED, shared_errors
from web.api.schemas import AnswerProgressSchema, ErrorSchema, QuestionStatsSchema
from web.db import get_session, resources

blp = Blueprint(
    "statistics",
    __name__,
    url_prefix="/api/v1/quizzes",
    description="What players answered: statistics once a question closes, the count "
    "of answers while it is open.",
)


@blp.route("/<join_code:quiz_id>/questions/<int:question_id>/stats")
class QuestionStats(MethodView):
    @blp.response(200, QuestionStatsSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="unknown quiz or question")
    @blp.alt_response(
        409, schema=ErrorSchema, description="the question is not closed yet (no peeking)"
    )
    @shared_errors(blp, *BACKING)
    def get(self, quiz_id: str, question_id: int) -> dict[str, Any]:
        """Read a question's statistics

        Once the question has closed: answers per choice (count and share), the share of
        right answers, the median and 90th percentile of response times (receipt minus
        open time) and the fastest right answer. Computed from PostgreSQL once, then kept.
        """
        return stats.question_stats(get_session(), resources().redis, quiz_id, question_id)


@blp.route("/<join_code:quiz_id>/questions/<int:question_id>/progress")
class AnswerProgress(MethodView):
    @rate_limits.lookups
    @blp.response(200, AnswerProgressSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="unknown quiz or question")
    @shared_errors(blp, *LIMITED, *BACKING)
    def get(self, quiz_id: str, question_id: int) -> dict[str, Any]:
        """Count the answers so far

        For the host's console and the big-screen board while the question is open ("37
        of 52 answered"): the count only, never which choices were taken, so anyone may
        read it.
        """
        return stats.answer_progress(get_session(), quiz_id, question_id)
