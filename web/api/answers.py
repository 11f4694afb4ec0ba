"""Submitting an answer: checked, recorded once, then scored by a worker (202)."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from flask import current_app, g, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from shared import logging as quiz_logging
from shared import redis_keys
from shared.codes import normalize_code
from shared.errors import Conflict, InvalidInput, NotFound
from shared.models import AttemptOutcome, QuestionStatus
from shared.quiz import submissions
from shared.quiz.question_types import Response, ResponseMismatch, check_response
from shared.quiz.state import QuizState, quiz_state_from
from shared.quiz.task_status import REJECT_MESSAGES, REMOVED_PLAYER
from web.api.responses import BODY, LIMITED, shared_errors
from web.api.schemas import AnswerSubmitSchema, ErrorSchema, TaskAcceptedSchema
from web.auth import participant_required
from web.db import get_session, resources
from web.rate_limits import RateLimits, answering_player

log = logging.getLogger(__name__)

blp = Blueprint("answers", __name__, url_prefix="/api/v1/quizzes", description="Submit answers.")

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")

IDEMPOTENCY_KEY_DOC = {
    "in": "header",
    "name": IDEMPOTENCY_KEY_HEADER,
    "required": False,
    "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN.pattern},
    "description": (
        "Makes retries safe: the same key with the same body answers 202 with the same task "
        "id and `Idempotent-Replayed: true`; with another body, 422. Scoped to the "
        "participant and kept 24 h. Without it the question is the key."
    ),
}


def idempotency_key() -> str | None:
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is None:
        return None
    if not IDEMPOTENCY_KEY_PATTERN.match(key):
        raise InvalidInput(
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
            {IDEMPOTENCY_KEY_HEADER: ["1 to 255 visible ASCII characters"]},
        )
    return key


def check_question_open(quiz_id: str, question_id: int, response: Response) -> QuizState:
    """Answer from the quiz state cached in Redis; PostgreSQL is read only on a cache miss.

    The player's rate limit is counted in the same round trip as that read.
    """
    code = normalize_code(quiz_id)
    limits: RateLimits = current_app.extensions["quiz.rate_limits"]
    player = answering_player()
    with resources().redis.pipeline(transaction=False) as pipe:
        pipe.get(redis_keys.quiz_state(code))
        if limits.enabled:
            limits.count_on(pipe, "answers", player)
        raw, *counts = pipe.execute(raise_on_error=False)
    if isinstance(raw, Exception):
        raise raw
    if limits.enabled:
        limits.enforce("answers", player, counts, "too many answers from this player")
    state = quiz_state_from(resources().redis, get_session(), code, raw)
    if state is None:
        raise NotFound(f"quiz {quiz_id!r} does not exist")
    question = state.questions.get(question_id)
    if question is None:
        raise NotFound(f"question {question_id} is not part of quiz {state.code}")
    try:
        check_response(question.type, question.choice_ids, response)
    except ResponseMismatch as exc:
        raise InvalidInput(
            f"question {question_id} is a {question.type.value} question: {exc.message}",
            {"json": {exc.field: [exc.message]}},
        ) from None
    if not question.is_open_at(g.received_at):
        timed_out = question.status == QuestionStatus.OPEN and question.closes_at is not None
        g.attempt_outcome = AttemptOutcome.LATE if timed_out else AttemptOutcome.NOT_OPEN
        raise Conflict(f"question {question_id} is not open for answers")
    return state


@blp.route("/<join_code:quiz_id>/answers")
class Answers(MethodView):
    @participant_required
    @blp.arguments(AnswerSubmitSchema())
    @blp.response(202, TaskAcceptedSchema)
    @shared_errors(blp, *BODY, *LIMITED)
    @blp.alt_response(401, schema=ErrorSchema, description="token missing, forged or expired")
    @blp.alt_response(
        403,
        schema=ErrorSchema,
        description="the token belongs to another quiz, or names no player of this quiz",
    )
    @blp.alt_response(404, schema=ErrorSchema, description="unknown quiz or question")
    @blp.alt_response(
        409, schema=ErrorSchema, description="already answered, or the question is not open"
    )
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="wrong or unknown fields, a body of the wrong shape for the question's "
        "type (the message names the type), a choice of another question, a malformed "
        "Idempotency-Key, or one reused with another body",
    )
    @blp.alt_response(
        503,
        schema=ErrorSchema,
        description=(
            "PostgreSQL or Redis is unavailable. The outcome is unknown: the answer may have "
            "been recorded before the failure. Retry with the same body (with or without the "
            "same Idempotency-Key): a recorded answer replays its 202, otherwise it is taken now."
        ),
    )
    @blp.doc(parameters=[IDEMPOTENCY_KEY_DOC], security=[{"participantToken": []}])
    def post(self, body: dict[str, Any], quiz_id: str) -> Any:
        """Submit an answer

        Checks the token, the body and that the question is open, records the answer once
        (receipt time included: queue delay never costs points) and answers 202 with the id
        of the scoring task to poll. A 202 is a promise: the answer will be scored.
        """
        key = idempotency_key()
        submission = submissions.Submission(
            participant_id=g.participant.participant_id,
            question_id=body["question_id"],
            choice_id=body.get("choice_id"),
            idempotency_key=key,
            choice_ids=tuple(body["choice_ids"]) if "choice_ids" in body else None,
            text=body.get("text"),
        )
        state = check_question_open(quiz_id, submission.question_id, submission.response)
        # written with the other answers this process takes meanwhile, in one INSERT, and
        # its scoring message sent, before this returns (web/intake.py)
        # the INSERT also checks that the token's participant plays this quiz
        request_id = quiz_logging.current("request_id")
        received = submissions.Received(
            submission, str(uuid.uuid4()), g.received_at, state.quiz_pk, request_id
        )
        waiting = current_app.extensions["quiz.intake"].accept(received, request_id)
        if waiting.answer_id is not None:
            g.attempt_logged = True  # by the INSERT that accepted it
            acceptance = submissions.Acceptance(waiting.answer_id, received.task_id, replayed=False)
        else:
            # an answer was stored before this one (a replay, or a conflict), or the
            # participant does not play this quiz
            g.attempt_outcome = AttemptOutcome.ALREADY_ANSWERED
            engine = resources().engine
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                acceptance = submissions.resolve_stored(
                    conn, submission, g.received_at, resources().settings.idempotency_ttl_s
                )
            g.attempt_outcome = AttemptOutcome.REPLAYED
        status_url = url_for("tasks.TaskById", task_id=acceptance.task_id, _external=False)
        headers = {"Location": status_url}
        if acceptance.replayed:
            headers["Idempotent-Replayed"] = "true"
        # no PENDING copy in Redis: a poll before the score finds the answer in PostgreSQL
        # (and caches that), and most answers are scored before any poll
        return {"task_id": acceptance.task_id, "status_url": status_url}, 202, headers


# the outcome of a refused submission, by its status, when the view did not name one
OUTCOME_OF_STATUS = {
    400: AttemptOutcome.BAD_REQUEST,
    403: AttemptOutcome.FORBIDDEN,
    404: AttemptOutcome.NOT_FOUND,
    409: AttemptOutcome.ALREADY_ANSWERED,
    413: AttemptOutcome.TOO_LARGE,
    422: AttemptOutcome.INVALID,
    429: AttemptOutcome.RATE_LIMITED,
}
# reasons a 403 or 422 names, that the log keeps apart
OUTCOME_OF_MESSAGE = {
    REJECT_MESSAGES[REMOVED_PLAYER]: AttemptOutcome.REMOVED_PLAYER,
    submissions.KEY_REUSED_MESSAGE: AttemptOutcome.IDEMPOTENCY_KEY_REUSED,
}


@blp.after_request
def log_attempt(response: Any) -> Any:
    """Hand every submission with a valid token that was not accepted to the attempt log
    (web/intake.py writes it with the next INSERT; this request does not wait)."""
    claims = g.get("participant")
    if request.endpoint != "answers.Answers" or claims is None or g.get("attempt_logged"):
        return response
    outcome = g.get("attempt_outcome") if response.status_code in (202, 409) else None
    if outcome is None:
        message = _message_of(response)
        outcome = (OUTCOME_OF_MESSAGE.get(message) if message else None) or OUTCOME_OF_STATUS.get(
            response.status_code
        )
    if outcome is None:  # 503 and the like: PostgreSQL may not take the log either
        return response
    fields = _sent_fields(response.status_code)
    current_app.extensions["quiz.intake"].record(
        submissions.RefusedAttempt(
            quiz_code=claims.quiz_code,
            participant_id=claims.participant_id,
            question_id=_integer(fields.get("question_id")),
            choice_id=_integer(fields.get("choice_id")),
            received_at=g.received_at,
            outcome=str(outcome),
            request_id=g.get("request_id"),
        )
    )
    return response


def _sent_fields(status: int) -> dict[str, Any]:
    """The body's fields, when it was read (a body too large, or not JSON, is not)."""
    if status in (400, 413):
        return {}
    try:
        body = request.get_json(silent=True, cache=True)
    except HTTPException:
        return {}
    return body if isinstance(body, dict) else {}


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _message_of(response: Any) -> str | None:
    if response.status_code not in (403, 422) or not response.is_json:
        return None
    body = response.get_json(silent=True)
    return body.get("message") if isinstance(body, dict) else None
