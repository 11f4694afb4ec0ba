"""Leaderboards: ranked entries on demand, and a live stream of them (Server-Sent Events)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import ServiceUnavailable, TooManyRequests

from shared.codes import normalize_code
from shared.leaderboard import service as leaderboard
from shared.leaderboard.board import BoardView
from shared.leaderboard.ranking import Entry
from shared.quiz import results
from web import live, rate_limits
from web.api.responses import BACKING, shared_errors
from web.api.schemas import (
    ErrorSchema,
    LeaderboardQueryArgsSchema,
    LeaderboardReadArgsSchema,
    LeaderboardReadSchema,
    StreamEventSchema,
    StreamHeadersSchema,
)
from web.boards import BoardRenderer, RenderedTop
from web.db import get_session, resources

# how long a client refused by a stream cap should wait before trying again
STREAM_CAP_RETRY_AFTER_S = 5

blp = Blueprint(
    "leaderboard",
    __name__,
    url_prefix="/api/v1/quizzes",
    description=(
        "Leaderboards: ranks on demand and as a live stream. Equal scores share a rank "
        "(1, 2, 2, 4); among them, who joined first is listed first."
    ),
)


def renderer() -> BoardRenderer:
    return current_app.extensions["quiz.boards"]


def read_leaderboard(
    code: str, limit: int, participant_id: int | None
) -> tuple[BoardView, Entry | None, RenderedTop | None]:
    """The board with `me`, read in a Redis call shared with the readers who arrive with
    this one, and the top this process kept of it (web/boards.py)."""
    kept = renderer().kept(code, limit)
    view, me = leaderboard.leaderboard_of(
        resources().redis,
        get_session,
        code,
        limit,
        participant_id,
        kept.version if kept is not None else None,
        read=current_app.extensions["quiz.board_reads"].read,
    )
    return view, me, kept


def connect_stream(
    live_hub: live.LiveHub, code: str, limit: int, participant_id: int | None
) -> live.LiveClient:
    """A stream client of the hub, or the 429 or 503 of a cap it would pass."""
    try:
        return live_hub.connect(code, limit, participant_id, rate_limits.client_address())
    except live.TooManyStreams as exc:
        if exc.per_address:
            raise TooManyRequests(exc.message, retry_after=STREAM_CAP_RETRY_AFTER_S) from None
        raise ServiceUnavailable(exc.message, retry_after=STREAM_CAP_RETRY_AFTER_S) from None


@blp.route("/<join_code:quiz_id>/leaderboard")
class Leaderboard(MethodView):
    @blp.arguments(LeaderboardReadArgsSchema(), location="query")
    @blp.response(200, LeaderboardReadSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="no quiz has this join code")
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="with `after_question`: fewer questions than that have closed",
    )
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="`limit` outside 1–100, `after_question` below 1, or `participant_id` "
        "malformed or not on this board",
    )
    @shared_errors(blp, *BACKING)
    def get(self, args: dict[str, Any], quiz_id: str) -> Any:
        """Read a leaderboard

        The top `limit` entries (default 10, at most 100) and the number of participants.
        With `participant_id`, also that participant's own row (`me`) and its neighbours,
        up to two on each side (`around_me`). Each read costs O(log N + limit) in Redis.

        Ranking: equal scores share a rank and the next rank skips (1, 2, 2, 4). Among
        equal scores the participant who joined first is listed first. Participants
        without points yet are on the board with 0.

        With `after_question=k`: the board as it stood once k questions had closed,
        recomputed from the answers stored in PostgreSQL, each row with its right answers
        so far and its rank movement since the question before (what the big screen shows
        between questions). Only players who had joined by then are on it.
        """
        code = normalize_code(quiz_id)
        limit, participant_id = args["limit"], args.get("participant_id")
        if "after_question" in args:
            return results.leaderboard_after(
                get_session(),
                resources().redis,
                code,
                args["after_question"],
                limit,
                participant_id,
            )
        view, me, kept = read_leaderboard(code, limit, participant_id)
        around = view.around if me is not None else None
        body = renderer().board(code, view, limit, me, around, kept)
        return Response(body, mimetype="application/json")


@blp.route("/<join_code:quiz_id>/leaderboard/stream")
class LeaderboardStream(MethodView):
    @rate_limits.streams
    @blp.arguments(LeaderboardQueryArgsSchema(), location="query")
    @blp.arguments(StreamHeadersSchema(), location="headers")
    @blp.response(
        200,
        StreamEventSchema,
        content_type="text/event-stream",
        description=(
            "`event: leaderboard` with the fields of GET …/leaderboard (its `id` is the "
            "board's `version`); `event: quiz` with the quiz when a question opens or "
            "closes; `: heartbeat` comments while nothing happens. The schema is that of "
            "each event."
        ),
    )
    @blp.alt_response(404, schema=ErrorSchema, description="no quiz has this join code")
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="`limit` outside 1–100, or `participant_id` malformed or not in this quiz",
    )
    @blp.alt_response(
        429,
        schema=ErrorSchema,
        description="too many streams opened from this client address lately, or open "
        "from it at once on this server (QUIZ_RATE_LIMIT_STREAMS, QUIZ_STREAMS_PER_ADDRESS); "
        "retry after Retry-After seconds",
    )
    @blp.alt_response(
        503,
        schema=ErrorSchema,
        description="PostgreSQL or Redis is unavailable, or this server holds its most streams "
        "(QUIZ_STREAMS_PER_PROCESS); retry after Retry-After seconds",
    )
    def get(self, args: dict[str, Any], headers: dict[str, Any], quiz_id: str) -> Response:
        """Stream a leaderboard

        Server-Sent Events: a snapshot of the board on connect, then the board again after
        each change, at most ten times a second (less often for a board thousands watch),
        however fast answers arrive, and a `: heartbeat` comment every 15 s. With
        `participant_id` each event also carries that participant's row (`me`). A client
        that reconnects with `Last-Event-ID` gets no snapshot when nothing changed since.
        """
        limit, participant_id = args["limit"], args.get("participant_id")
        code = normalize_code(quiz_id)
        # subscribe before reading the snapshot, so no change falls between the two: a
        # process's first stream waits for the hub's subscription to be up
        live_hub = live.hub()
        client = connect_stream(live_hub, code, limit, participant_id)
        live_hub.wait_subscribed(resources().settings.redis_socket_timeout_s)
        try:
            with live_hub.snapshot_slot(resources().settings.redis_socket_timeout_s):
                view, me, kept = read_leaderboard(code, limit, participant_id)
        except BaseException:
            live_hub.disconnect(client)
            raise
        first = ""
        if (headers.get("last_event_id") or "").strip() != str(view.version):
            payload = renderer().board(code, view, limit, me, kept=kept)
            first = live.sse_chunk(payload, "leaderboard", view.version)
        client.saw(view.version)
        return Response(
            EventStream(live_hub, client, first),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


class EventStream:
    """The stream's body: snapshot, then updates and heartbeats until the client leaves.

    The server calls close() when the client goes (WSGI), even before the first chunk was
    sent, so the hub forgets every client it was given.
    """

    def __init__(self, hub: live.LiveHub, client: live.LiveClient, first: str) -> None:
        self.hub = hub
        self.client = client
        self.first = first

    def __iter__(self) -> Iterator[str]:
        yield f"retry: {live.RECONNECT_MS}\n\n{self.first}"
        while True:
            # boards, question changes and the hub's heartbeats: no timer per stream
            chunk = self.client.wait()
            if chunk:
                yield chunk

    def close(self) -> None:
        self.hub.disconnect(self.client)
