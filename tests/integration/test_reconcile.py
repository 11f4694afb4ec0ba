"""The reconciler against real PostgreSQL and Redis: a board corrupted on purpose is
repaired, players still active are left to their events, and a real worker's beat runs it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.leaderboard import board, rebuild, reconcile
from shared.leaderboard.ranking import member_of, participant_of
from tests.helpers import join
from tests.integration.support import create_quiz, execute, rows, scalar, wait_until

pytestmark = pytest.mark.integration


def players_of(client, engine):
    """A quiz with three players who have been quiet for a minute, its board built."""
    code, _ = create_quiz(client, [(1000, 20)])
    ids = [join(client, code, name)["participant_id"] for name in ("Ann", "Bob", "Cy")]
    for pid, total in zip(ids, (900, 450, 0), strict=True):
        execute(
            engine,
            "UPDATE participants SET total_score = :t, joined_at = now() - interval '1 minute' "
            "WHERE id = :id",
            t=total,
            id=pid,
        )
    quiz_pk = scalar(engine, "SELECT id FROM quizzes WHERE code = :c", c=code)
    return code, quiz_pk, ids


def board_of(redis_client, code):
    """Every (participant, name, score) the Redis board holds, read apart from the service."""
    scores = redis_client.zrange(f"quiz:{{{code}}}:leaderboard", 0, -1, withscores=True)
    names = redis_client.hgetall(f"quiz:{{{code}}}:leaderboard:names")
    return {(participant_of(m), names.get(m), int(s)) for m, s in scores}


def postgres_of(engine, quiz_pk):
    found = rows(
        engine,
        "SELECT id, display_name, total_score FROM participants "
        "WHERE quiz_id = :q AND removed_at IS NULL",
        q=quiz_pk,
    )
    return {(r.id, r.display_name, r.total_score) for r in found}


def corrupt(redis_client, code, ids):
    """A wrong score, a wrong name and a member nobody plays as, the board kept intact."""
    ann, bob, _ = ids
    redis_client.zadd(f"quiz:{{{code}}}:leaderboard", {member_of(ann): 5})
    redis_client.hset(f"quiz:{{{code}}}:leaderboard:names", member_of(bob), "Mallory")
    redis_client.zadd(f"quiz:{{{code}}}:leaderboard", {member_of(987654): 7000})
    redis_client.hset(f"quiz:{{{code}}}:leaderboard:names", member_of(987654), "Ghost")


def test_a_corrupted_board_is_repaired_and_counted(client, engine, session, redis_client):
    code, quiz_pk, ids = players_of(client, engine)
    rebuild.rebuild_board(session, redis_client, code)
    corrupt(redis_client, code, ids)
    assert board_of(redis_client, code) != postgres_of(engine, quiz_pk)
    version = int(redis_client.get(f"quiz:{{{code}}}:leaderboard:version"))

    repaired = reconcile.reconcile_quiz(session, redis_client, quiz_pk, code, datetime.now(UTC))
    assert repaired == 3
    assert board_of(redis_client, code) == postgres_of(engine, quiz_pk)
    assert int(redis_client.get("quiz:metrics:board-repairs")) == 3
    assert int(redis_client.get(f"quiz:{{{code}}}:leaderboard:version")) > version
    # and nothing more to do the second time
    assert reconcile.reconcile_quiz(session, redis_client, quiz_pk, code, datetime.now(UTC)) == 0


def test_active_players_removed_players_and_missing_boards_are_left_alone(
    client, engine, session, redis_client
):
    code, quiz_pk, (ann, bob, cy) = players_of(client, engine)
    rebuild.rebuild_board(session, redis_client, code)
    # Ann joined a moment ago: her events may still be on their way
    execute(engine, "UPDATE participants SET joined_at = now() WHERE id = :id", id=ann)
    redis_client.zadd(f"quiz:{{{code}}}:leaderboard", {member_of(ann): 5})
    # the host removed Bob: the board must not get him back
    board.remove_participant(redis_client, code, bob)
    execute(engine, "UPDATE participants SET removed_at = now() WHERE id = :id", id=bob)
    assert reconcile.reconcile_quiz(session, redis_client, quiz_pk, code, datetime.now(UTC)) == 0
    assert redis_client.zscore(f"quiz:{{{code}}}:leaderboard", member_of(ann)) == 5
    assert redis_client.zscore(f"quiz:{{{code}}}:leaderboard", member_of(bob)) is None

    redis_client.delete(f"quiz:{{{code}}}:leaderboard:names")
    assert reconcile.reconcile_quiz(session, redis_client, quiz_pk, code, datetime.now(UTC)) == 0


def test_a_large_board_is_compared_on_a_sample(client, engine, session, redis_client):
    code, quiz_pk, ids = players_of(client, engine)
    rebuild.rebuild_board(session, redis_client, code)
    corrupt(redis_client, code, ids)
    now = datetime.now(UTC)
    # a board this size is sampled: two of the three players, and no hunt for extras
    repaired = reconcile.reconcile_quiz(
        session, redis_client, quiz_pk, code, now, whole_below=3, sample_size=2
    )
    assert repaired <= 2
    assert redis_client.zscore(f"quiz:{{{code}}}:leaderboard", member_of(987654)) == 7000
    # sampled runs reach every player in the end
    wait_until(
        lambda: (
            reconcile.reconcile_quiz(
                session, redis_client, quiz_pk, code, now, whole_below=3, sample_size=2
            )
            == 0
            and redis_client.zscore(f"quiz:{{{code}}}:leaderboard", member_of(ids[0])) == 900
            and redis_client.hget(f"quiz:{{{code}}}:leaderboard:names", member_of(ids[1])) == "Bob"
        ),
        "sampled runs to repair both players",
    )


def test_beat_repairs_a_corrupted_board_and_metrics_count_it(
    client, engine, session, redis_client, start_worker
):
    code, quiz_pk, ids = players_of(client, engine)
    rebuild.rebuild_board(session, redis_client, code)
    session.close()
    corrupt(redis_client, code, ids)
    start_worker(beat=True, QUIZ_RECONCILE_INTERVAL_S=0.5)
    wait_until(
        lambda: board_of(redis_client, code) == postgres_of(engine, quiz_pk),
        "beat's reconciler to repair the board",
    )
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "quiz_board_repairs_total 3.0" in metrics
