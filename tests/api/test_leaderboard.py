"""GET …/leaderboard and its live stream through the Flask client, real Redis and PostgreSQL.

The consumer runs in a thread of the test (the same class `python -m worker.leaderboard`
runs), reading the events that eager scoring publishes on the test's broker.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import jsonschema
import pytest

from shared import live_notices, redis_keys
from shared.leaderboard.ranking import member_of
from shared.leaderboard.service import apply_update
from shared.resources import Resources
from tests.helpers import create_quiz, join, open_question, submit, wait_until
from tests.integration.leaderboard.support import event
from worker.leaderboard.consumer import LeaderboardConsumer, broker_connection

WAIT_S = 30.0


@pytest.fixture
def consumer(settings):
    """The leaderboard consumer, in a thread, on the test's broker and Redis DB."""
    resources = Resources(settings)
    running = LeaderboardConsumer(broker_connection(settings), resources)
    thread = threading.Thread(target=lambda: running.run(safety_interval=0.05), daemon=True)
    thread.start()
    yield running
    running.should_stop = True
    thread.join(timeout=10)
    resources.close()


def leaderboard(client, quiz_id, **query):
    return client.get(f"/api/v1/quizzes/{quiz_id}/leaderboard", query_string=query)


def give(app, quiz_id, player, total):
    """What the consumer does with a scored answer's event: the new absolute total."""
    resources = app.extensions["quiz.resources"]
    payload = event(quiz_id, player["participant_id"], player["display_name"], total)
    apply_update(resources.redis, resources.session_factory, payload)


def rows(body):
    return [(e["rank"], e["display_name"], e["score"]) for e in body["entries"]]


# --- reading ----------------------------------------------------------------------------


def test_a_new_quiz_has_an_empty_board(client):
    quiz = create_quiz(client)
    response = leaderboard(client, quiz["quiz_id"])
    assert response.status_code == 200
    assert response.json["quiz_id"] == quiz["quiz_id"]
    assert response.json["total_participants"] == 0
    assert response.json["entries"] == []
    assert "me" not in response.json


def test_players_are_on_the_board_with_zero_as_soon_as_they_join(client):
    quiz = create_quiz(client)
    ann, bob = join(client, quiz["quiz_id"], "Ann"), join(client, quiz["quiz_id"], "Bob")
    body = leaderboard(client, quiz["quiz_id"].lower()).json
    assert body["total_participants"] == 2
    assert body["entries"] == [
        {"rank": 1, "participant_id": ann["participant_id"], "display_name": "Ann", "score": 0},
        {"rank": 1, "participant_id": bob["participant_id"], "display_name": "Bob", "score": 0},
    ]


def test_a_scored_answer_reaches_the_board_through_the_consumer(client, consumer):
    quiz = create_quiz(client)
    question = quiz["questions"][0]
    ann = join(client, quiz["quiz_id"], "Ann")
    join(client, quiz["quiz_id"], "Bob")
    open_question(client, quiz["quiz_id"], question["question_id"])
    response = submit(
        client, quiz["quiz_id"], ann, question["question_id"], question["choices"][0]["choice_id"]
    )
    assert response.status_code == 202
    total = client.get(response.json["status_url"]).json["result"]["total_score"]
    assert total > 0
    wait_until(
        lambda: rows(leaderboard(client, quiz["quiz_id"]).json)[0] == (1, "Ann", total),
        "Ann's score on the board",
    )
    assert rows(leaderboard(client, quiz["quiz_id"]).json)[1] == (2, "Bob", 0)


def test_ties_share_a_rank_and_the_first_to_join_comes_first(app, client):
    quiz = create_quiz(client)
    players = [join(client, quiz["quiz_id"], name) for name in ("Ann", "Bob", "Cy", "Dee")]
    for player, total in zip(players, [500, 900, 500, 100], strict=True):
        give(app, quiz["quiz_id"], player, total)
    assert rows(leaderboard(client, quiz["quiz_id"]).json) == [
        (1, "Bob", 900),
        (2, "Ann", 500),
        (2, "Cy", 500),
        (4, "Dee", 100),
    ]


def test_the_limit_defaults_to_ten_and_cuts_the_top(app, client):
    quiz = create_quiz(client)
    for n in range(12):
        give(app, quiz["quiz_id"], join(client, quiz["quiz_id"], f"P{n:02d}"), 100 * n)
    body = leaderboard(client, quiz["quiz_id"]).json
    assert body["total_participants"] == 12
    assert [e["display_name"] for e in body["entries"]] == [f"P{n:02d}" for n in range(11, 1, -1)]
    assert rows(leaderboard(client, quiz["quiz_id"], limit=2).json) == [
        (1, "P11", 1100),
        (2, "P10", 1000),
    ]


