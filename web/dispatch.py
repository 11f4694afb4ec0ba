"""The only place web/ enqueues Celery tasks."""

from __future__ import annotations

import logging

from amqp.exceptions import MessageNacked
from kombu.exceptions import OperationalError as BrokerError

from shared import logging as quiz_logging
from worker.tasks.scoring import score_answer

log = logging.getLogger(__name__)


def enqueue_scoring(answer_id: int, participant_id: int, task_id: str) -> bool:
    """Send the scoring task; on a broker failure the answer row waits for the re-enqueue job.

    Returns whether the message was sent. The 202 does not depend on it: the accepted
    answer in PostgreSQL is the promise.
    """
    try:
        # the request id travels in the message headers: the worker logs it with the task id
        request_id = quiz_logging.current("request_id")
        headers = {"request_id": request_id} if request_id else None
        score_answer.apply_async((answer_id, participant_id), task_id=task_id, headers=headers)
    except (BrokerError, ConnectionError, TimeoutError, MessageNacked):
        log.warning(
            "submit.enqueue_failed answer_id=%s task_id=%s", answer_id, task_id, exc_info=True
        )
        return False
    return True
