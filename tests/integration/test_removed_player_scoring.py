"""An answer that slipped in as its player was removed is rejected by the scorer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.quiz.batch_scoring import score_answers
from tests.integration.support import accept_one_right_answer, execute, rows, scalar

pytestmark = pytest.mark.integration


def test_the_scorer_rejects_an_accepted_answer_of_a_removed_player(client, engine):
    accepted = accept_one_right_answer(client)
    # the removal committed after the answer's INSERT had read the player (a race)
    execute(
        engine,
        "UPDATE participants SET removed_at = now() WHERE id = :p",
        p=accepted.participant_id,
    )
    answer_id = scalar(engine, "SELECT id FROM answers WHERE task_id = :t", t=accepted.task_id)
    with engine.begin() as conn:
        score_answers(conn, [answer_id], datetime.now(UTC))
    [answer] = rows(engine, "SELECT state, reject_reason, points FROM answers")
    assert (answer.state, answer.reject_reason, answer.points) == (
        "rejected",
        "removed_player",
        None,
    )
    assert scalar(engine, "SELECT count(*) FROM outbox_events") == 0
    total = scalar(
        engine, "SELECT total_score FROM participants WHERE id = :p", p=accepted.participant_id
    )
    assert total == 0
