"""The scoring worker survives Redis restarts under load, ten in a row.

A worker whose Redis broker went away used to die now and then as the broken connection
closed: kombu asked a connection already detached from its transport for its address
(`AttributeError: 'NoneType' object has no attribute 'hostname'`, an "Unrecoverable
error"). The first tests close channels of the project's Redis transport
(shared/redis_broker.py) in that state, as Celery's consumer does after a broker error;
the last restarts the worker's Redis (its own, no persistence: queues and unacked messages
are lost with it; every other time by a crash) ten times while the worker scores answers:
it survives, and every answer that got a 202 is scored exactly once.
"""

from __future__ import annotations

import os
import signal
from dataclasses import replace

import pytest
from kombu import Connection, Exchange, Queue

from scripts.processes import command
from tests.helpers import join, open_question, submit
from tests.integration.support import (
    create_quiz,
    rows,
    scalar,
    wait_all_scored,
    wait_until,
)
from tests.live_stack import Process, RedisServer, environment
from tests.rabbitmq import amqp_broker_url
from web import create_app

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        amqp_broker_url() is not None,
        reason="Redis as the broker is what restarts here: the Redis pass runs it",
    ),
]

RESTARTS = 10
ANSWERS_PER_ROUND = 100
# answers sent up to a restart, and after it: fewer than a full batch
STREAM = 200
LAST = 7
TRANSPORT = "shared.redis_broker:Transport"


def detached(conn: Connection) -> None:
    """What Connection.collect() does after a broker error, before channels are closed."""
    conn.transport.client = None


def test_a_channel_closed_after_its_connection_let_go_restores_what_it_held(settings, redis_client):
    queue = Queue("restarts.held", Exchange("restarts.held"), routing_key="restarts.held")
    conn = Connection(settings.redis_url, transport=TRANSPORT)
    channel = conn.channel()
    conn.Producer(channel).publish(
        {"n": 1}, exchange=queue.exchange, routing_key=queue.name, declare=[queue]
    )
    held = []
    consumer = conn.Consumer(
        queue, channel=channel, accept=["json"], callbacks=[lambda b, m: held.append(b)]
    )
    consumer.consume()
    conn.drain_events(timeout=5)
    assert held == [{"n": 1}] and redis_client.llen(queue.name) == 0
    detached(conn)
    channel.close()  # no AttributeError
    # the unacknowledged message is back in its queue
    assert redis_client.llen(queue.name) == 1


def test_a_channel_of_auto_delete_queues_closes_after_its_connection_let_go(settings, redis_client):
    # gossip's fanout queues are deleted when their channel closes
    exchange = Exchange("restarts.fanout", type="fanout", auto_delete=True)
    conn = Connection(settings.redis_url, transport=TRANSPORT)
    channel = conn.channel()
    queue = Queue("restarts.fanout.q", exchange, auto_delete=True, channel=channel)
    queue.declare()
    conn.Consumer(queue, channel=channel, accept=["json"]).consume()
    detached(conn)
    channel.close()  # no AttributeError


