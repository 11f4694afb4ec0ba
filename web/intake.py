"""The answers one web process accepts at the same time go to PostgreSQL and the broker together.

Under gevent a web process serves many submissions at once. Each request hands its
answer to the process's intake and waits; the intake takes every answer waiting, writes
them all in one INSERT (shared/quiz/submissions.py: each still checked by the same unique
constraints), sends the scoring messages of those it inserted in one go (one message
and task id per answer, as ever; on Redis kombu writes them in one pipeline), and only
then lets the requests answer. While it works, the next answers gather: a burst is
taken in batches, a lone answer goes at once, never waiting for company.

A 202 still means the answer is committed: a request answers only after the INSERT
that holds its answer returned, and after its message was sent (or failed to be, which
the re-enqueue job makes good, as before).

The attempt log rides along: an accepted answer's attempt is written by its INSERT, and
the attempts refused meanwhile (question not open, rate limited, already answered, …)
are handed over without waiting and written with the next INSERT, or alone when none
comes. A process that dies loses the refused attempts it had not written yet (those of
one write at most); it never loses an accepted one.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from shared.quiz.submissions import Received, RefusedAttempt, insert_answers
from shared.resources import Resources

log = logging.getLogger(__name__)

# answers one INSERT takes at most; more wait for the next one
MAX_BATCH = 200
# refused attempts one statement takes at most
MAX_REFUSED = 1000
# a request gives up waiting after this long (its answer may still be accepted: the
# client's retry with its Idempotency-Key, or without one, finds it)
WAIT_S = 30.0


@dataclass
class Waiting:
    """One request's answer, and what the intake found for it."""

    received: Received
    request_id: str | None
    done: threading.Event = field(default_factory=threading.Event)
    # the answer id when this batch's INSERT stored it; None: it lost to a stored answer
    answer_id: int | None = None
    error: BaseException | None = None


Send = Callable[[Sequence[Waiting]], None]


class Intake:
    """A process's queue of answers to accept, and the one thread (greenlet) writing them."""

    def __init__(self, resources: Resources, send: Send, max_batch: int = MAX_BATCH) -> None:
        self.resources = resources
        self.send = send
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: list[Waiting] = []
        self._refused: list[RefusedAttempt] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def accept(self, received: Received, request_id: str | None) -> Waiting:
        """Queue one answer and wait until its batch was written and its message sent."""
        waiting = Waiting(received, request_id)
        with self._lock:
            self._waiting.append(waiting)
            self._ensure_running()
        self._wake.set()
        if not waiting.done.wait(WAIT_S):
            raise TimeoutError("the answer was not written in time")
        if waiting.error is not None:
            raise waiting.error
        return waiting

    def record(self, attempt: RefusedAttempt) -> None:
        """Log a refused attempt with the next write; the request does not wait for it."""
        with self._lock:
            self._refused.append(attempt)
            self._ensure_running()
        self._wake.set()

    def _ensure_running(self) -> None:
        # a thread of the process that serves (gunicorn forks after the app is made)
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="answer-intake", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                refused = self._refused[:MAX_REFUSED]
                del self._refused[:MAX_REFUSED]
                if not self._waiting and not self._refused:
                    self._wake.clear()
            if batch or refused:
                self._write(batch, refused)

    def _write(self, batch: list[Waiting], refused: list[RefusedAttempt]) -> None:
        try:
            engine = self.resources.engine
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                inserted = insert_answers(conn, [w.received for w in batch], refused)
        except Exception as exc:  # every request of the batch answers with it (503)
            if refused:
                log.warning("attempts.not_logged", extra={"count": len(refused)})
            for waiting in batch:
                waiting.error = exc
                waiting.done.set()
            return
        for waiting in batch:
            waiting.answer_id = inserted.get(waiting.received.task_id)
        try:
            self.send([w for w in batch if w.answer_id is not None])
        except Exception:  # the answers are stored: the re-enqueue job sends them later
            log.warning("submit.enqueue_failed", extra={"size": len(batch)}, exc_info=True)
        finally:
            for waiting in batch:
                waiting.done.set()
