"""The leaderboard consumer: applies `leaderboard.updates` events to the Redis boards.

Its own process (`python -m worker.leaderboard`), next to the Celery workers, reading the
queue from the broker in CELERY_BROKER_URL (Redis, or RabbitMQ when it is amqp://). Each
event is applied as an absolute total (`ZADD … GT`), so a repeated or late event changes
nothing, and acknowledged only once applied: a crash before the ack means a redelivery,
which is harmless. kombu's ConsumerMixin reconnects by itself when the broker restarts.

After applying, it tells the web processes over Redis pub/sub that the quiz's board
changed, at most a few times a second per quiz however fast events arrive; they read
the board and stream it to their clients.
"""

from __future__ import annotations

import argparse
import logging
import signal
import time
from typing import Any

from kombu import Connection, Message
from kombu.mixins import ConsumerMixin
from marshmallow import ValidationError

from shared import live_notices
from shared import logging as quiz_logging
from shared.config import Settings
from shared.errors import TRANSIENT_ERRORS
from shared.events import validate_leaderboard_event
from shared.leaderboard.ranking import Throttle
from shared.leaderboard.service import Applied, apply_updates
from shared.resources import Resources
from worker.publisher import leaderboard_queue

log = logging.getLogger("worker.leaderboard")

# at most one "board changed" notice per quiz this often
NOTICE_INTERVAL_S = 0.1
# how often the loop wakes up without messages, to send the notices that are due
TICK_S = 0.05
# events taken from the broker ahead of the one being applied
PREFETCH = 64
# Redis transport: an event a consumer took and never acknowledged (it died holding it)
# goes back to the queue once it is this old, so a board it left wrong heals within
# seconds. Applying is idempotent, so an event that comes back while a slow consumer
# still holds it costs a second apply, nothing more. Its own unacked keys keep this
# short timeout away from the Celery workers' messages.
VISIBILITY_TIMEOUT_S = 10
REDIS_TRANSPORT_OPTIONS = {
    "visibility_timeout": VISIBILITY_TIMEOUT_S,
    "unacked_key": "leaderboard.unacked",
    "unacked_index_key": "leaderboard.unacked_index",
    "unacked_mutex_key": "leaderboard.unacked_mutex",
    # the lock of a sweep for such events: one that dies holding it blocks sweeps no longer
    "unacked_mutex_expire": VISIBILITY_TIMEOUT_S,
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
}
# a backing service that fails: wait before the event is tried again
RETRY_DELAYS_S = (0.1, 0.5, 1.0, 2.0, 5.0)


def broker_connection(settings: Settings) -> Connection:
    """A kombu connection to the Celery broker, retrying forever when it is down."""
    url = settings.celery_broker_url
    options = {} if url.startswith(("amqp://", "pyamqp://")) else REDIS_TRANSPORT_OPTIONS
    return Connection(url, transport_options=options, heartbeat=10)


class LeaderboardConsumer(ConsumerMixin):
    """Apply each event, ack it, and send coalesced change notices."""

    # reconnect forever: the consumer has nothing better to do while the broker is down
    connect_max_retries = None

    def __init__(self, connection: Connection, resources: Resources) -> None:
        self.connection = connection
        self.resources = resources
        self.throttle = Throttle(NOTICE_INTERVAL_S)
        self.failures = 0
        self.applied = 0

    def get_consumers(self, Consumer: Any, channel: Any) -> list[Any]:  # noqa: N803 (kombu's name)
        return [
            Consumer(
                queues=[leaderboard_queue],
                callbacks=[self.on_message],
                accept=["json"],
                prefetch_count=PREFETCH,
            )
        ]

    def on_consume_ready(self, connection: Any, channel: Any, consumers: Any, **_: Any) -> None:
        log.info("leaderboard_consumer.ready", extra={"broker": connection.as_uri()})

    def on_connection_error(self, exc: Exception, interval: float) -> None:
        log.warning(
            "leaderboard_consumer.broker_unreachable", extra={"retry_in": interval, "error": exc}
        )

    def on_message(self, body: Any, message: Message) -> None:
        # the request ids the scorer passed along: one grep follows an answer to the board
        headers = message.headers or {}
        with quiz_logging.bound(request_id=headers.get("request_id")):
            self.handle(body, message)

    def handle(self, body: Any, message: Message) -> None:
        try:
            updates = validate_leaderboard_event(body)
        except (ValidationError, TypeError) as exc:
            # a malformed event can never be applied: drop it rather than loop on it
            log.error("leaderboard_consumer.invalid_event", extra={"errors": exc})
            message.reject()
            return
        try:
            applied = apply_updates(self.resources.redis, self.resources.session_factory, updates)
        except TRANSIENT_ERRORS as exc:
            delay = RETRY_DELAYS_S[min(self.failures, len(RETRY_DELAYS_S) - 1)]
            self.failures += 1
            log.warning(
                "leaderboard_consumer.apply_failed",
                extra={"event_id": body.get("event_id"), "retry_in": delay, "error": exc},
            )
            time.sleep(delay)
            message.requeue()
            return
        self.failures = 0
        message.ack()
        self.applied += len(updates)
        for code in sorted(applied.unknown):
            log.warning("leaderboard_consumer.unknown_quiz", extra={"quiz": code})
        self.log_applied(updates, (message.headers or {}).get("request_ids"), applied)
        now = time.monotonic()
        for code in sorted(applied.changed):
            if self.throttle.offer(code, now):
                self.notify(code)

    def log_applied(
        self, updates: list[dict[str, Any]], request_ids: Any, applied: Applied
    ) -> None:
        """One line per message: its answers, and the request ids the scorer sent with them
        (so `grep <request id>` finds the line that put that answer on the board)."""
        if not isinstance(request_ids, list) or len(request_ids) != len(updates):
            request_ids = []
        log.info(
            "leaderboard_consumer.applied",
            extra={
                "updates": len(updates),
                "answer_ids": [update["answer_id"] for update in updates],
                "request_ids": request_ids,
                "changed": sorted(applied.changed),
            },
        )

    def on_iteration(self) -> None:
        for code in self.throttle.due(time.monotonic()):
            self.notify(code)

    def notify(self, quiz_code: str) -> None:
        try:
            live_notices.publish(self.resources.redis, quiz_code)
        except TRANSIENT_ERRORS as exc:
            # live clients get the change with the next notice or on reconnect
            log.warning(
                "leaderboard_consumer.notice_failed", extra={"quiz": quiz_code, "error": exc}
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m worker.leaderboard", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--loglevel", default="INFO")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    quiz_logging.configure_logging("leaderboard", args.loglevel.upper())
    resources = Resources(settings)
    consumer = LeaderboardConsumer(broker_connection(settings), resources)

    def stop(signum: int, _frame: Any) -> None:
        log.info("leaderboard_consumer.stopping", extra={"signal": signum})
        consumer.should_stop = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("leaderboard_consumer.starting")
    try:
        consumer.run(safety_interval=TICK_S)
    finally:
        resources.close()
        consumer.connection.release()
    log.info("leaderboard_consumer.stopped", extra={"applied": consumer.applied})
    return 0
