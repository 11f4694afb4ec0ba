"""Participants: join a quiz by its code and a display name; the host removes one."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from shared.codes import normalize_code
from shared.errors import REDIS_DOWN
from shared.leaderboard import service as leaderboard
from shared.quiz import players, privacy, results
from shared.tokens import issue_participant_token
from web import rate_limits
from web.api.responses import BACKING, BODY, HOST_KEY, LIMITED, shared_errors
from web.api.schemas import (
    ErrorSchema,
    JoinSchema,
    MyResultsSchema,
    ParticipantJoinedSchema,
    RemovalArgsSchema,
)
from web.auth import host_required, participant_required
from web.db import get_session, resources

log = logging.getLogger(__name__)

blp = Blueprint(
    "participants",
    __name__,
    url_prefix="/api/v1/quizzes",
    description="Join a quiz and read your own results; the host removes a player.",
)


@blp.route("/<join_code:quiz_id>/participants")
class Participants(MethodView):
    @rate_limits.joins
    @blp.arguments(JoinSchema())
    @blp.response(201, ParticipantJoinedSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="the host banned this display name")
    @blp.alt_response(404, schema=ErrorSchema, description="no quiz has this join code")
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="name taken, the quiz has finished, or it has started and takes no late "
        "players",
    )
    @blp.alt_response(
        422, schema=ErrorSchema, description="the display name is not valid, or not allowed"
    )
    @shared_errors(blp, *BODY, *LIMITED, *BACKING)
    def post(self, body: dict[str, Any], quiz_id: str) -> dict[str, Any]:
        """Join a quiz

        Answers with the participant's id and a signed token, bound to this quiz and this
        participant, to send as `Authorization: Bearer <token>` when answering. Display
        names are unique among the quiz's players, ignoring case, and may not contain a
        word of the blocked list (QUIZ_BLOCKED_NAMES_FILE). A player may join after the
        game started unless the quiz says `allow_late_join: false`; they start at 0.
        """
        session = get_session()
        settings = resources().settings
        participant = players.join_quiz(
            session,
            quiz_id,
            body["display_name"],
            players.blocked_words(settings.blocked_names_file),
        )
        token = issue_participant_token(
            settings.secret_key, normalize_code(quiz_id), participant.id
        )
        joined = {"id": participant.id, "display_name": participant.display_name, "token": token}
        put_on_board(quiz_id, participant.id, participant.display_name)
        return joined


@blp.route("/<join_code:quiz_id>/participants/me")
class MyResults(MethodView):
    @participant_required
    @rate_limits.lookups
    @blp.response(200, MyResultsSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="the Bearer token is missing or invalid")
    @blp.alt_response(
        403,
        schema=ErrorSchema,
        description="the token belongs to another quiz, or the host removed this player",
    )
    @blp.alt_response(
        404, schema=ErrorSchema, description="no quiz has this join code, or no such player"
    )
    @blp.doc(security=[{"participantToken": []}])
    @shared_errors(blp, *LIMITED, *BACKING)
    def get(self, quiz_id: str) -> dict[str, Any]:
        """Read your own results

        The player of the Bearer token: their total, and for each question that opened
        whether they answered, whether it was right, the points and the streak it ended
        on. What a phone shows at the reveal, and again after a reload.
        """
        return results.my_results(get_session(), quiz_id, g.participant.participant_id)


@blp.route("/<join_code:quiz_id>/participants/<int:participant_id>")
class ParticipantById(MethodView):
    @host_required
    @blp.arguments(RemovalArgsSchema(), location="query")
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description="no such player in this quiz")
    @blp.alt_response(422, schema=ErrorSchema, description="`ban` or `erase` is not true or false")
    @blp.doc(security=[{"hostKey": []}])
    @shared_errors(blp, *HOST_KEY, *BACKING)
    def delete(self, args: dict[str, Any], quiz_id: str, participant_id: int) -> None:
        """Remove a player

        Their token stops working (403), they leave the board, and their answers stay
        stored but count for nothing. With `ban=true` their display name cannot join this
        quiz again. Removing a removed player again changes nothing (but can add the ban).

        With `erase=true` (the right to erasure) their personal data goes too: the display
        name becomes a tombstone, their answers and leaderboard events are deleted from
        PostgreSQL, and the board, cached statistics and task statuses forget them in
        Redis. The other players keep their points, and their ranks close up. An
        `erasures` row records when and at whose request (the host, the request id), and
        nothing personal. Erasing again only repeats the Redis clean-up.
        """
        session, client, now = get_session(), resources().redis, datetime.now(UTC)
        if args["erase"]:
            privacy.erase_participant(
                session, client, quiz_id, participant_id, now, request_id=g.get("request_id")
            )
        else:
            players.remove_participant(
                session, client, quiz_id, participant_id, now, ban=args["ban"]
            )


def put_on_board(quiz_id: str, participant_id: int, display_name: str) -> None:
    """Show a new player on the leaderboard with 0 points.

    The join is committed already, so a Redis failure must not fail it: the player is added
    by their first score, or by a rebuild.
    """
    try:
        leaderboard.add_participant(
            resources().redis, get_session(), quiz_id, participant_id, display_name
        )
    except REDIS_DOWN:
        log.warning("join.leaderboard_not_updated", extra={"participant_id": participant_id})
