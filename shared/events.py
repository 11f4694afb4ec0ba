"""The leaderboard update event: what the scorer publishes on the `leaderboard.updates` queue.

Version 1 (JSON object, all fields required; see docs/events.md):
    schema          "quiz.leaderboard.update"
    version         1
    event_id        UUID of the event; the same event may be delivered more than once
    quiz_id         the quiz's join code
    participant_id  integer
    display_name    the participant's display name
    total_score     the participant's new total (absolute, so consumers never add)
    answer_id       integer, the answer that changed the total
    question_id     integer
    points          points that answer earned
    occurred_at     ISO 8601 time the answer was scored, with its UTC offset

Consumers must ignore fields they do not know; a change that breaks them gets a new version.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

SCHEMA_NAME = "quiz.leaderboard.update"
SCHEMA_VERSION = 1
LEADERBOARD_EXCHANGE = "leaderboard"
LEADERBOARD_QUEUE = "leaderboard.updates"


class LeaderboardUpdateSchema(Schema):
    class Meta:
        unknown = RAISE

    schema = fields.String(required=True, validate=validate.Equal(SCHEMA_NAME))
    version = fields.Integer(required=True, strict=True, validate=validate.Equal(SCHEMA_VERSION))
    event_id = fields.UUID(required=True)
    quiz_id = fields.String(required=True, validate=validate.Length(min=1))
    participant_id = fields.Integer(required=True, strict=True)
    display_name = fields.String(required=True)
    total_score = fields.Integer(required=True, strict=True)
    answer_id = fields.Integer(required=True, strict=True)
    question_id = fields.Integer(required=True, strict=True)
    points = fields.Integer(required=True, strict=True)
    occurred_at = fields.AwareDateTime(required=True)


def leaderboard_update(
    *,
    quiz_code: str,
    participant_id: int,
    display_name: str,
    total_score: int,
    answer_id: int,
    question_id: int,
    points: int,
    occurred_at: datetime,
    event_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Build a version-1 event as the JSON-ready dict that goes on the wire."""
    return {
        "schema": SCHEMA_NAME,
        "version": SCHEMA_VERSION,
        "event_id": str(event_id or uuid.uuid4()),
        "quiz_id": quiz_code,
        "participant_id": participant_id,
        "display_name": display_name,
        "total_score": total_score,
        "answer_id": answer_id,
        "question_id": question_id,
        "points": points,
        "occurred_at": occurred_at.isoformat(),
    }


def validate_leaderboard_update(payload: dict[str, Any]) -> dict[str, Any]:
    """Return the payload loaded, or raise marshmallow.ValidationError naming what is wrong."""
    return LeaderboardUpdateSchema().load(payload)
