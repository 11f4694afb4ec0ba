"""Retention: finished quizzes past QUIZ_RETENTION_DAYS go, with all they hold; no other."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.quiz import privacy
from tests.helpers import HOST, join
from tests.integration.support import create_quiz, execute, scalar, wait_all_scored

pytestmark = pytest.mark.integration


def played(client, engine, finish: bool, age_days: int) -> str:
    code, questions = create_quiz(client, [(1000, 20)])
    player = join(client, code, f"Player of {code}")
    client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
    client.post(
        f"/api/v1/quizzes/{code}/answers",
        json={"question_id": questions[0].question_id, "choice_id": questions[0].right_choice},
        headers={"Authorization": f"Bearer {player['token']}"},
    )
    if finish:
        client.post(f"/api/v1/quizzes/{code}/finish", headers=HOST)
    execute(
        engine,
        "UPDATE quizzes SET created_at = now() - make_interval(days => :d) WHERE code = :c",
        d=age_days,
        c=code,
    )
    return code


def holdings(engine, redis_client, code):
    """Rows of the quiz in each table, and its Redis keys."""
    quiz = "(SELECT id FROM quizzes WHERE code = :c)"
    answers = (
        "SELECT a.id FROM answers a JOIN questions q ON q.id = a.question_id "
        f"WHERE q.quiz_id = {quiz}"
    )
    return {
        "quizzes": scalar(engine, "SELECT count(*) FROM quizzes WHERE code = :c", c=code),
        "participants": scalar(
            engine, f"SELECT count(*) FROM participants WHERE quiz_id = {quiz}", c=code
        ),
        "answers": scalar(engine, f"SELECT count(*) FROM ({answers}) a", c=code),
        "outbox": scalar(
            engine,
            "SELECT count(*) FROM outbox_events WHERE payload::text LIKE :like",
            like=f"%{code}%",
        ),
        "redis": len(list(redis_client.scan_iter(match=f"quiz:{{{code}}}:*"))),
    }


def test_only_finished_quizzes_past_retention_are_deleted(
    client, engine, session, redis_client, start_worker
):
    start_worker()
    old = played(client, engine, finish=True, age_days=91)
    recent = played(client, engine, finish=True, age_days=89)
    running = played(client, engine, finish=False, age_days=200)
    wait_all_scored(engine, 3)
    before = {code: holdings(engine, redis_client, code) for code in (old, recent, running)}
    assert all(count > 0 for count in before[old].values()), before[old]

    deleted = privacy.delete_old_quizzes(session, redis_client, datetime.now(UTC), 90)
    assert deleted == [old]
    assert holdings(engine, redis_client, old) == dict.fromkeys(before[old], 0)
    assert holdings(engine, redis_client, recent) == before[recent]
    assert holdings(engine, redis_client, running) == before[running]
    # nothing is due any more, and 0 days keeps everything
    assert privacy.delete_old_quizzes(session, redis_client, datetime.now(UTC), 90) == []
    assert privacy.delete_old_quizzes(session, redis_client, datetime.now(UTC), 0) == []
