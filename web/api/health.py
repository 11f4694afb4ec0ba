"""Probes for the orchestrator: liveness (`/healthz`) and readiness (`/readyz`)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from shared.readiness import OK, check_all
from web.db import resources

blp = Blueprint("health", __name__, description="Liveness and readiness probes.")

# how long a load balancer should wait before asking a not-ready instance again
NOT_READY_RETRY_AFTER_S = 2


class LivenessSchema(Schema):
    status = fields.String(metadata={"example": "ok"})


class ReadinessSchema(Schema):
    status = fields.String(metadata={"example": "ready"})
    checks = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "postgres, redis and broker: `ok` or why not"},
    )


class NotReadySchema(ReadinessSchema):
    code = fields.Integer()
    message = fields.String()


@blp.route("/healthz")
class Healthz(MethodView):
    @blp.response(200, LivenessSchema)
    def get(self) -> dict[str, str]:
        """Liveness

        The process answers requests. Nothing else is checked, no I/O: an outage of
        PostgreSQL or Redis must not get live processes restarted.
        """
        return {"status": "ok"}


@blp.route("/readyz")
class Readyz(MethodView):
    @blp.response(200, ReadinessSchema)
    @blp.alt_response(503, schema=NotReadySchema, description="a dependency is unreachable")
    def get(self) -> Any:
        """Readiness

        PostgreSQL, Redis and the Celery broker each answer within QUIZ_READY_TIMEOUT_S
        (checked at the same time, each on a fresh connection). A 503 names every
        dependency that failed.
        """
        checks = check_all(resources().settings)
        failing = [name for name, outcome in checks.items() if outcome != OK]
        if not failing:
            return {"status": "ready", "checks": checks}
        body = {
            "code": 503,
            "status": HTTPStatus.SERVICE_UNAVAILABLE.phrase,
            "message": f"not ready: {', '.join(failing)} unavailable",
            "checks": checks,
        }
        # a Response passes flask-smorest's 200 schema untouched
        response = jsonify(body)
        response.status_code = 503
        response.headers["Retry-After"] = str(NOT_READY_RETRY_AFTER_S)
        return response
