"""score_answer: score accepted answers exactly once, in batches, then tell the leaderboard.

Each answer keeps its own message and task id (web/dispatch.py sends one per answer);
celery-batches hands the worker's pool many of them at once. One batch run:
1. takes the Redis locks of all its participants in one round trip (sorted, SET NX):
   answers of a participant another run is scoring are sent again a moment later;
2. counts a delivery of each answer it will score (a run killed mid-batch leaves its
   counts raised: an answer whose runs keep dying is set aside, never retried forever);
3. scores every answer in one PostgreSQL transaction (shared/quiz/batch_scoring.py);
4. in one Redis round trip, saves each task's status for pollers, counts the runs as
   finished and releases the locks; then publishes one leaderboard message for the batch
   and marks its outbox rows published in one statement.

celery-batches acknowledges every message of a batch once the run returns, so the run
settles each request itself: scored, reported, or sent again. If the pool process dies
instead, nothing was acknowledged: the messages go back to the queue, and an answer that
was in a run that died is then scored on its own transaction, so one poison answer can
only ever take itself down.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from celery import shared_task
from celery_batches import Batches, SimpleRequest
from celery_batches.trace import apply_batches_task
from kombu.exceptions import OperationalError as BrokerError

from shared import logging as quiz_logging
from shared import redis_keys, task_names
from shared.celery import TASK_MAX_RETRIES, TASK_RETRY_BACKOFF_MAX_S
from shared.errors import NotFound
from shared.monitoring import task_transaction
from shared.quiz import batch_scoring
from shared.quiz.outbox import mark_published
from shared.quiz.task_status import save_task_status
from worker.acks import acknowledge
from worker.base import TRANSIENT_ERRORS, QuizTask, utcnow
from worker.locks import LOCK_TIMEOUT_S, ParticipantLocks
from worker.publisher import publish_leaderboard_updates

log = logging.getLogger(__name__)

DELIVERIES_TTL_S = 24 * 3600
# the longest wait between tries of a busy lock; the retries outlast a lock left behind
LOCK_RETRY_MAX_S = LOCK_TIMEOUT_S / 2
REQUEST_ID_HEADER = "request_id"


class BatchTask(QuizTask, Batches):
    """A Batches task whose messages go back to the queue when its pool process dies."""

    abstract = True
    # sizes come from the settings when the worker's app is made (worker/celery.py)
    flush_every = 100
    flush_interval = 0.05
    # celery-batches' handle of its flush timer
    _tref: Any

    def Strategy(self, task: Any, app: Any, consumer: Any) -> Any:
        # The consumer makes its strategies again each time it (re)connects to the broker,
        # after Celery (5.6) cleared the event loop's timers on the connection error: the
        # flush timer celery-batches armed is gone, yet its handle would keep it from
        # arming another, and a batch short of `flush_every` would wait for more messages
        # forever. Forget it: the next message arms a new one.
        if self._tref is not None:
            self._tref.cancel()
            self._tref = None
        return super().Strategy(task, app, consumer)

    def flush(self, requests: Sequence[Any]) -> Any:
        # celery-batches' own flush, with the batch's messages acknowledged together
        # (worker/acks.py), and an error callback: its pool call acknowledges on return
        # only, and a process killed mid-batch (signal, out of memory, hard time limit)
        # returns nothing, which would leave the messages unacknowledged until the worker
        # stops
        serializable = ([SimpleRequest.from_request(r) for r in requests],)

        def on_return(_result: Any) -> None:
            acknowledge(requests)

        def on_lost(_exc: Any) -> None:
            log.error("score_answer.batch_lost", extra={"size": len(requests)})
            for request in requests:
                request.reject(requeue=True)

        return self._pool.apply_async(
            apply_batches_task,
            (self, serializable, 0, None),
            callback=on_return,
            error_callback=on_lost,
        )

    def apply(self, args: Any = None, kwargs: Any = None, *more: Any, **options: Any) -> Any:
        """Run eagerly as a batch of one, keeping the message headers (request id)."""
        request = SimpleRequest(
            id=options.get("task_id") or str(uuid.uuid4()),
            name=self.name,
            args=args or (),
            kwargs=kwargs or {},
            delivery_info={"is_eager": True},
            hostname="eager",
            ignore_result=True,
            reply_to=None,
            correlation_id=None,
            request_dict=dict(options.get("headers") or {}),
        )
        return super(Batches, self).apply(([request],), {}, *more, **options)


@dataclass(frozen=True)
class ScoringRequest:
    """One message of a batch: which answer, for whom, and how often it was retried."""

    task_id: str
    answer_id: int
    participant_id: int
    retries: int
    request_id: str | None

    @classmethod
    def of(cls, request: SimpleRequest) -> ScoringRequest:
        answer_id, participant_id = request.args[:2]
        headers = request.request_dict or {}
        request_id = headers.get(REQUEST_ID_HEADER)
        return cls(
            task_id=request.id,
            answer_id=int(answer_id),
            participant_id=int(participant_id),
            retries=int(headers.get("retries") or 0),
            request_id=request_id if isinstance(request_id, str) else None,
        )


@shared_task(
    bind=True,
    base=BatchTask,
    name=task_names.SCORE_ANSWER,
    acks_late=True,
)
def score_answer(self: BatchTask, requests: list[SimpleRequest]) -> None:
    """Score a batch of answers: locks, one transaction, statuses, one event."""
    batch = [ScoringRequest.of(r) for r in requests]
    with task_transaction(task_names.SCORE_ANSWER):
        unknown = score_batch(self, batch)
    if unknown:
        # nothing to score: said once per batch (the messages are acknowledged all the same)
        raise NotFound(f"no answer has the ids {sorted(unknown)}")


def score_batch(task: BatchTask, batch: Sequence[ScoringRequest]) -> set[int]:
    """Settle every request of the batch; return the answer ids that do not exist."""
    locks = ParticipantLocks(task.resources.redis)
    unknown: set[int] = set()
    done: set[int] = set()
    busy: list[ScoringRequest] = []
    # answers whose run is counted (count_deliveries) and not yet counted as finished
    counted: set[int] = set()
    try:
        held = locks.acquire(r.participant_id for r in batch)
        busy = [r for r in batch if r.participant_id not in held]
        mine = [r for r in batch if r.participant_id in held]
        deliveries = count_deliveries(task, mine)
        counted |= set(deliveries)
        fresh = [r for r in mine if deliveries[r.answer_id] == 1]
        # answers of a run that died: each scored in a transaction of its own, counted
        # again just before it, so an answer that kills its run is the only one counted
        suspects: dict[int, list[ScoringRequest]] = {}
        for request in mine:
            if deliveries[request.answer_id] > 1:
                suspects.setdefault(request.answer_id, []).append(request)
        uncount_deliveries(task, suspects)
        counted -= set(suspects)
        if fresh:
            unknown |= score_group(task, fresh, deliveries, counted)
            done |= {r.answer_id for r in fresh}
        for answer_id, group in suspects.items():
            counts = count_deliveries(task, group)
            counted.add(answer_id)
            unknown |= score_group(task, group, counts, counted)
            done.add(answer_id)
    except TRANSIENT_ERRORS as exc:
        log.warning("score_answer.batch_failed", extra={"size": len(batch), "error": str(exc)})
        # this run did not die, it failed on a service: it must not count toward setting
        # its answers aside, or a PostgreSQL outage of a few retries rejects good answers
        uncount_failed_run(task, counted)
        waiting = [r for r in batch if r.answer_id not in done and r not in busy]
        send_again(task, waiting, backoff=True)
    finally:
        release(locks)
    if busy:
        log.info("score_answer.lock_contended", extra={"count": len(busy)})
        send_again(task, busy, backoff=False)
    return unknown


def release(locks: ParticipantLocks) -> None:
    try:
        locks.release()
    except TRANSIENT_ERRORS:
        # they expire by themselves; the row locks kept the scoring exact meanwhile
        log.warning("score_answer.locks_not_released")


def count_deliveries(task: BatchTask, batch: Sequence[ScoringRequest]) -> dict[int, int]:
    """Count a run of each answer, under its participant's lock; each answer's count."""
    answer_ids = sorted({r.answer_id for r in batch})
    if not answer_ids:
        return {}
    pipe = task.resources.redis.pipeline(transaction=False)
    for answer_id in answer_ids:
        key = redis_keys.answer_deliveries(answer_id)
        pipe.incr(key)
        pipe.expire(key, DELIVERIES_TTL_S)
    replies = pipe.execute()
    return dict(zip(answer_ids, replies[0::2], strict=True))


def uncount_deliveries(task: BatchTask, answer_ids: Iterable[int]) -> None:
    answer_ids = sorted(answer_ids)
    if not answer_ids:
        return
    pipe = task.resources.redis.pipeline(transaction=False)
    for answer_id in answer_ids:
        pipe.decr(redis_keys.answer_deliveries(answer_id))
    pipe.execute()


def uncount_failed_run(task: BatchTask, answer_ids: set[int]) -> None:
    try:
        uncount_deliveries(task, answer_ids)
    except TRANSIENT_ERRORS:
        # Redis is the service failing: the counts stay raised (they expire in a day)
        log.warning("score_answer.deliveries_not_uncounted", extra={"count": len(answer_ids)})


def score_group(
    task: BatchTask,
    group: Sequence[ScoringRequest],
    deliveries: dict[int, int],
    counted: set[int],
) -> set[int]:
    """One transaction for `group`, whose runs `deliveries` counted; statuses, one event.

    Its answers leave `counted` once their runs are counted as finished. Returns the
    answer ids of the group that do not exist.
    """
    settings = task.resources.settings
    answer_ids = sorted({r.answer_id for r in group})
    set_aside = {a for a in answer_ids if deliveries[a] > settings.max_delivery_attempts}
    for answer_id in set_aside:
        log.error("score_answer.too_many_attempts", extra={"answer_id": answer_id})
    with task.resources.engine.connect() as conn:
        outcome = batch_scoring.score_answers(conn, answer_ids, utcnow(), set_aside=set_aside)
        conn.commit()
    # one round trip: the results for pollers, and these runs counted as finished
    pipe = task.resources.redis.pipeline(transaction=False)
    for status in outcome.statuses.values():
        save_task_status(pipe, status, settings.task_status_ttl_s)
    for answer_id in answer_ids:
        pipe.decr(redis_keys.answer_deliveries(answer_id))
    pipe.execute()
    counted.difference_update(answer_ids)
    report(group, outcome)
    publish(task, group, outcome)
    return set(answer_ids) - set(outcome.statuses)


def report(group: Sequence[ScoringRequest], outcome: batch_scoring.BatchOutcome) -> None:
    """One log line per request, with its task and request ids: one grep follows an answer."""
    for request in group:
        status = outcome.statuses.get(request.answer_id)
        with quiz_logging.bound(
            task_id=request.task_id,
            task_name=task_names.SCORE_ANSWER,
            request_id=request.request_id,
        ):
            if status is None:
                # reported once for the batch: score_answer raises NotFound after it
                log.warning("score_answer.unknown_answer", extra={"answer_id": request.answer_id})
            else:
                log.info(
                    "score_answer.settled",
                    extra={"answer_id": request.answer_id, "state": status.state.value},
                )


def publish(task: BatchTask, group: Sequence[ScoringRequest], outcome: Any) -> None:
    """One message for the batch's events; on failure the outbox relay publishes them."""
    if not outcome.events:
        return
    request_ids = {r.answer_id: r.request_id for r in group}
    try:
        publish_leaderboard_updates(
            task.app,
            outcome.events,
            [request_ids.get(event["answer_id"]) for event in outcome.events],
        )
    except Exception:
        log.warning(
            "score_answer.publish_failed", extra={"outbox_ids": outcome.outbox_ids}, exc_info=True
        )
        return
    with task.resources.engine.begin() as conn:
        mark_published(conn, outcome.outbox_ids, utcnow())