def test_me_and_my_neighbours(app, client):
    quiz = create_quiz(client)
    players = {n: join(client, quiz["quiz_id"], f"P{n}") for n in range(8)}
    for n, player in players.items():
        give(app, quiz["quiz_id"], player, [700, 600, 500, 500, 500, 200, 100, 0][n])
    me = players[4]
    body = leaderboard(client, quiz["quiz_id"], limit=1, participant_id=me["participant_id"]).json
    assert body["me"] == {
        "rank": 3,
        "participant_id": me["participant_id"],
        "display_name": "P4",
        "score": 500,
    }
    assert [(e["rank"], e["display_name"]) for e in body["around_me"]] == [
        (3, "P2"),
        (3, "P3"),
        (3, "P4"),
        (6, "P5"),
        (7, "P6"),
    ]
    assert rows(body) == [(1, "P0", 700)]
    top = leaderboard(client, quiz["quiz_id"], participant_id=players[0]["participant_id"]).json
    assert [e["display_name"] for e in top["around_me"]] == ["P0", "P1", "P2"]


def test_each_read_answers_the_board_as_it_stands_though_the_process_keeps_its_top(app, client):
    quiz = create_quiz(client)
    ann, bob = (join(client, quiz["quiz_id"], name) for name in ("Ann", "Bob"))
    first = leaderboard(client, quiz["quiz_id"]).json
    # unchanged: the same board, from the top this process rendered
    assert leaderboard(client, quiz["quiz_id"]).json == first
    give(app, quiz["quiz_id"], bob, 967)
    moved = leaderboard(client, quiz["quiz_id"]).json
    assert moved["version"] > first["version"]
    assert rows(moved) == [(1, "Bob", 967), (2, "Ann", 0)]
    mine = leaderboard(client, quiz["quiz_id"], participant_id=ann["participant_id"]).json
    assert rows(mine) == rows(moved) and mine["me"]["rank"] == 2
    cy = join(client, quiz["quiz_id"], "Cy")
    joined = leaderboard(client, quiz["quiz_id"], participant_id=cy["participant_id"]).json
    assert joined["total_participants"] == 3 and joined["me"]["display_name"] == "Cy"


def test_a_player_missing_from_the_board_is_put_back_from_the_database(app, client):
    """Joined while Redis was unreachable: the first read with their id adds them."""
    quiz = create_quiz(client)
    ann = join(client, quiz["quiz_id"], "Ann")
    redis = app.extensions["quiz.resources"].redis
    member = member_of(ann["participant_id"])
    redis.zrem(redis_keys.leaderboard(quiz["quiz_id"]), member)
    redis.hdel(redis_keys.leaderboard_names(quiz["quiz_id"]), member)
    body = leaderboard(client, quiz["quiz_id"], participant_id=ann["participant_id"]).json
    assert body["me"]["display_name"] == "Ann"
    assert body["total_participants"] == 1


def test_a_board_lost_in_redis_is_rebuilt_on_read(app, client):
    quiz = create_quiz(client)
    join(client, quiz["quiz_id"], "Ann")
    join(client, quiz["quiz_id"], "Bob")
    app.extensions["quiz.resources"].redis.flushdb()
    body = leaderboard(client, quiz["quiz_id"]).json
    assert [e["display_name"] for e in body["entries"]] == ["Ann", "Bob"]


def test_an_unknown_quiz_is_404(client):
    response = leaderboard(client, "NOPE42")
    assert response.status_code == 404
    assert "NOPE42" in response.json["message"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"participant_id": "me"}, "participant_id"),
        ({"participant_id": 0}, "participant_id"),
        ({"participant_id": 2**63}, "participant_id"),
    ],
)
def test_bad_query_arguments_are_422(client, query, field):
    quiz = create_quiz(client)
    for path in ("leaderboard", "leaderboard/stream"):
        response = client.get(f"/api/v1/quizzes/{quiz['quiz_id']}/{path}", query_string=query)
        assert response.status_code == 422, path
        assert response.json["code"] == 422
        assert field in response.json["message"]
        assert field in response.json["errors"]["query"]


def test_a_participant_of_another_quiz_is_422(client):
    quiz, other = create_quiz(client), create_quiz(client)
    stranger = join(client, other["quiz_id"], "Zed")
    response = leaderboard(client, quiz["quiz_id"], participant_id=stranger["participant_id"])
    assert response.status_code == 422
    assert "participant_id" in response.json["errors"]["query"]


