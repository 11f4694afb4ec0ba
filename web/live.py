"""Live leaderboards for Server-Sent Events: one Redis subscription per web process.

The consumer (and the join and open/close paths) publish small notices on a quiz's live
channel. Each web process subscribes once, to every quiz's channel, and fans out to its
own stream clients: for a quiz with clients it reads the board once per update, at most
every UPDATE_INTERVAL_S (longer for a board thousands watch: a write to each costs the
process CPU_PER_CLIENT_S), and hands each client the snapshot (plus the client's own
row). Heartbeats come from the hub too, so a client's stream waits without a timer of
its own. An idle client costs one socket and a few objects, so a gevent worker holds
thousands; caps per client address and per process (StreamCaps, from the settings) keep
one client from holding them all, and the first board a stream reads waits for one of
half the process's Redis connections, so a crowd connecting never starves the API.

The hub uses `threading` primitives: under gunicorn's gevent worker they are patched
into greenlets; under a threaded server or the test client they are real threads.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from shared import live_notices, redis_keys
from shared.errors import REDIS_DOWN, NotFound
from shared.leaderboard import board
from shared.leaderboard.ranking import MAX_LIMIT, Throttle
from shared.leaderboard.service import read_board
from shared.quiz import quizzes
from shared.resources import Resources, make_redis
from web.api.schemas import QuizSchema
from web.boards import BoardRenderer

log = logging.getLogger(__name__)

# at most one update per quiz this often, however fast answers come
UPDATE_INTERVAL_S = 0.1
# what handing one board to one stream costs a process (measured with bench/): a board
# watched by N streams of a process goes out at most every N x this
CPU_PER_CLIENT_S = 100e-6
# an SSE comment this often keeps proxies and browsers from dropping an idle stream
HEARTBEAT_S = 15.0
# what the browser waits before reconnecting a dropped stream (the SSE `retry:` field)
RECONNECT_MS = 2000
# how long the subscription waits for a notice before looking at the clock again
POLL_S = 1.0
RESUBSCRIBE_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 5.0)
# question changes a slow client may fall behind by before the oldest are dropped
MAX_PENDING_EVENTS = 16


class TooManyStreams(Exception):
    """A new stream would pass a cap: of its client address, or of this process."""

    def __init__(self, message: str, per_address: bool) -> None:
        super().__init__(message)
        self.message = message
        self.per_address = per_address


@dataclass(frozen=True)
class StreamCaps:
    """Streams one web process holds at once: per client address and in all. None: no cap
    (QUIZ_RATE_LIMITS=off)."""

    per_address: int | None = None
    per_process: int | None = None


def sse_event(data: Any, event: str | None = None, event_id: str | int | None = None) -> str:
    """One Server-Sent Event; `data` is sent as JSON on a single line."""
    return sse_chunk(json.dumps(data, separators=(",", ":")), event, event_id)


def sse_chunk(json_text: str, event: str | None = None, event_id: str | int | None = None) -> str:
    """One Server-Sent Event carrying JSON already rendered (on one line)."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event is not None:
        lines.append(f"event: {event}")
    lines.append(f"data: {json_text}")
    return "\n".join(lines) + "\n\n"


def sse_comment(text: str) -> str:
    """An SSE comment line: clients ignore it, connections stay warm."""
    return f": {text}\n\n"


class LiveClient:
    """One open stream: the latest board waiting to be sent, and question changes."""

    def __init__(
        self, quiz_code: str, limit: int, participant_id: int | None, address: str = ""
    ) -> None:
        self.quiz_code = quiz_code
        self.limit = limit
        self.participant_id = participant_id
        self.address = address
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._board: str | None = None
        self._version = -1
        self._events: list[str] = []

    def offer_board(self, version: int, chunk: str) -> None:
        """Keep only the newest board: a slow client skips boards, never falls behind.

        A board of a version the client has already had is the same board: not sent again.
        """
        with self._lock:
            if version <= self._version:
                return
            self._version = version
            self._board = chunk
        self._ready.set()

    def offer_event(self, chunk: str) -> None:
        with self._lock:
            self._events = [*self._events, chunk][-MAX_PENDING_EVENTS:]
        self._ready.set()

    def saw(self, version: int) -> None:
        """The client has this board already (the snapshot sent on connect)."""
        with self._lock:
            if self._version <= version:
                # the hub may have offered the same board before the snapshot was read
                self._board = None
            self._version = max(self._version, version)

    def wait(self, timeout: float | None = None) -> str:
        """What there is to send, waiting up to `timeout` (None: until something comes);
        '' when nothing came."""
        self._ready.wait(timeout)
        with self._lock:
            self._ready.clear()
            chunks = [*self._events, *([self._board] if self._board else [])]
            self._events = []
            self._board = None
        return "".join(chunks)


