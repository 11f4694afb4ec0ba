"""score_answer: score one accepted answer exactly once, then tell the leaderboard."""

from __future__ import annotations

import logging
import random

from celery import shared_task
from sqlalchemy.orm import Session

from shared import redis_keys, task_names
from shared.celery import TASK_MAX_RETRIES, TASK_RETRY_BACKOFF_MAX_S
from shared.quiz import answers
from shared.quiz.outbox import mark_published
from shared.quiz.task_status import TaskStatus, save_task_status
from worker.base import TRANSIENT_ERRORS, QuizTask, utcnow
from worker.locks import LockBusy, participant_score_lock
from worker.publisher import publish_leaderboard_update

log = logging.getLogger(__name__)

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
    try:
        with participant_score_lock(resources.redis, participant_id):
            score_counting_deliveries(self, answer_id)
    except LockBusy:
        log.info("score_answer.lock_contended answer_id=%s", answer_id)
        raise self.retry(countdown=random.uniform(0.1, 1.0) * (2**self.request.retries)) from None


def score_counting_deliveries(task: QuizTask, answer_id: int) -> None:
    """Score, counting runs that never finish: a poison answer is set aside, not retried forever.

    Counted under the lock, so copies waiting for it are not taken for failed runs; only a
    run killed while scoring leaves the count raised.
    """
    settings = task.resources.settings
    client = task.resources.redis
    deliveries_key = redis_keys.answer_deliveries(answer_id)
    deliveries, _ = (
        client.pipeline(transaction=False)
        .incr(deliveries_key)
        .expire(deliveries_key, DELIVERIES_TTL_S)
        .execute()
    )
    status: TaskStatus | None = None
    try:
        with task.resources.session_factory() as session:
            if deliveries > settings.max_delivery_attempts:
                log.error("score_answer.too_many_attempts answer_id=%s", answer_id)
                outcome = answers.reject_answer(session, answer_id, "too_many_attempts", utcnow())
            else:
                outcome = answers.score_accepted_answer(session, answer_id, utcnow())
                publish_scored_event(task, session, outcome)
            status = outcome.status
    finally:
        # one round trip: the result for pollers, and this run counted as finished
        pipe = client.pipeline(transaction=False)
        if status is not None:
            save_task_status(pipe, status, settings.task_status_ttl_s)
        pipe.decr(deliveries_key).execute()


def publish_scored_event(task: QuizTask, session: Session, outcome: answers.ScoringOutcome) -> None:
    """Publish right after the commit; on failure the outbox relay publishes it later."""
    if outcome.event is None or outcome.outbox_id is None:
        return
    try:
        publish_leaderboard_update(task.app, outcome.event)
    except Exception:
        log.warning("score_answer.publish_failed outbox_id=%s", outcome.outbox_id, exc_info=True)
        return
    mark_published(session, [outcome.outbox_id], utcnow())
    session.commit()
