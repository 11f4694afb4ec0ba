"""Participants: join a quiz by its code and a display name."""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions
from flask.views import MethodView
from flask_smorest import Blueprint

from shared.leaderboard import service as leaderboard
from shared.quiz import quizzes
from shared.tokens import issue_participant_token
from web import rate_limits
from web.api.responses import BACKING, BODY, LIMITED, shared_errors
from web.api.schemas import ErrorSchema, JoinSchema, ParticipantJoinedSchema
from web.db import get_session, resources

log = logging.getLogger(__name__)

blp = Blueprint("participants", __name__, url_prefix="/api/v1/quizzes", description="Join a quiz.")


@blp.route("/<join_code:quiz_id>/participants")
class Participants(MethodView):
    @rate_limits.joins
    @blp.arguments(JoinSchema())
    @blp.response(201, ParticipantJoinedSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="no quiz has this join code")
    @blp.alt_response(409, schema=ErrorSchema, description="name taken, or the quiz has finished")
    @blp.alt_response(422, schema=ErrorSchema, description="the display name is not valid")
    @shared_errors(blp, *BODY, *LIMITED, *BACKING)
    def post(self, body: dict[str, Any], quiz_id: str) -> dict[str, Any]:
        """Join a quiz

        Answers with the participant's id and a signed token, bound to this quiz and this
        participant, to send as `Authorization: Bearer <token>` when answering. Display
        names are unique within a quiz, ignoring case.
        """
        session = get_session()
        participant = quizzes.join_quiz(session, quiz_id, body["display_name"])
        token = issue_participant_token(
            resources().settings.secret_key, quizzes.normalize_code(quiz_id), participant.id
        )
        joined = {"id": participant.id, "display_name": participant.display_name, "token": token}
        put_on_board(quiz_id, participant.id, participant.display_name)
        return joined


def put_on_board(quiz_id: str, participant_id: int, display_name: str) -> None:
    """Show a new player on the leaderboard with 0 points.

    The join is committed already, so a Redis failure must not fail it: the player is added
    by their first score, or by a rebuild.
    """
    try:
        leaderboard.add_participant(
            resources().redis, get_session(), quiz_id, participant_id, display_name
        )
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        log.warning("join.leaderboard_not_updated participant_id=%s", participant_id)
