"""Per-question statistics for the reveal, and the host's live count of answers."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from shared.quiz import stats
from web.api.responses import BACKING, HOST_KEY, shared_errors
from web.api.schemas import AnswerProgressSchema, ErrorSchema, QuestionStatsSchema
from web.auth import host_required
from web.db import get_session, resources

blp = Blueprint(
    "statistics",
    __name__,
    url_prefix="/api/v1/quizzes",
    description="What players answered: statistics once a question closes.",
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
    @host_required
    @blp.response(200, AnswerProgressSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="unknown quiz or question")
    @blp.doc(security=[{"hostKey": []}])
    @shared_errors(blp, *HOST_KEY, *BACKING)
    def get(self, quiz_id: str, question_id: int) -> dict[str, Any]:
        """Count the answers so far

        For the host's screen while the question is open ("37 of 52 answered"): the
        count only, never which choices were taken.
        """
        return stats.answer_progress(get_session(), quiz_id, question_id)
