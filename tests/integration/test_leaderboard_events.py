"""The leaderboard event on the broker: versioned schema, values from PostgreSQL, outbox kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.db import make_session_factory
from shared.events import BATCH_VERSION, SCHEMA_NAME, validate_leaderboard_update
from shared.quiz.batch_scoring import score_accepted_answer
from tests.helpers import join, open_question, submit
from tests.integration.support import (
    create_quiz,
    rows,
    scalar,
    scoring_queue_depth,
    stored_answers,
    take_leaderboard_messages,
    wait_all_scored,
    wait_until,
)

pytestmark = pytest.mark.integration


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
    """A scored batch publishes one version-2 message; its update validates against version 1
    and says what PostgreSQL says."""
    start_worker()
    code, participant = answer_right(client, "Zoë")

    messages = take_leaderboard_messages(celery_app.conf.broker_write_url)
    wait_all_scored(engine, expected_answers=1)
    assert len(messages) == 1, messages
    assert (messages[0].payload["schema"], messages[0].payload["version"]) == (
        SCHEMA_NAME,
        BATCH_VERSION,
    )
    [event] = messages[0].updates
    validate_leaderboard_update(event)

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
    assert take_leaderboard_messages(celery_app.conf.broker_write_url, first_timeout=0.5) == []

    start_worker(beat=True, QUIZ_OUTBOX_RELAY_AFTER_S=0, QUIZ_OUTBOX_RELAY_INTERVAL_S=0.5)
    wait_until(
        lambda: scalar(engine, "SELECT count(*) FROM outbox_events WHERE published_at IS NOT NULL"),
        "the relay to mark the event published",
    )
    messages = take_leaderboard_messages(celery_app.conf.broker_write_url)
    assert messages, "the relay marked the event published but nothing is on the queue"
    # delivery is at least once: any copy on the queue carries this very event
    events = [update for message in messages for update in message.updates]
    assert all(event == row.payload for event in events)
    validate_leaderboard_update(events[0])
    total = scalar(engine, "SELECT total_score FROM participants")
    assert events[0]["total_score"] == total == outcome.event["total_score"]
