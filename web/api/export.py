"""The results export: what the host keeps after the game, as CSV or JSON, streamed."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from shared.codes import normalize_code
from shared.quiz import export, quizzes
from web.api.responses import BACKING, HOST_KEY, shared_errors
from web.api.schemas import ErrorSchema, HostQuizSchema
from web.auth import host_required
from web.db import get_session, resources

blp = Blueprint(
    "export",
    __name__,
    url_prefix="/api/v1/quizzes",
    description="The results of a quiz for the host: every player's answers, points and "
    "ranks, streamed as CSV or JSON.",
)


def _streamed(
    quiz_id: str, render: Callable[[Iterable[export.PlayerExport]], Iterator[str]]
) -> Iterator[str]:
    """The export's chunks, read with a session of their own: the rows outlive the view."""
    quiz_pk = quizzes.get_quiz(get_session(), quiz_id).id  # a 404 before the first byte
    factory = resources().session_factory

    def chunks() -> Iterator[str]:
        with factory() as session:
            yield from render(export.players(session, quiz_pk))

    return chunks()


def _attachment(quiz_id: str, suffix: str) -> dict[str, str]:
    name = f"quiz-{normalize_code(quiz_id)}-results.{suffix}"
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


@blp.route("/<join_code:quiz_id>/export.csv")
class CsvExport(MethodView):
    @host_required
    @blp.response(
        200, description="the results as CSV (UTF-8, a header row)", content_type="text/csv"
    )
    @blp.alt_response(404, schema=ErrorSchema, description="no quiz has this join code")
    @blp.doc(security=[{"hostKey": []}])
    @shared_errors(blp, *HOST_KEY, *BACKING)
    def get(self, quiz_id: str) -> Response:
        """Export the results as CSV

        One `answer` row per player and closed question (choice, right and in time,
        points, streak bonus, response time, rank after the question), then one `summary`
        row per player (total over the closed questions, right answers, final rank).
        Players removed by the host are left out; ranks are those of
        GET …/leaderboard?after_question=k. Columns: row, participant_id, display_name,
        question_position, question_id, choice, correct, points, streak_bonus,
        response_ms, rank_after_question, total, correct_answers, final_rank. A text cell
        that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading
        `'`, so a spreadsheet never runs it.
        """
        body = _streamed(quiz_id, export.csv_lines)
        return Response(body, mimetype="text/csv", headers=_attachment(quiz_id, "csv"))


@blp.route("/<join_code:quiz_id>/export.json")
class JsonExport(MethodView):
    @host_required
    @blp.response(
        200,
        description='the results as one JSON document: `{"quiz": …, "participants": [{…, '
        '"questions": [...]}]}`',
        content_type="application/json",
    )
    @blp.alt_response(404, schema=ErrorSchema, description="no quiz has this join code")
    @blp.doc(security=[{"hostKey": []}])
    @shared_errors(blp, *HOST_KEY, *BACKING)
    def get(self, quiz_id: str) -> Response:
        """Export the results as JSON

        The quiz as its host sees it (questions, choices, which are right), then each
        player with `total`, `correct_answers`, `final_rank` and `questions`: the same
        fields as the CSV's rows.
        """
        quiz = HostQuizSchema().dump(quizzes.get_quiz(get_session(), quiz_id))
        body = _streamed(quiz_id, lambda players: export.json_chunks(quiz, players))
        return Response(body, mimetype="application/json", headers=_attachment(quiz_id, "json"))
