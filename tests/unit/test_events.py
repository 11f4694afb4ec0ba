"""The leaderboard events, versions 1 and 2: what consumers can rely on."""

from datetime import UTC, datetime

import pytest
from marshmallow import ValidationError

from shared.events import (
    SCHEMA_NAME,
    leaderboard_batch,
    leaderboard_update,
    validate_leaderboard_event,
    validate_leaderboard_update,
)


def event(**changes):
    payload = leaderboard_update(
        quiz_code="ABC234",
        participant_id=3,
        display_name="Ann",
        total_score=1967,
        answer_id=11,
        question_id=5,
        points=967,
        occurred_at=datetime(2026, 1, 1, 12, tzinfo=UTC),
    )
    payload.update(changes)
    return payload


def test_a_built_event_matches_its_schema():
    loaded = validate_leaderboard_update(event())
    assert loaded["total_score"] == 1967
    assert event()["schema"] == SCHEMA_NAME
    assert event()["version"] == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"version": 2},
        {"total_score": "1967"},
        {"occurred_at": "2026-01-01T12:00:00"},
        {"event_id": "not-a-uuid"},
    ],
)
def test_events_off_the_schema_are_refused(changes):
    with pytest.raises(ValidationError):
        validate_leaderboard_update(event(**changes))


def test_a_missing_field_is_refused():
    payload = event()
    del payload["display_name"]
    with pytest.raises(ValidationError):
        validate_leaderboard_update(payload)


def test_a_batch_carries_complete_version_1_events():
    updates = [event(), event(participant_id=4, answer_id=12)]
    batch = leaderboard_batch(updates)
    assert (batch["schema"], batch["version"]) == (SCHEMA_NAME, 2)
    assert validate_leaderboard_event(batch) == updates


def test_fields_an_event_does_not_know_are_ignored():
    # a newer publisher's extra field, in the batch and in an update, during a rolling deploy
    update = {**event(), "team": "blue"}
    batch = {**leaderboard_batch([update]), "region": "eu"}
    assert validate_leaderboard_event(batch) == [update]
    assert validate_leaderboard_event(update) == [update]
    assert "team" not in validate_leaderboard_update(update)


def test_a_version_1_event_is_read_as_one_update():
    single = event()
    assert validate_leaderboard_event(single) == [single]


@pytest.mark.parametrize(
    "payload",
    [
        leaderboard_batch([]),
        {**leaderboard_batch([event()]), "version": 3},
        leaderboard_batch([{**event(), "total_score": "1967"}]),
        leaderboard_batch([{**event(), "version": 2}]),
        [event()],
        "not an event",
    ],
)
def test_batches_off_the_schema_are_refused(payload):
    with pytest.raises(ValidationError):
        validate_leaderboard_event(payload)
