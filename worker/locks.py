"""The participant's scoring lock: saves duplicate work; PostgreSQL's row lock keeps it exact."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.exceptions import LockError

from shared import redis_keys

log = logging.getLogger(__name__)

# longer than any scoring run; a holder killed mid-run frees the lock after this
LOCK_TIMEOUT_S = 30
# a busy lock is retried later by the task rather than blocking a pool process
LOCK_WAIT_S = 2


class LockBusy(Exception):
    """Another run holds the participant's lock."""


@contextmanager
def participant_score_lock(client: redis.Redis, participant_id: int) -> Iterator[None]:
    lock = client.lock(
        redis_keys.participant_score_lock(participant_id),
        timeout=LOCK_TIMEOUT_S,
        blocking_timeout=LOCK_WAIT_S,
    )
    if not lock.acquire():
        raise LockBusy(f"participant {participant_id} is being scored elsewhere")
    try:
        yield
    finally:
        try:
            lock.release()
        except LockError:
            # it expired while we worked; the row lock kept the scoring exact
            log.warning("score_answer.lock_expired participant_id=%s", participant_id)
