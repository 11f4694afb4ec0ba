"""Publishing leaderboard events to the broker's `leaderboard.updates` queue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery import Celery

from shared import events
from shared.celery import PUBLISH_CONFIRM_TIMEOUT_S
from shared.events import leaderboard_exchange, leaderboard_queue

# the consumer and the tests name the queue through this module too
__all__ = ["leaderboard_exchange", "leaderboard_queue", "publish_leaderboard_updates"]

# give up quickly: an unpublished event stays in the outbox and the relay sends it later
PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}


def publish_leaderboard_updates(
    app: Celery,
    updates: Sequence[dict[str, Any]],
    request_ids: Sequence[str | None] | None = None,
) -> None:
    """Send version-1 events as one version-2 message (a scored batch, or the relay's).

    `request_ids`, one per update, ride in the message headers for the consumer's logs
    (`request_id` too when they are all one); none come from the relay.
    """
    headers: dict[str, Any] = {}
    if request_ids is not None:
        headers["request_ids"] = list(request_ids)
        distinct = set(request_ids)
        if len(distinct) == 1 and None not in distinct:
            headers["request_id"] = request_ids[0]
    with app.producer_or_acquire() as producer:
        events.publish(
            producer,
            events.leaderboard_batch(updates),
            retry=True,
            retry_policy=PUBLISH_RETRY_POLICY,
            confirm_timeout=PUBLISH_CONFIRM_TIMEOUT_S,
            headers=headers,
        )
