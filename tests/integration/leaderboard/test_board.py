"""The Redis board against real Redis and PostgreSQL: idempotent, order-free, ranked."""

import itertools
import random
import shlex
import threading
import uuid

import pytest
from sqlalchemy import text as sa_text

from shared import redis_keys
from shared.leaderboard import board, service
from shared.leaderboard.ranking import rank_all
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
from tests.integration.support import wait_until


@pytest.fixture
def quiz(session, redis_client):
    code, ids = make_quiz(session, ["Ann", "Bob", "Cy", "Dee", "Eve"])
    rebuild_board(session, redis_client, code)
    return code, ids


def apply(redis_client, session_factory, payload):
    return service.apply_update(redis_client, session_factory, payload)


@pytest.fixture
def session_factory(engine):
    from shared.db import make_session_factory

    return make_session_factory(engine)


def test_everyone_who_joined_is_on_the_board_with_zero(redis_client, quiz):
    code, ids = quiz
    assert whole_board(redis_client, code) == [
        (1, name, 0, pid) for name, pid in sorted(ids.items(), key=lambda item: item[1])
    ]


def test_the_same_event_twice_changes_the_board_once(redis_client, session_factory, quiz):
    code, ids = quiz
    payload = event(code, ids["Bob"], "Bob", 967)
    assert apply(redis_client, session_factory, payload) is True
    version = board.read(redis_client, code, 10).version
    assert apply(redis_client, session_factory, payload) is False
    after = board.read(redis_client, code, 10)
    assert after.version == version
    assert [(e.display_name, e.score, e.rank) for e in after.entries[:2]] == [
        ("Bob", 967, 1),
        ("Ann", 0, 2),
    ]


def test_an_older_total_arriving_late_never_lowers_the_board(redis_client, session_factory, quiz):
    code, ids = quiz
    apply(redis_client, session_factory, event(code, ids["Ann"], "Ann", 2067))
    assert apply(redis_client, session_factory, event(code, ids["Ann"], "Ann", 967)) is False
    assert whole_board(redis_client, code)[0] == (1, "Ann", 2067, ids["Ann"])


def test_any_order_of_a_game_s_events_gives_the_same_board(redis_client, session_factory, quiz):
    code, ids = quiz
    rng = random.Random(3)
    history = []
    for name, pid in ids.items():
        total = 0
        for _ in range(4):
            total += rng.choice([0, 500, 967, 1100])
            history.append(event(code, pid, name, total))
    expected = None
    for attempt in range(3):
        rebuild_board_from_zero(redis_client, code)
        shuffled = history + history[:5]  # some redelivered too
        random.Random(attempt).shuffle(shuffled)
        for payload in shuffled:
            apply(redis_client, session_factory, payload)
        result = whole_board(redis_client, code)
        expected = expected or result
        assert result == expected
    finals = {}
    for payload in history:
        finals[payload["participant_id"]] = payload["total_score"]
    assert {pid: score for _, _, score, pid in expected} == finals


def rebuild_board_from_zero(redis_client, code):
    """Put an empty board (everyone at 0) in place without PostgreSQL's totals."""
    view = board.read(redis_client, code, 10**6)
    standings = [board.Standing(e.participant_id, e.display_name, 0) for e in view.entries]
    board.replace(redis_client, code, standings, "test")


def test_equal_scores_share_a_rank_and_the_first_to_join_is_listed_first(
    redis_client, session_factory, quiz
):
    code, ids = quiz
    for name, total in [("Eve", 500), ("Bob", 900), ("Dee", 900), ("Ann", 500), ("Cy", 100)]:
        apply(redis_client, session_factory, event(code, ids[name], name, total))
    assert [(rank, name, score) for rank, name, score, _ in whole_board(redis_client, code)] == [
        (1, "Bob", 900),
        (1, "Dee", 900),
        (3, "Ann", 500),
        (3, "Eve", 500),
        (5, "Cy", 100),
    ]


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 10])
def test_the_top_of_the_board_is_ranked_like_the_whole(redis_client, session_factory, quiz, limit):
    code, ids = quiz
    for name, total in zip(ids, [300, 300, 300, 200, 0], strict=True):
        apply(redis_client, session_factory, event(code, ids[name], name, total))
    view = board.read(redis_client, code, limit)
    assert view.total_participants == 5
    assert [e.rank for e in view.entries] == [1, 1, 1, 4, 5][:limit]


