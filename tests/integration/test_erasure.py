"""Erasure with a real worker and leaderboard consumer: once the events in flight have
landed, no table and no Redis key holds the erased player's name."""

from __future__ import annotations

import pytest

from tests.helpers import HOST, join, keys_holding, submit, tables_holding
from tests.integration.support import create_quiz, wait_all_scored, wait_until
from tests.live_stack import start_consumer

pytestmark = pytest.mark.integration

NAME = "Philomena"


def on_board(client, code):
    board = client.get(f"/api/v1/quizzes/{code}/leaderboard?limit=100").json
    return {e["display_name"]: e["score"] for e in board["entries"]}


def test_an_erased_player_leaves_no_trace_once_the_events_have_landed(
    client, engine, redis_client, settings, tmp_path, start_worker
):
    start_worker()
    consumer = start_consumer(settings, tmp_path)
    try:
        code, [question] = create_quiz(client, [(1000, 30)])
        phil, ann = join(client, code, NAME), join(client, code, "Ann")
        client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
        for player in (phil, ann):
            assert (
                submit(
                    client, code, player, question.question_id, question.right_choice
                ).status_code
                == 202
            )
        wait_all_scored(engine, 2)
        wait_until(lambda: on_board(client, code).get(NAME, 0) > 0, "her score on the board")
        assert tables_holding(engine, NAME) and keys_holding(redis_client, NAME)

        erased = client.delete(
            f"/api/v1/quizzes/{code}/participants/{phil['participant_id']}?erase=true", headers=HOST
        )
        assert erased.status_code == 204
        # a late event about her can land on the board no more: she is on its removed set
        wait_until(lambda: NAME not in on_board(client, code), "her off the board")
        assert tables_holding(engine, NAME) == []
        assert keys_holding(redis_client, NAME) == []
        assert set(on_board(client, code)) == {"Ann"}
    finally:
        consumer.stop()