def send_again(task: BatchTask, batch: Sequence[ScoringRequest], *, backoff: bool) -> None:
    """Send requests again under their task ids, later: a busy lock or a failing service.

    Past TASK_MAX_RETRIES a request is dropped; its answer is still accepted in
    PostgreSQL, and beat's re-enqueue job sends it again once the queue has drained.
    """
    for request in batch:
        if request.retries >= TASK_MAX_RETRIES:
            log.error("score_answer.gave_up", extra={"answer_id": request.answer_id})
            continue
        if backoff:
            # a service is failing: 1 s, 2 s, 4 s … up to a minute
            countdown = min(2**request.retries, TASK_RETRY_BACKOFF_MAX_S)
        else:
            # a lock another run holds (for well under a second, or until it expires)
            countdown = min(0.25 * 2**request.retries, LOCK_RETRY_MAX_S)
        countdown *= random.uniform(0.5, 1.0)
        headers = {REQUEST_ID_HEADER: request.request_id} if request.request_id else {}
        try:
            task.apply_async(
                (request.answer_id, request.participant_id),
                task_id=request.task_id,
                countdown=countdown,
                retries=request.retries + 1,
                headers=headers,
            )
        except (BrokerError, ConnectionError, TimeoutError) as exc:
            log.warning(
                "score_answer.resend_failed",
                extra={"answer_id": request.answer_id, "error": str(exc)},
            )
