"""The Celery broker of a test: RabbitMQ in the RabbitMQ pass, else the test's Redis DB.

`make test-rabbitmq` (scripts/rabbitmq_pass.py) runs tests/integration with
TEST_BROKER_URL=amqp://… on a virtual host of that run's own. A test's broker must start
empty, as its Redis DB does (flushed before each test): broker_url_for_test() empties the
queues the project declares before handing the URL out.

tests/conftest.py's `settings` fixture asks broker_url_for_test() for its broker, so every
test follows the pass. A developer's own CELERY_BROKER_URL never reaches the tests.
"""

from __future__ import annotations

import os

from kombu import Connection

from shared import task_names
from shared.events import LEADERBOARD_QUEUE

AMQP_SCHEMES = ("amqp://", "pyamqp://")
PROJECT_QUEUES = (task_names.SCORING_QUEUE, LEADERBOARD_QUEUE)


def amqp_broker_url() -> str | None:
    """TEST_BROKER_URL when it names RabbitMQ (set by the RabbitMQ pass), else None."""
    url = os.environ.get("TEST_BROKER_URL", "")
    return url if url.startswith(AMQP_SCHEMES) else None


def purge_queues(url: str, queues: tuple[str, ...] = PROJECT_QUEUES) -> None:
    """Drop every message left in the project's queues (a queue not declared yet is fine)."""
    with Connection(url, connect_timeout=5) as conn:
        for queue in queues:
            channel = conn.channel()
            try:
                channel.queue_purge(queue)
            except conn.channel_errors:
                pass  # 404 NOT_FOUND closes the channel, not the connection
            finally:
                try:
                    channel.close()
                except conn.channel_errors + conn.connection_errors:
                    pass


def broker_url_for_test(redis_url: str) -> str:
    """The broker a test's settings should name: RabbitMQ, emptied, in the RabbitMQ pass."""
    amqp = amqp_broker_url()
    if amqp is None:
        return redis_url
    purge_queues(amqp)
    return amqp
