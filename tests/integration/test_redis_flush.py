"""Redis loses its data while a game runs (FLUSHDB, or a restart without persistence while
the processes stay up): a quiz played afterwards still reaches its board.

kombu keeps a Redis broker's routing table (`_kombu.binding.*`) in Redis. A flush removes
it while every process still believes its queues declared; a publisher that never
declares again then publishes into nothing. The test runs on a Redis of its own, as
broker and store both, whatever broker the pass uses.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.leaderboard import board
from shared.resources import make_redis
from tests.helpers import join, open_question, submit
from tests.integration.leaderboard.support import database_board, scores_of, whole_board
from tests.integration.support import create_quiz, wait_until
from tests.live_stack import RedisServer, start_consumer, start_worker
from web import create_app

pytestmark = pytest.mark.integration

CONVERGE_S = 60.0


def play_one_question(client, names: list[str]) -> str:
    """A quiz whose players all answer its one question right; its join code."""
    code, [question] = create_quiz(client, [(1000, 30)])
    players = [join(client, code, name) for name in names]
    open_question(client, code, question.question_id)
    for player in players:
        response = submit(client, code, player, question.question_id, question.right_choice)
        assert response.status_code == 202, response.json
    return code


def test_a_quiz_played_after_redis_lost_its_data_reaches_its_board(settings, session, tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    processes = []
    try:
        own = replace(settings, redis_url=server.url, celery_broker_url=server.url)
        store = make_redis(own)
        processes.append(start_worker(own, tmp_path, pool="prefork", concurrency=2))
        processes.append(start_consumer(own, tmp_path))
        app = create_app(own)
        client = app.test_client()

        def converged(code: str) -> bool:
            totals = database_board(session, code)
            if not all(total > 0 for _, total in totals.values()):
                return False  # not all scored yet
            return (
                board.read(store, code, limit=1) is not None
                and scores_of(whole_board(store, code)) == totals
            )

        before = play_one_question(client, ["Ann", "Bob"])
        wait_until(lambda: converged(before), "the first quiz on its board", CONVERGE_S)

        store.flushdb()

        after = play_one_question(client, ["Cy", "Dee", "Eve"])
        wait_until(lambda: converged(after), "the quiz after the flush on its board", CONVERGE_S)
        app.extensions["quiz.resources"].close()
    finally:
        for process in processes:
            process.stop()
            print(f"--- {process.name} ---\n{process.tail()}")
        server.stop()
