"""score_answer: score one accepted answer exactly once, then tell the leaderboard."""

from __future__ import annotations

import logging
import random

from celery import shared_task
from redis.exceptions import LockError

from shared import redis_keys, task_names
from shared.celery import TASK_MAX_RETRIES, TASK_RETRY_BACKOFF_MAX_S
from shared.quiz import answers
from shared.quiz.outbox import mark_published
from shared.quiz.task_status import save_task_status
from worker.base import TRANSIENT_ERRORS, QuizTask, utcnow
from worker.publisher import publish_leaderboard_update

log = logging.getLogger(__name__)

# the lock only saves duplicate work; PostgreSQL's row lock is what keeps scoring exact
LOCK_TIMEOUT_S = 30
LOCK_WAIT_S = 2
DELIVERIES_TTL_S = 24 * 3600


@shared_task(
    bind=True,
    base=QuizTask,
    name=task_names.SCORE_ANSWER,
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=TASK_RETRY_BACKOFF_MAX_S,
    retry_jitter=True,
    max_retries=TASK_MAX_RETRIES,
)
def score_answer(self: QuizTask, answer_id: int, participant_id: int) -> None:
    """Score the answer under the participant's lock, commit, then publish the event."""
    resources = self.resources
    settings = resources.settings
    client = resources.redis
    deliveries_key = redis_keys.answer_deliveries(answer_id)
    # counts runs that never finished (a killed worker): poison answers are set aside
    deliveries = client.incr(deliveries_key)
    client.expire(deliveries_key, DELIVERIES_TTL_S)
    try:
        if deliveries > settings.max_delivery_attempts:
            log.error("score_answer.too_many_attempts answer_id=%s", answer_id)
            with resources.session_factory() as session:
                status = answers.reject_answer_by_id(
                    session, answer_id, "too_many_attempts", utcnow()
                )
            save_task_status(client, status, settings.task_status_ttl_s)
            return
        lock = client.lock(
            redis_keys.participant_score_lock(participant_id),
            timeout=LOCK_TIMEOUT_S,
            blocking_timeout=LOCK_WAIT_S,
        )
        if not lock.acquire():
            log.info("score_answer.lock_contended answer_id=%s", answer_id)
            raise self.retry(countdown=random.uniform(0.1, 1.0) * (2**self.request.retries))
        try:
            with resources.session_factory() as session:
                outcome = answers.score_accepted_answer(session, answer_id, utcnow())
        finally:
            try:
                lock.release()
            except LockError:
                # the lock expired while we worked; the row lock kept the scoring exact
                log.warning("score_answer.lock_expired answer_id=%s", answer_id)
        save_task_status(client, outcome.status, settings.task_status_ttl_s)
        if outcome.event is not None and outcome.outbox_id is not None:
            publish_scored_event(self, outcome.event, outcome.outbox_id)
    finally:
        client.decr(deliveries_key)


def publish_scored_event(task: QuizTask, event: dict, outbox_id: int) -> None:
    """Publish right after the commit; on failure the outbox relay publishes it later."""
    try:
        publish_leaderboard_update(task.app, event)
    except Exception:
        log.warning("score_answer.publish_failed outbox_id=%s", outbox_id, exc_info=True)
        return
    with task.resources.engine.begin() as conn:
        mark_published(conn, [outbox_id], utcnow())
