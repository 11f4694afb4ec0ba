"""The load generator's HTTP side: one request, many in flight, paced sending, streams.

aiohttp on one event loop, keep-alive connections. Every failure becomes a Reply too, so
every outcome is counted and none is raised.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

T = TypeVar("T")

# one request that takes longer than this counts as an error, so a hung server ends a run
REQUEST_TIMEOUT_S = 30.0
# below gunicorn's default keep-alive (2 s), so the client never reuses a connection the
# server is closing at that moment (that race shows up as a spurious ServerDisconnectedError)
KEEPALIVE_S = 1.0


@dataclass
class Reply:
    # the HTTP status, or the exception's name when no response came back
    status: int | str
    body: Any
    sent_at: float
    received_at: float

    @property
    def latency_s(self) -> float:
        return self.received_at - self.sent_at


def session(concurrency: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=KEEPALIVE_S)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    return aiohttp.ClientSession(connector=connector, timeout=timeout)


def stream_session() -> aiohttp.ClientSession:
    """A session for long-lived streams: no cap on connections, no time limit but connect's."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=60)
    return aiohttp.ClientSession(connector=connector, timeout=timeout)


async def call(
    client: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    payload: Any = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """One request; failures become a Reply too, so every outcome is counted, none raised."""
    sent_at = time.perf_counter()
    try:
        async with client.request(method, url, json=payload, headers=headers) as response:
            text = await response.text()
            status: int | str = response.status
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = text[:200]
    except (aiohttp.ClientError, TimeoutError) as exc:
        status, body = type(exc).__name__, str(exc)[:200]
    return Reply(status, body, sent_at, time.perf_counter())


async def run_bounded(
    items: Iterable[T], action: Callable[[T], Awaitable[None]], concurrency: int
) -> None:
    """Run `action` on every item with at most `concurrency` of them in flight."""
    pending = iter(items)

    async def lane() -> None:
        for item in pending:  # lanes share the iterator: each item is taken once
            await action(item)

    await asyncio.gather(*(lane() for _ in range(concurrency)))


async def run_paced(
    items: Iterable[T], action: Callable[[T], Awaitable[None]], per_s: float
) -> None:
    """Start `action` on each item at a steady rate (open loop: a slow reply never delays
    the next start), then wait for all of them."""
    started = time.perf_counter()
    running = []
    for n, item in enumerate(items):
        due = started + n / per_s
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        running.append(asyncio.create_task(action(item)))
    await asyncio.gather(*running)


class RawStream(asyncio.Protocol):
    """One Server-Sent Events stream read at the socket, for the fan-out scenario.

    Ten thousand streams through aiohttp cost this single load generator about 60 µs a
    message (a task wake-up per stream), so a board sent to all of them within 0.2 s
    reached the last one's callback a second later: the figure timed the generator, not
    the server. Here the request is written by hand and each piece the socket delivers
    goes to `on_data` as it comes, with the end of the piece before it (a pattern may
    straddle two). Only the status line is parsed: chunk sizes and SSE framing are left
    in the bytes, which a substring test does not mind.
    """

    TAIL = 64

    def __init__(
        self,
        request: bytes,
        on_data: Callable[[bytes], None],
        ready: asyncio.Event,
        errors: list[str],
    ) -> None:
        self.request = request
        self.on_data = on_data
        self.ready = ready
        self.errors = errors
        self.transport: asyncio.Transport | None = None
        self.status_seen = False
        self.tail = b""
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        seen = self.tail + data
        if not self.status_seen:
            if len(seen) < 12:
                self.tail = seen
                return
            self.status_seen = True
            if not seen.startswith(b"HTTP/1.1 200"):
                self.errors.append(seen[9:12].decode(errors="replace"))
                self.ready.set()
                self.close()
                return
        if not self.ready.is_set() and b"data:" in seen:
            self.ready.set()  # the snapshot
        self.on_data(seen)
        self.tail = seen[-self.TAIL :]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing:
            self.errors.append(type(exc).__name__ if exc else "closed by the server")
        self.ready.set()

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()


async def open_raw_stream(
    host: str,
    port: int,
    path: str,
    on_data: Callable[[bytes], None],
    ready: asyncio.Event,
    errors: list[str],
) -> RawStream | None:
    """Connect one RawStream; None (and the error counted) when the connection fails."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    try:
        _, stream = await asyncio.wait_for(
            loop.create_connection(lambda: RawStream(request, on_data, ready, errors), host, port),
            60,
        )
    except (OSError, TimeoutError) as exc:
        errors.append(type(exc).__name__)
        ready.set()
        return None
    return stream