class LiveHub:
    """The process's subscription to every quiz's live channel, and its stream clients."""

    def __init__(
        self,
        resources: Resources,
        renderer: BoardRenderer,
        quiz_payload: Callable[[str], dict[str, Any] | None],
        interval_s: float = UPDATE_INTERVAL_S,
        heartbeat_s: float = HEARTBEAT_S,
        caps: StreamCaps | None = None,
    ) -> None:
        self.resources = resources
        self.caps = caps or StreamCaps()
        # snapshots read on connect take at most half the Redis pool, however many
        # streams connect at once: the other half stays for the API's own requests
        self._snapshot_slots = threading.BoundedSemaphore(
            max(1, resources.settings.redis_max_connections // 2)
        )
        self.renderer = renderer
        self.quiz_payload = quiz_payload
        self.throttle = Throttle(interval_s)
        self.heartbeat_s = heartbeat_s
        self._lock = threading.Lock()
        self._clients: dict[str, set[LiveClient]] = {}
        self._by_address: Counter[str] = Counter()
        self._stopping = threading.Event()
        self._subscribed = threading.Event()
        self._thread: threading.Thread | None = None
        self._beat: threading.Thread | None = None
        self._pid = 0
        # its own client: a subscription holds its connection for good
        self._redis = make_redis(resources.settings)

    # --- clients --------------------------------------------------------------------------

    def connect(
        self, quiz_code: str, limit: int, participant_id: int | None, address: str = ""
    ) -> LiveClient:
        """A new stream client, or TooManyStreams when it would pass a cap."""
        client = LiveClient(quiz_code, limit, participant_id, address)
        caps = self.caps
        with self._lock:
            if caps.per_process is not None and self._count() >= caps.per_process:
                raise TooManyStreams(
                    f"this server holds its most streams ({caps.per_process}); retry shortly",
                    per_address=False,
                )
            if caps.per_address is not None and self._by_address[address] >= caps.per_address:
                raise TooManyStreams(
                    f"this address holds its most streams ({caps.per_address}); close one first",
                    per_address=True,
                )
            self._clients.setdefault(quiz_code, set()).add(client)
            self._by_address[address] += 1
        self._ensure_running()
        return client

    def disconnect(self, client: LiveClient) -> None:
        with self._lock:
            clients = self._clients.get(client.quiz_code)
            if clients is None or client not in clients:
                return
            clients.discard(client)
            if not clients:
                del self._clients[client.quiz_code]
            self._by_address[client.address] -= 1
            if not self._by_address[client.address]:
                del self._by_address[client.address]

    @contextlib.contextmanager
    def snapshot_slot(self, timeout: float) -> Iterator[None]:
        """Room to read a stream's first board; TimeoutError (503) when none frees in time."""
        if not self._snapshot_slots.acquire(timeout=timeout):
            raise TimeoutError("no Redis connection free for a stream's snapshot")
        try:
            yield
        finally:
            self._snapshot_slots.release()

    def clients_of(self, quiz_code: str) -> list[LiveClient]:
        with self._lock:
            return list(self._clients.get(quiz_code, ()))

    def client_count(self) -> int:
        with self._lock:
            return self._count()

    def _count(self) -> int:
        return sum(self._by_address.values())

    def wait_subscribed(self, timeout: float) -> bool:
        """Whether the subscription is up (for tests and start-up checks)."""
        return self._subscribed.wait(timeout)

    # --- the subscription -------------------------------------------------------------------

    def _ensure_running(self) -> None:
        with self._lock:
            alive = self._thread is not None and self._thread.is_alive()
            if alive and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="live-hub", daemon=True)
            self._thread.start()
            self._beat = threading.Thread(target=self._heartbeats, name="live-beat", daemon=True)
            self._beat.start()

    def stop(self) -> None:
        self._stopping.set()
        for thread in (self._thread, self._beat):
            if thread is not None:
                thread.join(timeout=5)
        self._redis.close()

    def _heartbeats(self) -> None:
        """A comment to every stream each heartbeat_s, whatever Redis does meanwhile."""
        beat = sse_comment("heartbeat")
        while not self._stopping.wait(self.heartbeat_s):
            with self._lock:
                clients = [c for group in self._clients.values() for c in group]
            for client in clients:
                client.offer_event(beat)

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.psubscribe(redis_keys.QUIZ_LIVE_PATTERN)
                self._subscribed.set()
                # notices sent while we were away are lost: send every local board afresh,
                # and after a lost subscription the questions' state too
                for code in self._codes():
                    if failures:
                        self._send_quiz(code)
                    self._board_changed(code)
                if failures:
                    log.info("live_hub.resubscribed")
                failures = 0
                self._listen(pubsub)
            except REDIS_DOWN as exc:
                self._subscribed.clear()
                delay = RESUBSCRIBE_DELAYS_S[min(failures, len(RESUBSCRIBE_DELAYS_S) - 1)]
                failures += 1
                log.warning("live_hub.subscription_lost", extra={"retry_in": delay, "error": exc})
                self._stopping.wait(delay)
            finally:
                try:
                    pubsub.close()
                except Exception:  # closing a broken connection may fail too
                    pass

    def _listen(self, pubsub: Any) -> None:
        while not self._stopping.is_set():
            next_due = self.throttle.next_due()
            timeout = POLL_S if next_due is None else max(0.0, next_due - time.monotonic())
            message = pubsub.get_message(timeout=min(timeout, POLL_S))
            if message is not None and message.get("type") == "pmessage":
                self._on_notice(message["channel"], message["data"])
            for code in self.throttle.due(time.monotonic()):
                self._send_board(code)

    def _codes(self) -> list[str]:
        with self._lock:
            return list(self._clients)

    def _on_notice(self, channel: str, data: str) -> None:
        code = redis_keys.quiz_code_of_live_channel(channel)
        if code is None or not self.clients_of(code):
            return
        try:
            notice = json.loads(data)
            kind = notice.get("kind")
        except (ValueError, AttributeError):
            notice, kind = {}, live_notices.BOARD_CHANGED
        if kind == live_notices.CORRECTION and isinstance(notice.get("detail"), dict):
            chunk = sse_event(notice["detail"], "correction")
            for client in self.clients_of(code):
                client.offer_event(chunk)
        if kind in (live_notices.QUIZ_CHANGED, live_notices.CORRECTION):
            self._send_quiz(code)
        self._board_changed(code)

    def _board_changed(self, code: str) -> None:
        with self._lock:
            watching = len(self._clients.get(code, ()))
        if self.throttle.offer(code, time.monotonic(), watching * CPU_PER_CLIENT_S):
            self._send_board(code)

    # --- sending ------------------------------------------------------------------------------

    def _send_board(self, code: str) -> None:
        clients = self.clients_of(code)
        if not clients:
            return
        try:
            with self.resources.session_factory() as session:
                view = read_board(self.resources.redis, session, code, MAX_LIMIT)
            wanted = sorted({c.participant_id for c in clients if c.participant_id is not None})
            rows = board.rows(self.resources.redis, code, wanted) or {}
        except REDIS_DOWN:
            raise
        except NotFound:
            # no such quiz: its stream request, between connect and its 404, is leaving
            return
        except Exception:
            log.exception("live_hub.board_read_failed", extra={"quiz": code})
            return
        # one chunk per limit for every client without a participant of its own
        shared: dict[int, str] = {}
        for client in clients:
            if client.participant_id is None:
                chunk = shared.get(client.limit)
                if chunk is None:
                    payload = self.renderer.board(code, view, client.limit)
                    chunk = shared[client.limit] = sse_chunk(payload, "leaderboard", view.version)
            else:
                me = rows.get(client.participant_id)
                payload = self.renderer.board(code, view, client.limit, me)
                chunk = sse_chunk(payload, "leaderboard", view.version)
            client.offer_board(view.version, chunk)

    def _send_quiz(self, code: str) -> None:
        try:
            payload = self.quiz_payload(code)
        except Exception:
            log.exception("live_hub.quiz_read_failed", extra={"quiz": code})
            return
        if payload is None:
            return
        chunk = sse_event(payload, "quiz")
        for client in self.clients_of(code):
            client.offer_event(chunk)