def test_the_largest_limit_is_100(client):
    quiz = create_quiz(client)
    assert leaderboard(client, quiz["quiz_id"], limit=100).status_code == 200


# --- the stream ---------------------------------------------------------------------------


def test_the_stream_starts_with_a_snapshot_and_sends_each_change(app, client, consumer, stream):
    quiz = create_quiz(client)
    question = quiz["questions"][0]
    ann = join(client, quiz["quiz_id"], "Ann")
    join(client, quiz["quiz_id"], "Bob")
    live = stream(quiz["quiz_id"], limit=5)
    snapshot = live.next_event()
    assert snapshot["event"] == "leaderboard"
    assert snapshot["data"]["total_participants"] == 2
    assert [e["score"] for e in snapshot["data"]["entries"]] == [0, 0]
    assert snapshot["id"] == str(snapshot["data"]["version"])

    open_question(client, quiz["quiz_id"], question["question_id"])
    opened = live.next_event()
    assert opened["event"] == "quiz"
    assert opened["data"]["questions"][0]["status"] == "open"
    assert "correct" not in opened["data"]["questions"][0]["choices"][0]

    submit(
        client, quiz["quiz_id"], ann, question["question_id"], question["choices"][0]["choice_id"]
    )
    update = live.next_event()
    while update["event"] != "leaderboard" or update["data"]["entries"][0]["score"] == 0:
        update = live.next_event()
    assert update["data"]["entries"][0]["display_name"] == "Ann"
    assert int(update["id"]) > int(snapshot["id"])


def test_a_stream_with_participant_id_carries_that_player_s_row(app, client, stream):
    quiz = create_quiz(client)
    players = [join(client, quiz["quiz_id"], name) for name in ("Ann", "Bob", "Cy")]
    live = stream(quiz["quiz_id"], limit=1, participant_id=players[2]["participant_id"])
    assert live.next_event()["data"]["me"]["rank"] == 1
    give(app, quiz["quiz_id"], players[0], 300)
    live_notices.publish(app.extensions["quiz.resources"].redis, quiz["quiz_id"])
    update = live.next_event()
    assert update["data"]["me"]["display_name"] == "Cy"
    assert update["data"]["me"]["rank"] == 2
    assert [e["display_name"] for e in update["data"]["entries"]] == ["Ann"]


def test_a_client_that_reconnects_up_to_date_gets_no_snapshot(app, client, stream):
    quiz = create_quiz(client)
    ann = join(client, quiz["quiz_id"], "Ann")
    first = stream(quiz["quiz_id"]).next_event()
    again = stream(quiz["quiz_id"], headers={"Last-Event-ID": first["id"]})
    with pytest.raises(AssertionError, match="no event in time"):
        again.next_event(timeout=1.0)
    give(app, quiz["quiz_id"], ann, 50)
    live_notices.publish(app.extensions["quiz.resources"].redis, quiz["quiz_id"])
    assert again.next_event()["data"]["entries"][0]["score"] == 50


def test_a_client_behind_gets_a_fresh_snapshot(app, client, stream):
    quiz = create_quiz(client)
    ann = join(client, quiz["quiz_id"], "Ann")
    first = stream(quiz["quiz_id"]).next_event()
    give(app, quiz["quiz_id"], ann, 70)
    again = stream(quiz["quiz_id"], headers={"Last-Event-ID": first["id"]}).next_event()
    assert again["data"]["entries"][0]["score"] == 70
    assert int(again["id"]) > int(first["id"])


def test_a_client_that_leaves_is_forgotten(app, client, stream):
    quiz = create_quiz(client)
    hub_clients = lambda: app.extensions["quiz.live_hub"].client_count()  # noqa: E731
    read = stream(quiz["quiz_id"])
    read.next_event()
    never_read = stream(quiz["quiz_id"])
    assert hub_clients() == 2
    read.close()
    never_read.close()
    assert hub_clients() == 0


def test_streaming_an_unknown_quiz_is_404_json(client):
    response = client.get("/api/v1/quizzes/NOPE42/leaderboard/stream")
    assert response.status_code == 404
    assert response.json["message"]


