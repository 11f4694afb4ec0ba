"""kombu's Redis transport with cheaper bookkeeping: what Celery uses on a redis:// broker.

Two costs of the stock transport land on every message, in the worker's main process (one
per worker, handling every message, so it bounds a worker's rate) and in every submit:

- kombu builds a new redis-py client object for each command it sends (`conn_or_acquire`),
  and redis-py 8 fills a table of some 200 reply callbacks for each one. This channel keeps
  one client over its own connection pool, which is what the new clients shared anyway.
- the unacked-message bookkeeping (kombu's ack emulation: an index and a hash per
  delivered message) runs MULTI/EXEC pipelines, twice the commands of a plain pipeline.
  A delivered message's index entry and hash entry are written, and removed, in one
  plain pipeline: Redis runs them one after the other all the same, and kombu's restore
  sweep only looks at entries older than the visibility timeout, so it never sees one
  half written. Restores (`restore_by_tag`) keep their WATCH/MULTI transaction.

It also survives being closed after its connection let go of it. When the broker fails,
Celery's consumer calls `Connection.collect()`, which detaches the transport from its
connection (`transport.client = None`); a channel closed after that (the restore of its
unacknowledged messages, the delete of gossip's auto-delete queues) asks for a Redis
client, and kombu's builds one from `transport.client.hostname`: an AttributeError that
stopped the worker ("Unrecoverable error"). A channel here keeps the connection details it
was opened with and uses them then.

Everything else is kombu's. `make_celery` names this transport for redis:// URLs;
RabbitMQ goes through kombu's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis as kombu_redis


class QoS(kombu_redis.QoS):
    @contextmanager
    def pipe_or_acquire(self, pipe: Any = None, client: Any = None) -> Iterator[Any]:
        if pipe:
            yield pipe
        else:
            with self.channel.conn_or_acquire(client) as client:
                yield client.pipeline(transaction=False)


class Channel(kombu_redis.Channel):
    QoS = QoS
    _plain_client: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # before kombu's own __init__, which already opens clients
        self._opened_with = args[0].client if args else kwargs["connection"].client
        super().__init__(*args, **kwargs)

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        transport = self.connection
        if transport.client is not None:
            return super()._connparams(asynchronous=asynchronous)
        # detached by Connection.collect(): the details this channel was opened with
        transport.client = self._opened_with
        try:
            return super()._connparams(asynchronous=asynchronous)
        finally:
            transport.client = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)
        if self._plain_client is None:
            self._plain_client = super()._create_client()
        return self._plain_client


class Transport(kombu_redis.Transport):
    Channel = Channel
