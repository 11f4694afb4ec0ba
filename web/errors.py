"""Every error leaves as JSON `{code, status, message, errors?}`, the shape flask-smorest uses."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import redis.exceptions
import sqlalchemy.exc
from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

from shared import errors

log = logging.getLogger(__name__)

STATUS_OF: dict[type[errors.QuizError], int] = {
    errors.InvalidInput: 422,
    errors.IdempotencyKeyReused: 422,
    errors.NotAuthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
}

# how long a client should wait before retrying when a dependency is down
UNAVAILABLE_RETRY_AFTER_S = 2


def error_response(
    status: int, message: str, errors_: dict[str, Any] | None = None
) -> ResponseReturnValue:
    body: dict[str, Any] = {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "message": message,
    }
    if errors_:
        body["errors"] = errors_
    return jsonify(body), status


def _quiz_error(exc: errors.QuizError) -> ResponseReturnValue:
    status = next((code for kind, code in STATUS_OF.items() if isinstance(exc, kind)), 400)
    response = error_response(status, exc.message, exc.errors)
    if status == 401:
        body, code = response  # type: ignore[misc]
        return body, code, {"WWW-Authenticate": "Bearer"}
    return response


def _dependency_down(exc: Exception) -> ResponseReturnValue:
    log.error("request.dependency_unavailable error=%s", type(exc).__name__, exc_info=True)
    body, status = error_response(503, "a backing service is unavailable; retry shortly")  # type: ignore[misc]
    return body, status, {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)}


def init_app(app: Flask) -> None:
    app.register_error_handler(errors.QuizError, _quiz_error)
    for kind in (
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
        sqlalchemy.exc.OperationalError,
        sqlalchemy.exc.InterfaceError,
    ):
        app.register_error_handler(kind, _dependency_down)
