"""The only place web/ enqueues Celery tasks."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from amqp.exceptions import MessageNacked
from kombu.exceptions import OperationalError as BrokerError

from shared import logging as quiz_logging
from web.intake import Waiting
from worker.tasks.maintenance import publish_outbox_events
from worker.tasks.scoring import score_answer

log = logging.getLogger(__name__)

SEND_ERRORS = (BrokerError, ConnectionError, TimeoutError, MessageNacked)


@dataclass(frozen=True)
class Scoring:
    """What a scoring message carries: the answer, its participant, its task id."""

    answer_id: int
    participant_id: int
    task_id: str
    # travels in the message headers: the worker logs it with the task id
    request_id: str | None = None


def enqueue_scorings(scorings: Sequence[Scoring]) -> int:
    """Send one scoring task per answer, through one producer: on Redis kombu writes the
    messages in one pipeline, on RabbitMQ each waits for its confirm. Returns how many
    were sent; on a broker failure the answer rows wait for the re-enqueue job.

    The 202s do not depend on it: the accepted answers in PostgreSQL are the promise.
    """
    if not scorings:
        return 0
    sent = 0
    try:
        with score_answer.app.producer_or_acquire() as producer, producer.batch():
            for scoring in scorings:
                headers = {"request_id": scoring.request_id} if scoring.request_id else None
                score_answer.apply_async(
                    (scoring.answer_id, scoring.participant_id),
                    task_id=scoring.task_id,
                    headers=headers,
                    producer=producer,
                )
                sent += 1
    except SEND_ERRORS:
        log.warning(
            "submit.enqueue_failed",
            extra={"task_ids": [s.task_id for s in scorings]},
            exc_info=True,
        )
        return 0
    return sent


def enqueue_accepted(batch: Sequence[Waiting]) -> None:
    """The intake's sender: the scoring tasks of the answers one INSERT accepted."""
    enqueue_scorings(
        [
            Scoring(
                w.answer_id, w.received.submission.participant_id, w.received.task_id, w.request_id
            )
            for w in batch
            if w.answer_id is not None
        ]
    )


def enqueue_scoring(answer_id: int, participant_id: int, task_id: str) -> bool:
    """Send one answer's scoring task (the request's id in its headers); whether it went."""
    request_id = quiz_logging.current("request_id")
    return enqueue_scorings([Scoring(answer_id, participant_id, task_id, request_id)]) == 1


def enqueue_outbox_publish(outbox_ids: Sequence[int]) -> bool:
    """Ask a worker to publish these outbox events now; whether the message went. If not,
    the outbox relay publishes them within QUIZ_OUTBOX_RELAY_AFTER_S and its interval."""
    if not outbox_ids:
        return True
    try:
        publish_outbox_events.apply_async((list(outbox_ids),))
    except SEND_ERRORS:
        log.warning("dispatch.outbox_publish_not_sent", extra={"events": len(outbox_ids)})
        return False
    return True
