"""Participant tokens: signed, time-limited, bound to one quiz and one participant."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from shared.errors import NotAuthenticated

_SALT = "quiz.participant-token"


@dataclass(frozen=True)
class ParticipantClaims:
    quiz_code: str
    participant_id: int


@functools.lru_cache(maxsize=4)
def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    # one per key: every submit checks a token, and a serializer derives its key when built
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def issue_participant_token(secret_key: str, quiz_code: str, participant_id: int) -> str:
    return _serializer(secret_key).dumps({"quiz": quiz_code, "participant": participant_id})


def read_participant_token(secret_key: str, token: str, max_age_s: int) -> ParticipantClaims:
    """Check the signature and age; raise NotAuthenticated with a reason a client can act on."""
    try:
        data = _serializer(secret_key).loads(token, max_age=max_age_s)
    except SignatureExpired:
        raise NotAuthenticated("participant token has expired; join the quiz again") from None
    except BadSignature:
        raise NotAuthenticated("participant token is not valid") from None
    try:
        return ParticipantClaims(
            quiz_code=str(data["quiz"]), participant_id=int(data["participant"])
        )
    except (TypeError, KeyError, ValueError):
        raise NotAuthenticated("participant token is not valid") from None
