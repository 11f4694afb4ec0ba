"""Who may call: the host (X-Host-Key) or a participant (Bearer token bound to one quiz)."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import g, request

from shared.codes import normalize_code
from shared.errors import Forbidden, NotAuthenticated
from shared.tokens import ParticipantClaims, read_participant_token
from web.db import resources

F = TypeVar("F", bound=Callable[..., Any])

HOST_KEY_HEADER = "X-Host-Key"


def host_required(view: F) -> F:
    """Refuse the call unless it carries the host key."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = request.headers.get(HOST_KEY_HEADER)
        if not given:
            raise NotAuthenticated(f"the {HOST_KEY_HEADER} header is required")
        if not hmac.compare_digest(given.encode(), resources().settings.host_key.encode()):
            raise Forbidden(f"the {HOST_KEY_HEADER} header does not match the host key")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def participant_required(view: F) -> F:
    """Record the receipt time, then check the participant token against the quiz in the URL.

    It wraps the body parsing, so a bad token is refused before the body is looked at.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.received_at = datetime.now(UTC)
        g.participant = participant_claims(kwargs["quiz_id"])
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def participant_claims(quiz_id: str) -> ParticipantClaims:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("an `Authorization: Bearer <participant token>` header is required")
    settings = resources().settings
    claims = read_participant_token(settings.secret_key, token.strip(), settings.token_max_age_s)
    if claims.quiz_code != normalize_code(quiz_id):
        raise Forbidden("this participant token belongs to another quiz")
    return claims