_hub_lock = threading.Lock()


def hub_of(extensions: dict[str, Any], make: Callable[[], LiveHub]) -> LiveHub:
    """The process's hub, made on first use (after gunicorn forked its workers)."""
    with _hub_lock:
        hub = extensions.get("quiz.live_hub")
        if hub is None:
            hub = extensions["quiz.live_hub"] = make()
        return hub


def init_app(app: Flask, resources: Resources, renderer: BoardRenderer) -> None:
    """Say how the app's hub is made: once per process, on the first stream, since
    gunicorn forks its workers after the app is made and each holds its own subscription."""
    settings = resources.settings

    def quiz_payload(code: str) -> dict[str, Any] | None:
        """The stream's `quiz` event: the quiz as GET /quizzes/{quiz_id} shows it."""
        with app.app_context(), resources.session_factory() as session:
            return QuizSchema().dump(quizzes.get_quiz(session, code))

    def make() -> LiveHub:
        caps = (
            StreamCaps(settings.streams_per_address, settings.streams_per_process)
            if settings.rate_limits
            else StreamCaps()
        )
        heartbeat_s = app.config.get("QUIZ_LEADERBOARD_HEARTBEAT_S", HEARTBEAT_S)
        return LiveHub(resources, renderer, quiz_payload, heartbeat_s=heartbeat_s, caps=caps)

    app.extensions["quiz.live_hub.make"] = make


def hub() -> LiveHub:
    """This process's hub, for the app of the request."""
    extensions = current_app.extensions
    return hub_of(extensions, extensions["quiz.live_hub.make"])
