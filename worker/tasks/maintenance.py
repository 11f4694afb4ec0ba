"""Beat jobs that keep the promises of a 202: lost tasks re-sent, stranded events
published, boards that drifted from PostgreSQL repaired, old quizzes deleted."""

from __future__ import annotations

import logging

from celery import Celery, shared_task

from shared import task_names
from shared.leaderboard import reconcile
from shared.quiz import maintenance, privacy
from shared.quiz.outbox import lock_unpublished, mark_published
from worker.base import QuizTask, utcnow
from worker.publisher import publish_leaderboard_updates
from worker.tasks.scoring import score_answer

log = logging.getLogger(__name__)

BATCH_SIZE = 500
# outbox events the relay sends in one message (a version-2 event)
RELAY_MESSAGE_SIZE = 100


@shared_task(bind=True, base=QuizTask, name=task_names.REQUEUE_STALE_ANSWERS)
def requeue_stale_answers(self: QuizTask, limit: int = BATCH_SIZE) -> int:
    """Send again the answers still accepted well after their task was sent.

    A task message can be lost (broker flushed, publish failed after the INSERT); the
    answer row is the promise, so its task is re-sent with the same task id. While the
    scoring queue still holds messages, an old answer may simply be waiting its turn behind a
    burst, so nothing is re-sent until the queue has drained.
    """
    settings = self.resources.settings
    waiting = scoring_queue_depth(self.app)
    if waiting:
        log.info("requeue_stale_answers.backlog", extra={"waiting": waiting})
        return 0
    with self.resources.engine.begin() as conn:
        stale = maintenance.claim_stale_answers(conn, utcnow(), settings.requeue_after_s, limit)
    for answer in stale:
        score_answer.apply_async((answer.answer_id, answer.participant_id), task_id=answer.task_id)
    if stale:
        log.warning("requeue_stale_answers.requeued", extra={"count": len(stale)})
    return len(stale)


def scoring_queue_depth(app: Celery) -> int:
    """Messages ready in the `scoring` queue, asked of the broker (Redis or RabbitMQ)."""
    with app.connection_for_write() as conn:
        try:
            declared = conn.default_channel.queue_declare(
                queue=task_names.SCORING_QUEUE, passive=True
            )
        except conn.channel_errors:
            return 0  # never declared, or (Redis) no list left: nothing is waiting
        return int(declared.message_count)


@shared_task(bind=True, base=QuizTask, name=task_names.RELAY_OUTBOX)
def relay_outbox(self: QuizTask, limit: int = BATCH_SIZE) -> int:
    """Publish outbox events left unpublished (broker down, worker killed after commit)."""
    published = _publish_unpublished(self, limit)
    if published:
        log.warning("relay_outbox.published", extra={"count": published})
    return published


@shared_task(bind=True, base=QuizTask, name=task_names.PUBLISH_OUTBOX_EVENTS)
def publish_outbox_events(self: QuizTask, outbox_ids: list[int]) -> int:
    """Publish the events a score correction wrote, now rather than at the relay's next
    sweep; if this fails (or never runs) the relay publishes them."""
    return _publish_unpublished(self, max(len(outbox_ids), 1), only_ids=outbox_ids)


def _publish_unpublished(task: QuizTask, limit: int, only_ids: list[int] | None = None) -> int:
    settings = task.resources.settings
    published: list[int] = []
    with task.resources.engine.begin() as conn:
        pending = lock_unpublished(
            conn, utcnow(), settings.outbox_relay_after_s, limit, only_ids=only_ids
        )
        for start in range(0, len(pending), RELAY_MESSAGE_SIZE):
            chunk = pending[start : start + RELAY_MESSAGE_SIZE]
            try:
                publish_leaderboard_updates(task.app, [event.payload for event in chunk])
            except Exception:
                log.warning(
                    "relay_outbox.publish_failed",
                    extra={"outbox_id": chunk[0].outbox_id},
                    exc_info=True,
                )
                break
            published.extend(event.outbox_id for event in chunk)
        mark_published(conn, published, utcnow())
    return len(published)


@shared_task(bind=True, base=QuizTask, name=task_names.FORGET_IDEMPOTENCY_KEYS)
def forget_idempotency_keys(self: QuizTask) -> int:
    """Free Idempotency-Keys past their retention (QUIZ_IDEMPOTENCY_TTL_S)."""
    settings = self.resources.settings
    with self.resources.engine.begin() as conn:
        return maintenance.forget_idempotency_keys(conn, utcnow(), settings.idempotency_ttl_s)


@shared_task(bind=True, base=QuizTask, name=task_names.RECONCILE_BOARDS)
def reconcile_boards(self: QuizTask) -> int:
    """Compare each live quiz's Redis board with PostgreSQL and repair what differs."""
    resources = self.resources
    with resources.session_factory() as session:
        repaired = reconcile.reconcile_all(session, resources.redis, utcnow())
    if repaired:
        log.warning("reconcile_boards.repaired", extra={"repairs": repaired})
    return sum(repaired.values())


@shared_task(bind=True, base=QuizTask, name=task_names.DELETE_OLD_QUIZZES)
def delete_old_quizzes(self: QuizTask) -> int:
    """Hourly: delete finished quizzes older than QUIZ_RETENTION_DAYS, in bounded batches."""
    resources = self.resources
    with resources.session_factory() as session:
        deleted = privacy.delete_old_quizzes(
            session, resources.redis, utcnow(), resources.settings.retention_days
        )
    return len(deleted)
