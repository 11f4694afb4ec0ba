"""Rate limits and stream caps: 429 (or 503) JSON with Retry-After, nothing written, and
one switch that turns them all off. Counted in the test's own Redis DB."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from scripts.processes import RedisServer, free_port
from shared.config import Settings
from tests.helpers import bearer, create_quiz, join, open_question, row_counts, submit
from web import create_app
from worker.base import resources_for

Client = Callable[..., FlaskClient]


@pytest.fixture
def client_with(settings: Settings) -> Iterator[Client]:
    """A test client of an app with these settings changed (eager Celery)."""
    apps = []

    def make(**changes: Any) -> FlaskClient:
        app = create_app(replace(settings, **changes))
        app.extensions["celery"].conf.update(task_always_eager=True, task_eager_propagates=True)
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        hub = app.extensions.get("quiz.live_hub")
        if hub is not None:
            hub.stop()
        resources_for(app.extensions["celery"]).close()
        app.extensions["quiz.resources"].close()


def assert_limited(response: Any, status: int = 429) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.json["code"] == status
    assert response.json["message"]
    assert int(response.headers["Retry-After"]) >= 1


def join_as(client: FlaskClient, code: str, name: str, address: str = "127.0.0.1") -> Any:
    return client.post(
        f"/api/v1/quizzes/{code}/participants",
        json={"display_name": name},
        environ_base={"REMOTE_ADDR": address},
    )


def test_a_player_answering_too_often_gets_429_and_others_still_answer(client_with, engine):
    client = client_with(rate_limit_answers="3/minute")
    quiz = create_quiz(client)
    code, question = quiz["quiz_id"], quiz["questions"][0]
    open_question(client, code, question["question_id"])
    ann, bob = join(client, code, "Ann"), join(client, code, "Bob")
    choice = question["choices"][0]["choice_id"]
    # the first answer and its retries count: a retry storm is refused too
    for _ in range(3):
        assert submit(client, code, ann, question["question_id"], choice).status_code == 202
    before = row_counts(engine)
    limited = client.post(
        f"/api/v1/quizzes/{code}/answers",
        json={"question_id": quiz["questions"][1]["question_id"], "choice_id": 1},
        headers=bearer(ann),
    )
    assert_limited(limited)
    assert "this player" in limited.json["message"]
    assert row_counts(engine) == before
    assert submit(client, code, bob, question["question_id"], choice).status_code == 202


def test_a_bad_token_is_401_before_any_limit_counts(client_with):
    client = client_with(rate_limit_answers="1/minute")
    quiz = create_quiz(client)
    for _ in range(3):
        response = client.post(
            f"/api/v1/quizzes/{quiz['quiz_id']}/answers",
            json={"question_id": 1, "choice_id": 1},
            headers={"Authorization": "Bearer forged"},
        )
        assert response.status_code == 401


def test_joins_are_limited_per_client_address(client_with, engine):
    client = client_with(rate_limit_joins="2/minute")
    code = create_quiz(client)["quiz_id"]
    assert join_as(client, code, "Ann").status_code == 201
    assert join_as(client, code, "Bob").status_code == 201
    before = row_counts(engine)
    assert_limited(join_as(client, code, "Cy"))
    assert row_counts(engine) == before
    # another address has its own count
    assert join_as(client, code, "Cy", address="10.1.2.3").status_code == 201


def test_quiz_lookups_are_limited_per_client_address(client_with):
    client = client_with(rate_limit_lookups="2/minute")
    code = create_quiz(client)["quiz_id"]
    assert client.get(f"/api/v1/quizzes/{code}").status_code == 200
    # unknown codes count too: guessing codes is what the limit stops
    assert client.get("/api/v1/quizzes/NOPE42").status_code == 404
    assert_limited(client.get(f"/api/v1/quizzes/{code}"))


def test_a_whole_school_behind_one_address_joins_with_the_defaults(client_with):
    client = client_with()
    code = create_quiz(client)["quiz_id"]
    statuses = {join_as(client, code, f"Pupil {n}").status_code for n in range(300)}
    assert statuses == {201}


def stream(client: FlaskClient, code: str, address: str = "127.0.0.1") -> Any:
    return client.get(
        f"/api/v1/quizzes/{code}/leaderboard/stream",
        buffered=False,
        environ_base={"REMOTE_ADDR": address},
    )


def test_streams_opened_too_often_from_one_address_get_429(client_with):
    client = client_with(rate_limit_streams="2/minute")
    code = create_quiz(client)["quiz_id"]
    opened = [stream(client, code), stream(client, code)]
    try:
        assert [s.status_code for s in opened] == [200, 200]
        assert_limited(stream(client, code))
    finally:
        for s in opened:
            s.close()


def test_streams_held_at_once_are_capped_per_address_then_per_process(client_with):
    client = client_with(streams_per_address=2, streams_per_process=3)
    code = create_quiz(client)["quiz_id"]
    opened = [stream(client, code), stream(client, code)]
    try:
        assert [s.status_code for s in opened] == [200, 200]
        refused = stream(client, code)
        assert_limited(refused)
        assert "this address" in refused.json["message"]
        opened.append(stream(client, code, address="10.1.2.3"))
        assert opened[-1].status_code == 200
        full = stream(client, code, address="10.9.9.9")
        assert_limited(full, status=503)
        assert "this server" in full.json["message"]
        # a stream that ends frees its place
        opened.pop(0).close()
        opened.append(stream(client, code))
        assert opened[-1].status_code == 200
    finally:
        for s in opened:
            s.close()


def test_x_forwarded_for_is_believed_only_from_trusted_proxies(client_with):
    forwarded = lambda n: {"X-Forwarded-For": f"203.0.113.{n}"}  # noqa: E731
    for trusted, expected in ((0, 429), (1, 201)):
        client = client_with(rate_limit_joins="1/minute", trusted_proxies=trusted)
        code = create_quiz(client)["quiz_id"]
        first = client.post(
            f"/api/v1/quizzes/{code}/participants",
            json={"display_name": "Ann"},
            headers=forwarded(1),
        )
        assert first.status_code == 201
        second = client.post(
            f"/api/v1/quizzes/{code}/participants",
            json={"display_name": "Bob"},
            headers=forwarded(2),
        )
        assert second.status_code == expected, trusted


def test_one_switch_turns_every_limit_and_cap_off(client_with):
    client = client_with(
        rate_limits=False,
        rate_limit_answers="1/minute",
        rate_limit_joins="1/minute",
        rate_limit_lookups="1/minute",
        rate_limit_streams="1/minute",
        streams_per_address=1,
        streams_per_process=1,
    )
    quiz = create_quiz(client)
    code, question = quiz["quiz_id"], quiz["questions"][0]
    open_question(client, code, question["question_id"])
    players = [join(client, code, f"P{n}") for n in range(3)]
    assert {client.get(f"/api/v1/quizzes/{code}").status_code for _ in range(3)} == {200}
    choice = question["choices"][0]["choice_id"]
    assert {
        submit(client, code, players[0], question["question_id"], choice).status_code
        for _ in range(3)
    } == {202}
    opened = [stream(client, code) for _ in range(3)]
    try:
        assert [s.status_code for s in opened] == [200, 200, 200]
    finally:
        for s in opened:
            s.close()


def test_stream_snapshots_never_take_the_api_s_redis_connections(client_with):
    """Streams may read their first board on half the pool at most: with that half busy a
    new stream waits (then 503), while the API's own reads go on."""
    client = client_with(redis_max_connections=4, redis_socket_timeout_s=0.5)
    code = create_quiz(client)["quiz_id"]
    opened = [stream(client, code)]  # the hub exists now
    hub = client.application.extensions["quiz.live_hub"]
    try:
        with hub.snapshot_slot(1.0), hub.snapshot_slot(1.0):
            assert_limited(stream(client, code), status=503)
            assert client.get(f"/api/v1/quizzes/{code}/leaderboard").status_code == 200
        opened.append(stream(client, code))
        assert [s.status_code for s in opened] == [200, 200]
    finally:
        for s in opened:
            s.close()