def test_around_me_ranks_agree_with_the_whole_board(session, redis_client, session_factory):
    names = [f"P{n:02d}" for n in range(30)]
    code, ids = make_quiz(session, names)
    rng = random.Random(11)
    for name in names:
        set_total(session, ids[name], rng.choice([0, 100, 200, 300, 400]))
    rebuild_board(session, redis_client, code)
    whole = whole_board(redis_client, code)
    assert [rank for rank, *_ in whole] == rank_all([score for _, _, score, _ in whole])
    position = {pid: index for index, (_, _, _, pid) in enumerate(whole)}
    for name, pid in ids.items():
        view = board.read(redis_client, code, 3, participant_id=pid, around=2)
        me = view.row_of(pid)
        mine = position[pid]
        expected = whole[max(0, mine - 2) : mine + 3]
        assert [(e.rank, e.display_name, e.score, e.participant_id) for e in view.around] == (
            expected
        ), name
        assert (me.rank, me.score) == (whole[mine][0], whole[mine][2])
        assert view.entries == board.read(redis_client, code, 3).entries


def test_rows_give_each_participant_s_rank(redis_client, session_factory, quiz):
    code, ids = quiz
    for name, total in [("Ann", 50), ("Bob", 70), ("Cy", 70)]:
        apply(redis_client, session_factory, event(code, ids[name], name, total))
    rows = board.rows(redis_client, code, [ids["Ann"], ids["Cy"], ids["Eve"], 999999])
    assert {pid: (e.rank, e.score) for pid, e in rows.items()} == {
        ids["Ann"]: (3, 50),
        ids["Cy"]: (1, 70),
        ids["Eve"]: (4, 0),
    }


@pytest.mark.parametrize(
    "lose",
    [
        lambda code: [redis_keys.leaderboard(code), redis_keys.leaderboard_names(code)],
        lambda code: [redis_keys.leaderboard(code)],
        lambda code: [redis_keys.leaderboard_names(code)],
        # readers keep what they rendered of a version: a version must never restart at 0
        lambda code: [redis_keys.leaderboard_version(code)],
    ],
    ids=["flushed", "board evicted", "names evicted", "version evicted"],
)
def test_an_event_for_a_lost_board_rebuilds_it_whole(
    session, redis_client, session_factory, quiz, lose
):
    code, ids = quiz
    set_total(session, ids["Cy"], 1000)
    set_total(session, ids["Dee"], 967)
    redis_client.delete(*lose(code))
    assert board.read(redis_client, code, 10) is None
    assert apply(redis_client, session_factory, event(code, ids["Dee"], "Dee", 967)) is True
    assert scores_of(whole_board(redis_client, code)) == database_board(session, code)


def test_a_reader_who_knows_the_version_gets_the_top_again_only_once_it_moved(
    redis_client, session_factory, quiz
):
    code, ids = quiz
    first = board.read(redis_client, code, 3)
    same = board.read(redis_client, code, 3, ids["Cy"], around=1, known_version=first.version)
    assert (same.version, same.total_participants, same.entries) == (first.version, 5, None)
    # the reader's own rows come all the same
    assert [e.display_name for e in same.around] == ["Bob", "Cy", "Dee"]
    apply(redis_client, session_factory, event(code, ids["Eve"], "Eve", 500))
    moved = board.read(redis_client, code, 3, known_version=first.version)
    assert moved.version > first.version
    assert [(e.display_name, e.score) for e in moved.entries] == [
        ("Eve", 500),
        ("Ann", 0),
        ("Bob", 0),
    ]


def test_one_read_for_several_readers_gives_each_what_a_read_of_its_own_gives(
    session, redis_client
):
    names = [f"P{n:02d}" for n in range(30)]
    code, ids = make_quiz(session, names)
    rng = random.Random(5)
    for name in names:
        set_total(session, ids[name], rng.choice([0, 100, 200, 300]))
    rebuild_board(session, redis_client, code)
    readers = [ids[name] for name in names[::4]] + [10**12]  # the last is on no board
    view, rows = board.read_for(redis_client, code, 5, readers, around=2)
    for participant_id in readers:
        own = board.read(redis_client, code, 5, participant_id, around=2)
        assert (view.version, view.total_participants) == (own.version, own.total_participants)
        assert view.entries == own.entries
        assert rows.get(participant_id, []) == own.around
    assert 10**12 not in rows


def test_a_board_with_a_member_missing_its_name_is_not_used(redis_client, quiz):
    code, ids = quiz
    redis_client.zadd(redis_keys.leaderboard(code), {"0000000000000000001": 5})
    assert not board.is_intact(redis_client, code)
    assert board.read(redis_client, code, 10) is None