def test_a_notice_for_a_stream_of_an_unknown_quiz_is_not_an_error(app, client, stream, caplog):
    """A stream request of an unknown code sits in the hub for a moment before its 404."""
    quiz = create_quiz(client)
    ann = join(client, quiz["quiz_id"], "Ann")
    live = stream(quiz["quiz_id"])
    live.next_event()
    hub = app.extensions["quiz.live_hub"]
    leaving = hub.connect("NOPE42", 10, None)
    try:
        redis_client = app.extensions["quiz.resources"].redis
        live_notices.publish(redis_client, "NOPE42")
        give(app, quiz["quiz_id"], ann, 50)
        live_notices.publish(redis_client, quiz["quiz_id"])
        # the hub handles notices in order: this update comes after NOPE42's notice was read
        assert live.next_event()["data"]["entries"][0]["score"] == 50
        assert leaving.wait(0) == ""
    finally:
        hub.disconnect(leaving)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


def test_heartbeats_keep_an_idle_stream_open(app, client, stream):
    quiz = create_quiz(client)
    live = stream(quiz["quiz_id"])
    live.next_event()
    seen = ""
    deadline = time.monotonic() + WAIT_S
    while ": heartbeat" not in seen and time.monotonic() < deadline:
        seen += next(live.chunks).decode()
    assert ": heartbeat\n\n" in seen


# --- documentation and pages ----------------------------------------------------------------


def test_both_endpoints_are_documented(client):
    spec = client.get("/openapi.json").json
    read = spec["paths"]["/api/v1/quizzes/{quiz_id}/leaderboard"]["get"]
    live = spec["paths"]["/api/v1/quizzes/{quiz_id}/leaderboard/stream"]["get"]
    for operation in (read, live):
        assert operation["summary"]
        assert {"200", "404", "422"} <= set(operation["responses"])
        assert {"limit", "participant_id"} <= {p["name"] for p in operation["parameters"]}
    assert "joined first" in read["description"]
    assert "1, 2, 2, 4" in read["description"]
    assert "text/event-stream" in live["responses"]["200"]["content"]
    assert any(p["name"] == "Last-Event-ID" for p in live["parameters"])
    schemas = spec["components"]["schemas"]
    entry = schemas["LeaderboardEntry"]["properties"]
    assert set(entry) == {"rank", "participant_id", "display_name", "score"}
    body = schemas["LeaderboardRead"]["properties"]
    assert {"quiz_id", "total_participants", "entries", "me"} <= set(body)
    # the read's board after a question adds the movement and right answers to each entry
    assert "after_question" in {p["name"] for p in read["parameters"]}
    assert set(schemas["StandingEntry"]["properties"]) == {
        *entry,
        "correct_answers",
        "previous_rank",
        "movement",
    }
    assert {"after_question", "question_id"} <= set(schemas["LeaderboardRead"]["properties"])


def test_the_live_pages_are_served_without_outside_resources(client):
    quiz = create_quiz(client)
    board_page = client.get(f"/quizzes/{quiz['quiz_id'].lower()}/board")
    play_page = client.get("/play")
    host_page = client.get(f"/host/{quiz['quiz_id'].lower()}")
    for page in (board_page, play_page, host_page):
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert '<html lang="en">' in html
        assert 'name="viewport"' in html
        assert "http://" not in html and "https://" not in html
    assert f'data-quiz="{quiz["quiz_id"]}"' in board_page.get_data(as_text=True)
    play = play_page.get_data(as_text=True)
    assert '<label for="code">' in play and '<label for="name">' in play
    host = host_page.get_data(as_text=True)
    assert f'data-quiz="{quiz["quiz_id"]}"' in host
    # the host key is typed into the page, never rendered into it
    assert "test-host-key" not in host
    for asset in ("common.js", "board.js", "play.js", "host.js", "live.css"):
        response = client.get(f"/static/live/{asset}")
        assert response.status_code == 200, asset
        assert "https://" not in response.get_data(as_text=True)
        response.close()


def test_each_event_of_the_stream_is_what_the_document_says(client, consumer, stream):
    quiz = create_quiz(client)
    join(client, quiz["quiz_id"], "Ann")
    live = stream(quiz["quiz_id"])
    snapshot = live.next_event()
    open_question(client, quiz["quiz_id"], quiz["questions"][0]["question_id"])
    opened = live.next_event()
    spec = client.get("/openapi.json").json
    operation = spec["paths"]["/api/v1/quizzes/{quiz_id}/leaderboard/stream"]["get"]
    schema = operation["responses"]["200"]["content"]["text/event-stream"]["schema"]
    validator = jsonschema.Draft7Validator({**schema, "components": spec["components"]})
    for fields in (snapshot, opened):
        # the event as a client's EventSource sees it: `data` is the line of JSON
        validator.validate({**fields, "data": json.dumps(fields["data"])})
    assert (snapshot["event"], opened["event"]) == ("leaderboard", "quiz")
