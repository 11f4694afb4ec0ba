"""The quiz state cached in Redis never stays behind PostgreSQL when Redis fails mid-way.

The host closes a question; PostgreSQL commits, then Redis stops answering before the
cache is written, so the host gets a 503. Players must still find the question closed,
and the host's retry must answer 200 and leave the cache right. The Redis is the
test's own, frozen (SIGSTOP) right after the commit.
"""

from __future__ import annotations

import os
import signal
from dataclasses import replace

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from shared import redis_keys
from shared.quiz.state import QuizState
from shared.resources import make_redis
from tests.helpers import HOST, create_quiz, join, open_question, submit
from tests.live_stack import RedisServer
from web import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


def test_a_close_whose_cache_write_failed_still_closes_the_question(settings, own_redis):
    own = replace(settings, redis_url=own_redis.url, celery_broker_url=own_redis.url)
    app = create_app(own)
    client = app.test_client()
    quiz = create_quiz(client, questions=2)
    code = quiz["quiz_id"]
    question = quiz["questions"][0]
    q1, right = question["question_id"], question["choices"][0]["choice_id"]
    ann, bob = join(client, code, "Ann"), join(client, code, "Bob")
    open_question(client, code, q1)
    assert submit(client, code, ann, q1, right).status_code == 202

    frozen = []

    def freeze_redis(_session: Session) -> None:
        if not frozen:  # the first commit after this point: the close's
            frozen.append(True)
            os.kill(own_redis.process.pid, signal.SIGSTOP)

    event.listen(Session, "after_commit", freeze_redis)
    try:
        failed = client.post(f"/api/v1/quizzes/{code}/questions/{q1}/close", headers=HOST)
    finally:
        event.remove(Session, "after_commit", freeze_redis)
        os.kill(own_redis.process.pid, signal.SIGCONT)
    assert frozen
    assert failed.status_code == 503

    # committed: a player's answer now is refused, whatever Redis held before
    late = submit(client, code, bob, q1, right)
    assert late.status_code == 409, late.json
    assert "not open" in late.json["message"]

    # the host's retry: 200, the question as it was closed, and the cache right again
    retry = client.post(f"/api/v1/quizzes/{code}/questions/{q1}/close", headers=HOST)
    assert retry.status_code == 200
    assert retry.json["status"] == "closed"
    cached = make_redis(own).get(redis_keys.quiz_state(code))
    assert QuizState.from_json(cached).questions[q1].status == "closed"
    # and the game goes on
    assert open_question(client, code, quiz["questions"][1]["question_id"])["status"] == "open"
    app.extensions["quiz.resources"].close()