def test_a_read_runs_ranged_commands_only(session, redis_client, settings):
    """O(log N + k): ZREVRANGE over the asked ranges, ZREVRANK, ZCOUNT; never a scan."""
    code, ids = make_quiz(session, [f"P{n}" for n in range(40)])
    rebuild_board(session, redis_client, code)
    me = ids["P20"]
    commands = monitored(
        settings, lambda: board.read(redis_client, code, 5, participant_id=me, around=2)
    )
    names = {c[0] for c in commands}
    assert names <= {"EXISTS", "ZCARD", "HLEN", "ZREVRANGE", "HMGET", "ZREVRANK", "ZCOUNT", "GET"}
    assert {"ZREVRANGE", "ZREVRANK", "ZCOUNT"} <= names
    ranges = [(int(c[2]), int(c[3])) for c in commands if c[0] == "ZREVRANGE"]
    assert ranges[0] == (0, 4)
    assert len(ranges) == 2 and ranges[1][1] - ranges[1][0] == 4
    assert all(len(c) - 2 <= 5 for c in commands if c[0] == "HMGET")


def monitored(settings, action):
    """The commands `action` makes Redis run on the test DB, scripts included (MONITOR)."""
    marker = f"end-{uuid.uuid4().hex}"
    listening = f"on-{uuid.uuid4().hex}"
    db = settings.redis_url.rsplit("/", 1)[1]
    seen = []
    probe = make_redis(settings)
    with probe.monitor() as monitor:
        done, on = threading.Event(), threading.Event()

        def listen():
            for command in monitor.listen():
                words = shlex.split(command["command"])
                if words and words[-1] == listening:
                    on.set()
                    continue
                if words and words[-1] == marker:
                    done.set()
                    return
                if on.is_set() and str(command.get("db")) == db and words:
                    seen.append([words[0].upper(), *words[1:]])

        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        # MONITOR is on once it reports a command sent after it: the action starts then
        pinger = make_redis(settings)
        wait_until(lambda: pinger.echo(listening) and on.wait(0.05), "MONITOR to be on")
        action()
        make_redis(settings).echo(marker)
        assert done.wait(10)
    probe.close()
    # connection set-up and the script calls themselves are not board commands
    setup = ("EVAL", "EVALSHA", "ECHO", "SELECT", "CLIENT", "HELLO", "PING")
    return [c for c in seen if c[0] not in setup]


def test_the_version_grows_with_each_change_and_across_rebuilds(
    session, redis_client, session_factory, quiz
):
    code, ids = quiz
    versions = [board.read(redis_client, code, 1).version]
    for total in (100, 200):
        apply(redis_client, session_factory, event(code, ids["Ann"], "Ann", total))
        versions.append(board.read(redis_client, code, 1).version)
    rebuild_board(session, redis_client, code)
    versions.append(board.read(redis_client, code, 1).version)
    redis_client.delete(redis_keys.leaderboard_version(code))
    rebuild_board(session, redis_client, code)
    versions.append(board.read(redis_client, code, 1).version)
    assert all(a < b for a, b in itertools.pairwise(versions)), versions


def test_a_newer_score_epoch_replaces_a_total_and_an_older_one_is_stale(
    quiz, redis_client, session_factory
):
    code, ids = quiz
    ann = ids["Ann"]

    def ann_score():
        return scores_of(whole_board(redis_client, code))[ann][1]

    apply(redis_client, session_factory, event(code, ann, "Ann", 500))
    # a correction (epoch 1) lowers her total: applied although lower
    assert apply(redis_client, session_factory, event(code, ann, "Ann", 300, epoch=1))
    assert ann_score() == 300
    # an event computed before the correction, arriving late: stale, even though higher
    assert not apply(redis_client, session_factory, event(code, ann, "Ann", 900))
    assert ann_score() == 300
    # within the epoch totals only rise, as before any correction
    apply(redis_client, session_factory, event(code, ann, "Ann", 400, epoch=1))
    apply(redis_client, session_factory, event(code, ann, "Ann", 350, epoch=1))
    assert ann_score() == 400
    # the others, without a correction event yet, still take epoch-0 events
    bob = ids["Bob"]
    apply(redis_client, session_factory, event(code, bob, "Bob", 700))
    assert scores_of(whole_board(redis_client, code))[bob][1] == 700


def test_a_rebuild_keeps_the_quizs_epoch_so_stale_events_stay_stale(
    quiz, session, redis_client, session_factory
):
    code, ids = quiz
    ann = ids["Ann"]
    set_total(session, ann, 250)
    session.execute(sa_text("UPDATE quizzes SET score_epoch = 2 WHERE code = :c"), {"c": code})
    session.commit()
    rebuild_board(session, redis_client, code)
    assert scores_of(whole_board(redis_client, code))[ann][1] == 250
    assert not apply(redis_client, session_factory, event(code, ann, "Ann", 999, epoch=1))
    assert scores_of(whole_board(redis_client, code))[ann][1] == 250
