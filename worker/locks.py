"""Participants' scoring locks: they save duplicate work; PostgreSQL's row locks keep it exact.

A batch takes the locks of all its participants in one round trip and releases them in
one more. Taking is non-blocking (`SET NX`), in participant order: an answer whose
participant is being scored by another run is sent again a moment later instead of
holding a pool process. Each lock expires on its own, so a run killed while holding
locks frees them after LOCK_TIMEOUT_S.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

import redis

from shared import redis_keys

log = logging.getLogger(__name__)

# far longer than a batch run (well under a second); a run killed while holding its
# locks keeps its participants waiting this long at most
LOCK_TIMEOUT_S = 10

# delete a lock only if this run still holds it (it may have expired and been retaken)
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class ParticipantLocks:
    """The locks one run holds, under one token."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.token = uuid.uuid4().hex
        self.held: list[int] = []
        self._release = client.register_script(_RELEASE)

    def acquire(self, participant_ids: Iterable[int]) -> set[int]:
        """Take every lock that is free, in one round trip; the participants now held."""
        wanted = sorted(set(participant_ids))
        pipe = self.client.pipeline(transaction=False)
        for participant_id in wanted:
            pipe.set(
                redis_keys.participant_score_lock(participant_id),
                self.token,
                nx=True,
                ex=LOCK_TIMEOUT_S,
            )
        taken = pipe.execute()
        self.held = [p for p, ok in zip(wanted, taken, strict=True) if ok]
        return set(self.held)

    def release(self) -> None:
        """Free the locks still ours, in one round trip."""
        if not self.held:
            return
        pipe = self.client.pipeline(transaction=False)
        for participant_id in self.held:
            self._release(
                keys=[redis_keys.participant_score_lock(participant_id)],
                args=[self.token],
                client=pipe,
            )
        freed = pipe.execute()
        expired = [p for p, n in zip(self.held, freed, strict=True) if not n]
        if expired:
            # they expired while we worked; the row locks kept the scoring exact
            log.warning("score_answer.lock_expired", extra={"participant_ids": expired})
        self.held = []
