"""Domain errors raised by the services; web/ turns each kind into its HTTP status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis.exceptions
import sqlalchemy.exc


class QuizError(Exception):
    """Base of the errors a client can cause; `message` is safe to show to the client."""

    def __init__(self, message: str, errors: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = dict(errors) if errors else None


class NotFound(QuizError):
    """The quiz, question, participant or task does not exist."""


class Conflict(QuizError):
    """The request is valid but the current state refuses it (already answered, not open)."""


class InvalidInput(QuizError):
    """The request is well-formed but its content is not acceptable."""


class IdempotencyKeyReused(QuizError):
    """The same Idempotency-Key came back with a different body."""


class NotAuthenticated(QuizError):
    """A credential is missing, forged or expired."""


class Forbidden(QuizError):
    """The credential is valid but does not allow this action."""


# Redis restarting or out of reach: a cache read falls back to PostgreSQL, a write waits
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# errors worth a retry: a backing service is restarting or the network hiccuped (the
# worker retries, the consumer requeues, the API answers 503 with Retry-After)
TRANSIENT_ERRORS = (
    *REDIS_DOWN,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
)
