"""The leaderboard consumer as a process: events from the broker onto the Redis boards.

Events are published as the worker publishes them (worker/publisher.py); the consumer is
`python -m worker.leaderboard` with the test's database and Redis DB. Brokers that a test
restarts are its own, on free ports.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import time
from dataclasses import replace

import pytest
from kombu import Connection

from shared import events, redis_keys
from shared.leaderboard.rebuild import rebuild_board
from shared.resources import make_redis
from tests.integration.leaderboard.support import (
    database_board,
    event,
    make_quiz,
    scores_of,
    set_total,
    whole_board,
)
from tests.live_stack import RabbitServer, RedisServer, wait_for
from worker.publisher import leaderboard_queue

APPLY_TIMEOUT_S = 60.0
# a board left wrong by a consumer that died holding its event is right again within this
HEAL_S = 30.0


def publish(broker_url: str, payload: dict) -> None:
    """Publish one event with the publisher's helper, retrying while the broker restarts."""
    with Connection(broker_url) as conn:
        events.publish(
            conn.Producer(),
            payload,
            retry=True,
            retry_policy={"max_retries": 20, "interval_start": 0.2, "interval_step": 0.5},
        )


def score_of(redis_client, code, participant_id):
    view = (
        whole_board(redis_client, code)
        if redis_client.exists(redis_keys.leaderboard_names(code))
        else []
    )
    return next((score for _, _, score, pid in view if pid == participant_id), None)


@pytest.fixture
def game(session, redis_client):
    code, ids = make_quiz(session, ["Ann", "Bob", "Cy"])
    rebuild_board(session, redis_client, code)
    return code, ids


def test_events_are_applied_once_whatever_their_order_and_acked(
    start_consumer, settings, tmp_path, session, redis_client, game
):
    code, ids = game
    consumer = start_consumer()
    history = [
        event(code, ids["Ann"], "Ann", 967),
        event(code, ids["Ann"], "Ann", 2067),
        event(code, ids["Bob"], "Bob", 1000),
        event(code, ids["Cy"], "Cy", 1000),
        event(code, ids["Cy"], "Cy", 2100),
    ]
    deliveries = history + history[:3]  # redelivered, and late
    random.Random(5).shuffle(deliveries)
    for payload in deliveries:
        publish(settings.celery_broker_url, payload)
    expected = [
        (1, "Cy", 2100, ids["Cy"]),
        (2, "Ann", 2067, ids["Ann"]),
        (3, "Bob", 1000, ids["Bob"]),
    ]
    wait_for(lambda: whole_board(redis_client, code) == expected, "the board", APPLY_TIMEOUT_S)
    # every message acknowledged: nothing waiting, nothing held
    wait_for(
        lambda: (
            redis_client.llen(leaderboard_queue.name) == 0
            and redis_client.hlen("leaderboard.unacked") == 0
        ),
        "the queue to drain",
    )
    assert consumer.process.poll() is None
    consumer.stop()
    [stopped] = [
        line
        for line in (json.loads(text) for text in consumer.log().splitlines() if text[:1] == "{")
        if line.get("message") == "leaderboard_consumer.stopped"
    ]
    assert stopped["applied"] == 8


def test_an_event_for_a_lost_board_brings_the_whole_board_back(
    start_consumer, settings, tmp_path, session, redis_client, game
):
    code, ids = game
    start_consumer()
    set_total(session, ids["Bob"], 967)
    set_total(session, ids["Cy"], 500)
    redis_client.delete(redis_keys.leaderboard(code), redis_keys.leaderboard_names(code))
    publish(settings.celery_broker_url, event(code, ids["Cy"], "Cy", 500))
    wait_for(
        lambda: (
            redis_client.exists(redis_keys.leaderboard_names(code))
            and scores_of(whole_board(redis_client, code)) == database_board(session, code)
        ),
        "the rebuilt board",
        APPLY_TIMEOUT_S,
    )


def test_a_malformed_event_is_set_aside_and_the_next_one_applied(
    start_consumer, settings, tmp_path, redis_client, game
):
    code, ids = game
    consumer = start_consumer()
    bad = event(code, ids["Ann"], "Ann", 100)
    bad["total_score"] = "a lot"
    publish(settings.celery_broker_url, bad)
    publish(settings.celery_broker_url, event(code, ids["Bob"], "Bob", 300))
    wait_for(lambda: score_of(redis_client, code, ids["Bob"]) == 300, "Bob's event")
    assert score_of(redis_client, code, ids["Ann"]) == 0
    assert "leaderboard_consumer.invalid_event" in consumer.log()