def test_the_worker_survives_ten_redis_restarts_under_load(settings, engine, tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    worker = beat = None
    try:
        own = replace(settings, redis_url=server.url, celery_broker_url=server.url)
        app = create_app(own)
        client = app.test_client()
        code, [question] = create_quiz(client, [(1000, 600)])
        players = [join(client, code, f"P{n}") for n in range(RESTARTS * ANSWERS_PER_ROUND)]
        open_question(client, code, question.question_id)
        # the worker and beat as `make run` starts them; beat re-sends what a restart loses
        env = environment(own, QUIZ_REQUEUE_AFTER_S=1, QUIZ_REQUEUE_INTERVAL_S=0.5)
        worker = Process("worker", command("worker", 0, tmp_path), env, tmp_path)
        worker.wait_until(lambda: " ready." in worker.log(), "the worker ready")
        beat = Process("beat", command("beat", 0, tmp_path), env, tmp_path)
        accepted = 0
        for n in range(RESTARTS):
            scored_before = scalar(engine, "SELECT count(*) FROM answers WHERE state = 'scored'")
            for player in players[n * ANSWERS_PER_ROUND : (n + 1) * ANSWERS_PER_ROUND]:
                response = submit(client, code, player, question.question_id, question.right_choice)
                assert response.status_code == 202, response.json
                accepted += 1
            # under load: the worker scores this round's answers (after a restart, this
            # also shows it consumes again)
            wait_until(
                lambda before=scored_before: (
                    scalar(engine, "SELECT count(*) FROM answers WHERE state = 'scored'") > before
                ),
                f"scoring in round {n + 1}",
            )
            if n % 2:  # a crash
                os.kill(server.process.pid, signal.SIGKILL)
                server.process.process.wait()
                server.process = None
            else:  # a graceful restart
                server.stop()
            server.start()
            assert worker.process.poll() is None, f"the worker died at restart {n + 1}"
        wait_all_scored(engine, expected_answers=accepted, timeout=120)
        assert worker.process.poll() is None
        assert "Unrecoverable error" not in worker.log()
        # once each: every total is one answer's points
        totals = rows(
            engine,
            "SELECT p.total_score, a.points FROM participants p "
            "JOIN answers a ON a.participant_id = p.id",
        )
        assert len(totals) == accepted
        assert all(total == points > 0 for total, points in totals)
        app.extensions["quiz.resources"].close()
    finally:
        for process in (worker, beat):
            if process is not None:
                process.stop()
                print(f"--- {process.name} ---\n{process.tail()}")
        server.stop()


def test_a_batch_short_of_full_is_scored_after_a_redis_restart(settings, engine, tmp_path):
    # Celery (5.6) clears the event loop's timers when the broker connection breaks;
    # celery-batches' flush timer, armed while answers were coming, went with them while
    # its handle stayed set, so after the restart a batch was flushed only once
    # `flush_every` (100) messages had come: the last answers of a game waited for answers
    # that never came (no beat here to re-send and so hide it)
    server = RedisServer(tmp_path)
    server.start()
    worker = None
    try:
        own = replace(settings, redis_url=server.url, celery_broker_url=server.url)
        app = create_app(own)
        client = app.test_client()
        code, [question] = create_quiz(client, [(1000, 600)])
        players = [join(client, code, f"P{n}") for n in range(STREAM + LAST)]
        open_question(client, code, question.question_id)
        worker = Process("worker", command("worker", 0, tmp_path), environment(own), tmp_path)
        worker.wait_until(lambda: " ready." in worker.log(), "the worker ready")
        # answers keep coming until Redis goes: the flush timer is armed when it does
        for n, player in enumerate(players[:STREAM]):
            submit(client, code, player, question.question_id, question.right_choice)
            if n == STREAM // 2:
                wait_until(
                    lambda: scalar(engine, "SELECT count(*) FROM answers WHERE state = 'scored'"),
                    "the first answers scored",
                )
        offset = len(worker.log())
        server.stop()
        server.start()
        worker.wait_until(lambda: "Connected to" in worker.log()[offset:], "the worker back")
        last = players[STREAM:]
        for player in last:
            response = submit(client, code, player, question.question_id, question.right_choice)
            assert response.status_code == 202, response.json
        ids = [player["participant_id"] for player in last]
        wait_until(
            lambda: (
                scalar(
                    engine,
                    "SELECT count(*) FROM answers WHERE state = 'scored' "
                    "AND participant_id = ANY(:ids)",
                    ids=ids,
                )
                == LAST
            ),
            f"the {LAST} answers sent after the restart to be scored",
            timeout=15,
        )
        app.extensions["quiz.resources"].close()
    finally:
        if worker is not None:
            worker.stop()
            print(f"--- {worker.name} ---\n{worker.tail()}")
        server.stop()
