"""Polling a scoring task: Redis first, PostgreSQL when Redis no longer knows it."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from shared.quiz.task_status import current_task_status
from web.api.responses import BACKING, shared_errors
from web.api.schemas import ErrorSchema, TaskStatusSchema
from web.db import get_session, resources

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="Poll scoring tasks.")

# seconds a client should wait before polling an unfinished task again
POLL_AFTER_S = 1


@blp.route("/<string:task_id>")
class TaskById(MethodView):
    @blp.response(200, TaskStatusSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="this service never issued the id")
    @shared_errors(blp, *BACKING)
    def get(self, task_id: str) -> Any:
        """Poll a scoring task

        `state` is PENDING until the answer is scored, then SUCCESS with the points and the
        new total, or FAILURE with the reason. While it is not final the response carries
        `Retry-After` (seconds). Results stay available after their Redis copy expires.
        """
        status = current_task_status(
            resources().redis, get_session(), task_id, resources().settings.task_status_ttl_s
        )
        headers = {} if status.is_final else {"Retry-After": str(POLL_AFTER_S)}
        return status.to_dict(), 200, headers
