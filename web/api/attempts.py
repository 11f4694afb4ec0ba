"""The attempt log: every submission with a valid token, with what became of it."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from shared.quiz import attempts
from web.api.responses import BACKING, HOST_KEY, shared_errors
from web.api.schemas import AttemptsArgsSchema, AttemptsPageSchema, ErrorSchema
from web.auth import host_required
from web.db import get_session

blp = Blueprint(
    "attempts",
    __name__,
    url_prefix="/api/v1/quizzes",
    description="The attempt log: every submission, accepted or not, and why.",
)


@blp.route("/<join_code:quiz_id>/attempts")
class Attempts(MethodView):
    @host_required
    @blp.arguments(AttemptsArgsSchema(), location="query")
    @blp.response(200, AttemptsPageSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="no quiz has this join code")
    @blp.alt_response(422, schema=ErrorSchema, description="a filter or `limit` out of range")
    @shared_errors(blp, *HOST_KEY, *BACKING)
    @blp.doc(security=[{"hostKey": []}])
    def get(self, args: dict[str, Any], quiz_id: str) -> dict[str, Any]:
        """Page through the attempt log

        Every submission that reached the answer endpoint with a valid token, oldest
        first, with its outcome: `accepted` (with the answer id), `replayed`,
        `already_answered`, `not_open`, `late`, `idempotency_key_reused`, `rate_limited`,
        `removed_player`, `invalid`, `not_found`, `bad_request`, `too_large`. Filter by
        `participant_id` and `question_id`; pages of at most `limit` (≤ 500) rows, keyed
        by id: pass `next_after` as `after` for the next one.
        """
        return attempts.attempts_page(get_session(), quiz_id, **args)
