"""Server-Sent Events framing and a stream client's mailbox (no network)."""

import json

from web.live import LiveClient, sse_comment, sse_event


def test_an_event_has_its_id_name_and_one_line_of_json():
    chunk = sse_event({"a": 1, "text": "two\nlines"}, "leaderboard", 7)
    assert chunk.endswith("\n\n")
    lines = chunk.rstrip("\n").split("\n")
    assert lines[0] == "id: 7"
    assert lines[1] == "event: leaderboard"
    assert lines[2].startswith("data: ")
    assert json.loads(lines[2][len("data: ") :]) == {"a": 1, "text": "two\nlines"}


def test_an_event_without_id_leaves_the_last_event_id_alone():
    assert sse_event({}, "quiz").startswith("event: quiz\n")


def test_a_comment_is_ignored_by_clients():
    assert sse_comment("heartbeat") == ": heartbeat\n\n"


def test_a_client_gets_only_the_newest_board():
    client = LiveClient("Q1", 10, None)
    client.offer_board(1, "one")
    client.offer_board(3, "three")
    client.offer_board(2, "two, late")
    assert client.wait(0) == "three"
    assert client.wait(0) == ""


def test_a_board_older_than_the_snapshot_is_not_sent():
    client = LiveClient("Q1", 10, None)
    client.saw(5)
    client.offer_board(4, "older")
    assert client.wait(0) == ""
    client.offer_board(5, "the snapshot again")
    assert client.wait(0) == ""
    client.offer_board(6, "newer")
    assert client.wait(0) == "newer"


def test_question_changes_come_before_the_board():
    client = LiveClient("Q1", 10, None)
    client.offer_board(1, "board")
    client.offer_event("quiz-a")
    client.offer_event("quiz-b")
    assert client.wait(0) == "quiz-aquiz-bboard"


def test_a_board_offered_before_the_snapshot_was_read_is_not_sent_twice():
    client = LiveClient("Q1", 10, None)
    client.offer_board(5, "board 5")
    client.saw(5)
    assert client.wait(0) == ""
    client.offer_board(6, "board 6")
    client.saw(5)
    assert client.wait(0) == "board 6"
