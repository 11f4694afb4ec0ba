"""Acknowledging the messages of a scored batch together.

kombu's Redis transport emulates acknowledgements: a delivered message waits in an
"unacked" hash and index until its ack removes it, one MULTI round trip per message,
in the worker's main process, which handles every message and so bounds the rate of a
whole worker. A batch's messages are removed in one pipeline instead, then each is
marked acknowledged the way kombu's own ack does it. Other transports (RabbitMQ)
acknowledge each message as usual.

This leans on kombu's Redis QoS (`_remove_from_indices`, the virtual QoS's ack), so
setup.cfg keeps kombu within 5.x, and tests/integration/test_batches.py checks that
nothing stays unacknowledged after a batch and that nothing is acknowledged before it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from kombu.transport import redis as redis_transport
from kombu.transport import virtual

log = logging.getLogger(__name__)


def acknowledge(requests: Iterable[Any]) -> None:
    """Acknowledge Celery requests (celery.worker.request.Request) once their work is done."""
    on_redis: dict[Any, list[Any]] = defaultdict(list)
    for request in requests:
        if request.acknowledged:
            continue
        qos = getattr(request.message.channel, "qos", None)
        if isinstance(qos, redis_transport.QoS):
            on_redis[qos].append(request)
        else:
            request.acknowledge()
    for qos, batch in on_redis.items():
        try:
            with qos.pipe_or_acquire() as pipe:
                for request in batch:
                    qos._remove_from_indices(request.message.delivery_tag, pipe)
                pipe.execute()
        except Exception:
            # one at a time then, each failing alone if Redis is gone
            log.warning("score_answer.bulk_ack_failed", extra={"size": len(batch)}, exc_info=True)
            for request in batch:
                request.acknowledge()
            continue
        for request in batch:
            virtual.QoS.ack(qos, request.message.delivery_tag)
            request.message._state = "ACK"
            request.acknowledged = True
