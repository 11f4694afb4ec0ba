"""Leaderboard events: what the scorer publishes on the `leaderboard.updates` queue.

Version 1, one update (JSON object, all fields required; see docs/events.md):
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
    epoch           optional, default 0: the quiz's score corrections so far when the total
                    was computed. A total of a newer epoch replaces the board's, even a
                    lower one; within an epoch totals only rise; an older epoch is stale.
    correction_id   optional: set when a correction (regrade or void) wrote the total;
                    then answer_id is the participant's latest answer, question_id the
                    corrected question and points the change of the total (maybe < 0)

Version 2, many updates in one message (what the scorer and the relay send):
    schema          "quiz.leaderboard.update"
    version         2
    event_id        UUID of the message
    updates         one or more version-1 events, each complete

Consumers accept both versions and ignore fields they do not know, so a field can be
added without a new version. A change that breaks them gets a new version.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from kombu import Exchange, Producer, Queue
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

SCHEMA_NAME = "quiz.leaderboard.update"
UPDATE_VERSION = 1
BATCH_VERSION = 2
LEADERBOARD_EXCHANGE = "leaderboard"
LEADERBOARD_QUEUE = "leaderboard.updates"

leaderboard_exchange = Exchange(LEADERBOARD_EXCHANGE, type="direct", durable=True)
leaderboard_queue = Queue(
    LEADERBOARD_QUEUE, leaderboard_exchange, routing_key=LEADERBOARD_QUEUE, durable=True
)


class LeaderboardUpdateSchema(Schema):
    # a field this code does not know is ignored: during a rolling deploy a newer
    # publisher may add one, and its events must still be applied
    class Meta:
        unknown = EXCLUDE

    schema = fields.String(required=True, validate=validate.Equal(SCHEMA_NAME))
    version = fields.Integer(required=True, strict=True, validate=validate.Equal(UPDATE_VERSION))
    event_id = fields.UUID(required=True)
    quiz_id = fields.String(required=True, validate=validate.Length(min=1))
    participant_id = fields.Integer(required=True, strict=True)
    display_name = fields.String(required=True)
    total_score = fields.Integer(required=True, strict=True)
    answer_id = fields.Integer(required=True, strict=True)
    question_id = fields.Integer(required=True, strict=True)
    points = fields.Integer(required=True, strict=True)
    occurred_at = fields.AwareDateTime(required=True)
    epoch = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))
    correction_id = fields.Integer(load_default=None, allow_none=True, strict=True)


class LeaderboardBatchSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    schema = fields.String(required=True, validate=validate.Equal(SCHEMA_NAME))
    version = fields.Integer(required=True, strict=True, validate=validate.Equal(BATCH_VERSION))
    event_id = fields.UUID(required=True)
    updates = fields.List(
        fields.Nested(LeaderboardUpdateSchema), required=True, validate=validate.Length(min=1)
    )


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
    epoch: int = 0,
    correction_id: int | None = None,
) -> dict[str, Any]:
    """Build a version-1 event as the JSON-ready dict that goes on the wire."""
    event = {
        "schema": SCHEMA_NAME,
        "version": UPDATE_VERSION,
        "event_id": str(event_id or uuid.uuid4()),
        "quiz_id": quiz_code,
        "participant_id": participant_id,
        "display_name": display_name,
        "total_score": total_score,
        "answer_id": answer_id,
        "question_id": question_id,
        "points": points,
        "occurred_at": occurred_at.isoformat(),
        "epoch": epoch,
    }
    if correction_id is not None:
        event["correction_id"] = correction_id
    return event


def leaderboard_batch(updates: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A version-2 event carrying version-1 events: one message for a scored batch."""
    return {
        "schema": SCHEMA_NAME,
        "version": BATCH_VERSION,
        "event_id": str(uuid.uuid4()),
        "updates": list(updates),
    }


def validate_leaderboard_update(payload: dict[str, Any]) -> dict[str, Any]:
    """A version-1 event, loaded; marshmallow.ValidationError names what is wrong."""
    loaded: dict[str, Any] = LeaderboardUpdateSchema().load(payload)
    return loaded


def validate_leaderboard_event(payload: Any) -> list[dict[str, Any]]:
    """The updates of a version-1 or version-2 event, as sent (JSON form).

    :raises marshmallow.ValidationError: the event is of neither version, or malformed
    """
    if not isinstance(payload, dict):
        raise ValidationError("an event is a JSON object")
    version = payload.get("version")
    if version == UPDATE_VERSION:
        LeaderboardUpdateSchema().load(payload)
        return [payload]
    if version == BATCH_VERSION:
        LeaderboardBatchSchema().load(payload)
        return list(payload["updates"])
    raise ValidationError(f"unknown event version {version!r}", "version")


def publish(producer: Producer, event: dict[str, Any], **options: Any) -> None:
    """Send one event to `leaderboard.updates`, declaring the queue so none is dropped
    before a consumer exists. `options` go to kombu's Producer.publish (retry, headers…).

    On RabbitMQ it goes through the `leaderboard` exchange. On Redis it goes straight to
    the queue's list: kombu keeps a Redis exchange's bindings as Redis keys, which a
    FLUSHDB or a restart without persistence removes while every process still holds
    them declared (kombu remembers declarations in memory), and a publish through the
    exchange then lands nowhere, successfully.
    """
    straight_to_queue = producer.connection.transport.driver_type == "redis"
    producer.publish(
        event,
        # "": kombu's anonymous exchange, whose routing key is the queue's name
        exchange="" if straight_to_queue else leaderboard_exchange,
        routing_key=LEADERBOARD_QUEUE,
        declare=[leaderboard_queue],
        serializer="json",
        delivery_mode="persistent",
        **options,
    )
