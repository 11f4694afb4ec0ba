"""The leaderboard event on the broker: versioned schema, values from PostgreSQL, outbox kept."""

from __future__ import annotations

import queue
from datetime import UTC, datetime
from typing import Any

import pytest
from kombu import Connection

from shared.db import make_session_factory
from shared.events import SCHEMA_NAME, SCHEMA_VERSION, validate_leaderboard_update
from shared.quiz.answers import score_accepted_answer
from tests.helpers import join, open_question, submit
from tests.integration.support import (
    create_quiz,
    rows,
    scalar,
    scoring_queue_depth,
    stored_answers,
    wait_all_scored,
    wait_until,
)
from worker.publisher import leaderboard_queue

pytestmark = pytest.mark.integration

EVENT_TIMEOUT_S = 30


def consume_events(broker_url: str, first_timeout: float = EVENT_TIMEOUT_S) -> list[dict[str, Any]]:
    """Take every event on `leaderboard.updates`, waiting up to `first_timeout` for the first."""
    events = []
    with Connection(broker_url) as conn:
        updates = conn.SimpleQueue(leaderboard_queue)
        try:
            timeout = first_timeout
            while True:
                try:
                    message = updates.get(timeout=timeout)
                except queue.Empty:
                    return events
                # consumers in any language read it as JSON
                assert message.content_type == "application/json"
                events.append(message.payload)
                message.ack()
                timeout = 0.5
        finally:
            updates.close()


def outbox_rows(engine):
    return rows(engine, "SELECT event_id, answer_id, payload, published_at FROM outbox_events")


def answer_right(client, name):
    code, [question] = create_quiz(client, [(2000, 30)])
    participant = join(client, code, name)
    open_question(client, code, question.question_id)
    response = submit(client, code, participant, question.question_id, question.right_choice)
    assert response.status_code == 202, response.json
    return code, participant


def test_scored_answer_publishes_a_versioned_event(client, celery_app, engine, start_worker):
    """The event a score publishes validates against schema v1 and says what PostgreSQL says."""
    start_worker()
    code, participant = answer_right(client, "Zoë")

    events = consume_events(celery_app.conf.broker_write_url)
    wait_all_scored(engine, expected_answers=1)
    assert len(events) == 1, events
    event = events[0]
    loaded = validate_leaderboard_update(event)
    assert (loaded["schema"], loaded["version"]) == (SCHEMA_NAME, SCHEMA_VERSION)

    [answer] = stored_answers(engine)
    pid = participant["participant_id"]
    [person] = rows(
        engine, "SELECT display_name, total_score FROM participants WHERE id = :id", id=pid
    )
    assert event["quiz_id"] == code
    assert event["participant_id"] == pid
    assert event["display_name"] == person.display_name == "Zoë"
    assert event["total_score"] == person.total_score == answer.points
    assert event["answer_id"] == answer.id
    assert event["question_id"] == answer.question_id
    assert event["points"] == answer.points > 0

    published = wait_until(
        lambda: [r for r in outbox_rows(engine) if r.published_at is not None],
        "the outbox event to be marked published",
    )
    [row] = published
    assert row.answer_id == answer.id
    assert str(row.event_id) == event["event_id"]
    assert row.payload == event


def test_outbox_relay_publishes_an_event_left_unpublished(
    client, celery_app, engine, redis_client, start_worker
):
    """A score committed without its publish (worker died) reaches the queue through the relay."""
    answer_right(client, "Ann")
    [answer] = stored_answers(engine)
    # score it the way the worker does, then "die" before publishing
    with make_session_factory(engine)() as session:
        outcome = score_accepted_answer(session, answer.id, datetime.now(UTC))
    assert outcome.event is not None
    celery_app.control.purge()
    assert scoring_queue_depth(celery_app) == 0
    [row] = outbox_rows(engine)
    assert row.published_at is None
    assert consume_events(celery_app.conf.broker_write_url, first_timeout=0.5) == []

    start_worker(beat=True, QUIZ_OUTBOX_RELAY_AFTER_S=0, QUIZ_OUTBOX_RELAY_INTERVAL_S=0.5)
    wait_until(
        lambda: scalar(engine, "SELECT count(*) FROM outbox_events WHERE published_at IS NOT NULL"),
        "the relay to mark the event published",
    )
    events = consume_events(celery_app.conf.broker_write_url)
    assert events, "the relay marked the event published but nothing is on the queue"
    # delivery is at least once: any copy on the queue is this very event
    assert all(event == row.payload for event in events)
    validate_leaderboard_update(events[0])
    total = scalar(engine, "SELECT total_score FROM participants")
    assert events[0]["total_score"] == total == outcome.event["total_score"]
