"""Publishing leaderboard events to the broker's `leaderboard.updates` queue."""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from shared.celery import PUBLISH_CONFIRM_TIMEOUT_S
from shared.events import LEADERBOARD_EXCHANGE, LEADERBOARD_QUEUE
from shared.logging import correlation_headers

leaderboard_exchange = Exchange(LEADERBOARD_EXCHANGE, type="direct", durable=True)
leaderboard_queue = Queue(
    LEADERBOARD_QUEUE, leaderboard_exchange, routing_key=LEADERBOARD_QUEUE, durable=True
)

# give up quickly: an unpublished event stays in the outbox and the relay sends it later
PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}


def publish_leaderboard_update(app: Celery, event: dict[str, Any]) -> None:
    """Send one event, declaring the queue so no event is dropped before a consumer exists."""
    with app.producer_or_acquire() as producer:
        producer.publish(
            event,
            exchange=leaderboard_exchange,
            routing_key=LEADERBOARD_QUEUE,
            declare=[leaderboard_queue],
            serializer="json",
            delivery_mode="persistent",
            retry=True,
            retry_policy=PUBLISH_RETRY_POLICY,
            confirm_timeout=PUBLISH_CONFIRM_TIMEOUT_S,
            # the request id of the answer, for the consumer's logs (none from the relay)
            headers=correlation_headers(),
        )