def test_an_event_with_fields_it_does_not_know_is_applied(
    start_consumer, settings, tmp_path, redis_client, game
):
    # a newer publisher adds fields during a rolling deploy: its events still count
    code, ids = game
    consumer = start_consumer()
    update = {**event(code, ids["Ann"], "Ann", 967), "team": "blue"}
    publish(settings.celery_broker_url, {**events.leaderboard_batch([update]), "region": "eu"})
    wait_for(lambda: score_of(redis_client, code, ids["Ann"]) == 967, "Ann's event")
    assert "leaderboard_consumer.invalid_event" not in consumer.log()


def test_live_clients_are_told_after_the_event_is_applied(
    start_consumer, settings, tmp_path, redis_client, game
):
    code, ids = game
    start_consumer()
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(redis_keys.quiz_live_channel(code))
    publish(settings.celery_broker_url, event(code, ids["Ann"], "Ann", 700))
    notice = None
    deadline_polls = 600
    while notice is None and deadline_polls:
        notice = pubsub.get_message(timeout=0.1)
        deadline_polls -= 1
    assert notice is not None, "no notice on the live channel"
    assert json.loads(notice["data"]) == {"kind": "board"}
    # the notice comes after the write: the board already has the new total
    assert score_of(redis_client, code, ids["Ann"]) == 700
    pubsub.close()


def test_an_event_held_by_a_killed_consumer_reaches_the_board_within_30_s(
    start_consumer, settings, tmp_path, session, redis_client, game
):
    code, ids = game
    # the boards on a Redis of their own, frozen while the consumer applies: it holds the
    # event (delivered, not acknowledged) when it is killed. The broker is the test's Redis
    # DB whatever the pass: on RabbitMQ a dead consumer's messages return at once.
    broker_url = settings.redis_url
    boards = RedisServer(tmp_path)
    boards.start()
    try:
        on_boards = replace(settings, redis_url=boards.url)
        board_client = make_redis(on_boards)
        rebuild_board(session, board_client, code)
        consumer = start_consumer(broker_url, settings=on_boards)
        os.kill(boards.process.pid, signal.SIGSTOP)
        publish(broker_url, event(code, ids["Ann"], "Ann", 967))
        wait_for(lambda: redis_client.hlen("leaderboard.unacked") == 1, "the event held")
        os.kill(consumer.process.pid, signal.SIGKILL)
        consumer.process.wait()
        killed_at = time.monotonic()
        os.kill(boards.process.pid, signal.SIGCONT)
        start_consumer(broker_url, settings=on_boards)
        wait_for(
            lambda: score_of(board_client, code, ids["Ann"]) == 967, "the board to heal", HEAL_S
        )
        assert time.monotonic() - killed_at <= HEAL_S
    finally:
        if boards.process is not None:
            os.kill(boards.process.pid, signal.SIGCONT)
        boards.stop()


def test_the_consumer_reconnects_after_its_redis_broker_restarts(
    start_consumer, settings, tmp_path, redis_client, game
):
    code, ids = game
    broker = RedisServer(tmp_path)
    broker.start()
    try:
        consumer = start_consumer(broker.url)
        publish(broker.url, event(code, ids["Ann"], "Ann", 100))
        wait_for(lambda: score_of(redis_client, code, ids["Ann"]) == 100, "the first event")
        broker.stop()
        wait_for(
            lambda: (
                "broker_unreachable" in consumer.log()
                or "Connection to broker lost" in consumer.log()
            ),
            "the consumer to notice",
        )
        broker.start()  # same port, empty: the consumer declares its queue again
        publish(broker.url, event(code, ids["Bob"], "Bob", 200))
        wait_for(
            lambda: score_of(redis_client, code, ids["Bob"]) == 200,
            "the event sent after the restart",
            APPLY_TIMEOUT_S,
        )
        assert consumer.process.poll() is None
        consumer.stop()
    finally:
        broker.stop()


def test_the_consumer_reads_rabbitmq_and_reconnects_after_it_restarts(
    start_consumer, settings, tmp_path, redis_client, game
):
    code, ids = game
    if shutil.which("rabbitmq-server") is None and not os.path.exists("/usr/sbin/rabbitmq-server"):
        pytest.skip("rabbitmq-server is not installed: the amqp path is not tested here")
    broker = RabbitServer()
    try:
        broker.start()
        consumer = start_consumer(broker.url)
        publish(broker.url, event(code, ids["Ann"], "Ann", 100))
        wait_for(lambda: score_of(redis_client, code, ids["Ann"]) == 100, "the first event")
        broker.stop()
        broker.start()
        publish(broker.url, event(code, ids["Cy"], "Cy", 300))
        wait_for(
            lambda: score_of(redis_client, code, ids["Cy"]) == 300,
            "the event sent after the restart",
            APPLY_TIMEOUT_S,
        )
        assert consumer.process.poll() is None
        consumer.stop()
    finally:
        broker.cleanup()