def test_while_redis_is_down_each_process_keeps_counting_on_its_own(client_with):
    """Reading a quiz needs only PostgreSQL: with Redis gone it still answers, and the
    limit still holds, counted in the process."""
    code = create_quiz(client_with())["quiz_id"]
    no_redis = f"redis://127.0.0.1:{free_port()}/0"
    client = client_with(
        redis_url=no_redis, redis_socket_timeout_s=0.2, rate_limit_lookups="2/minute"
    )
    assert [client.get(f"/api/v1/quizzes/{code}").status_code for _ in range(2)] == [200, 200]
    assert_limited(client.get(f"/api/v1/quizzes/{code}"))


def test_answers_are_still_counted_after_redis_forgot_its_scripts(client_with, tmp_path):
    """The answer path counts in its pipeline by script SHA1; a Redis restarted (here: its
    script cache flushed, on a Redis of the test's own) makes it count the slow way once."""
    server = RedisServer(tmp_path)
    server.start()
    try:
        client = client_with(redis_url=server.url, rate_limit_answers="2/minute")
        quiz = create_quiz(client)
        code, question = quiz["quiz_id"], quiz["questions"][0]
        open_question(client, code, question["question_id"])
        ann = join(client, code, "Ann")
        choice = question["choices"][0]["choice_id"]
        assert submit(client, code, ann, question["question_id"], choice).status_code == 202
        redis.Redis.from_url(server.url).script_flush()
        assert submit(client, code, ann, question["question_id"], choice).status_code == 202
        assert_limited(submit(client, code, ann, question["question_id"], choice))
    finally:
        server.stop()
