"""Every error leaves as JSON `{code, status, message, errors?}`, the shape flask-smorest uses."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import sqlalchemy.exc
from flask import Flask, Response, current_app, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

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
) -> tuple[Response, int]:
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
        body, code = response
        return body, code, {"WWW-Authenticate": "Bearer"}
    return response


def _dependency_down(exc: Exception) -> ResponseReturnValue:
    log.error("request.dependency_unavailable", extra={"error": type(exc).__name__}, exc_info=True)
    body, status = error_response(503, "a backing service is unavailable; retry shortly")
    return body, status, {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)}


def _refused_by_database(exc: sqlalchemy.exc.DataError) -> ResponseReturnValue:
    """A value the schemas let through but PostgreSQL refuses (out of range, say): the
    client's input, so a 422, never a 500."""
    log.warning("request.refused_by_database", extra={"error": type(exc.orig).__name__})
    return error_response(422, "a value of the request is not valid")


def first_problem(messages: Any, path: str = "") -> str | None:
    """The first leaf of a nested webargs/marshmallow message dict, as 'field: message'."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            found = first_problem(value, f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    if isinstance(messages, list) and messages:
        if all(isinstance(m, str) for m in messages):
            return f"{path}: {messages[0]}" if path else messages[0]
        return first_problem(messages[0], path)
    return None


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    """Werkzeug and webargs errors in the project's shape, always with a message."""
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    status = exc.code or 500
    message = data.get("message")
    if not message and messages:
        message = f"the request is not valid: {first_problem(messages)}"
    if status == 413:
        message = (
            f"the request body is larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes"
        )
    body, code = error_response(status, message or exc.description or "", messages)
    # keep headers such as Allow (405); the body is ours, so not its Content-Type
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    return body, code, headers


def init_app(app: Flask) -> None:
    # replaces flask-smorest's handler, which leaves `message` out of validation errors
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(errors.QuizError, _quiz_error)
    app.register_error_handler(sqlalchemy.exc.DataError, _refused_by_database)
    for kind in (
        *errors.TRANSIENT_ERRORS,
        # no pooled connection came free in time: PostgreSQL is slow or the pool too small
        sqlalchemy.exc.TimeoutError,
        # an answer waited too long for its INSERT (web/intake.py)
        TimeoutError,
    ):
        app.register_error_handler(kind, _dependency_down)
