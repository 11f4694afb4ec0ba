"""The floor: the least a Flask + Redis + Celery service does per answer, measured beside ours.

`make bench` runs it with the project's own gunicorn and Celery worker command lines
(bench/stack.py), so the ratio of the project's figure to the floor's says what the
project's own work costs, whatever the machine:

- `POST /api/v1/quizzes/<quiz_id>/answers`: parse the JSON body, one Redis `SET NX`
  (the pending status), `apply_async` of a no-op task, 202 with the task id;
- the no-op task `bench.floor.noop`, drained by the project's worker settings
  (`celery -A bench.floor worker -Q floor`, acks late, the project's prefetch);
- `GET /api/v1/quizzes/<quiz_id>/leaderboard`: one Redis `GET` of a stored board, as is.

Its Redis is the DB of BENCH_FLOOR_REDIS_URL (the bench's own server).
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import redis
from celery import Celery
from flask import Flask, Response, jsonify, request

from shared.celery import make_celery
from shared.config import Settings

QUEUE = "floor"
BOARD_KEY = "floor:board"


def floor_celery(broker_url: str) -> Celery:
    """A Celery app with the project's worker settings (acks, prefetch, time limits)."""
    project = make_celery(Settings(celery_broker_url=broker_url)).conf
    app = Celery("bench-floor", broker=broker_url, set_as_current=False)
    app.conf.update(
        broker_read_url=broker_url,
        broker_write_url=broker_url,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=QUEUE,
        task_acks_late=project.task_acks_late,
        task_reject_on_worker_lost=project.task_reject_on_worker_lost,
        worker_prefetch_multiplier=project.worker_prefetch_multiplier,
        broker_transport_options=project.broker_transport_options,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app


celery_app = floor_celery(os.environ.get("BENCH_FLOOR_REDIS_URL", "redis://127.0.0.1:6379/1"))
app = celery_app  # `celery -A bench.floor` finds it here


@celery_app.task(name="bench.floor.noop")
def noop(choice_id: Any) -> None:
    """Nothing: what remains is Celery's own cost per message."""


def create_app() -> Flask:
    flask_app = Flask(__name__)
    client = redis.Redis.from_url(os.environ["BENCH_FLOOR_REDIS_URL"])

    @flask_app.post("/api/v1/quizzes/<quiz_id>/answers")
    def submit(quiz_id: str) -> Any:
        body = request.get_json()
        task_id = str(uuid.uuid4())
        client.set(f"floor:task:{task_id}", "PENDING", nx=True, ex=3600)
        noop.apply_async((body.get("choice_id"),), task_id=task_id)
        return jsonify(task_id=task_id, status_url=f"/api/v1/tasks/{task_id}"), 202

    @flask_app.get("/api/v1/quizzes/<quiz_id>/leaderboard")
    def leaderboard(quiz_id: str) -> Response:
        return Response(client.get(BOARD_KEY) or b"{}", mimetype="application/json")

    @flask_app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    return flask_app
