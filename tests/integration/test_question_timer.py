"""A question closes by itself when its timer runs out: a real worker with beat does it."""

from __future__ import annotations

import pytest

from tests.helpers import HOST
from tests.integration.support import create_quiz, rows, wait_until

pytestmark = pytest.mark.integration


def test_beat_closes_a_timed_out_question_at_its_deadline(client, engine, start_worker):
    start_worker(beat=True, QUIZ_QUESTION_TIMER_INTERVAL_S=0.5)
    code, questions = create_quiz(client, [(1000, 5), (1000, 5)])
    opened = client.post(f"/api/v1/quizzes/{code}/next", headers=HOST)
    assert opened.status_code == 200

    def first_question():
        [row] = rows(
            engine,
            "SELECT status, closes_at, closed_at FROM questions WHERE id = :id",
            id=questions[0].question_id,
        )
        return row

    wait_until(lambda: first_question().status == "closed", "the timer to close the question")
    closed = first_question()
    assert closed.closed_at == closed.closes_at
    # the next one waits for the host
    quiz = client.get(f"/api/v1/quizzes/{code}").json
    assert [q["status"] for q in quiz["questions"]] == ["closed", "pending"]
    assert quiz["status"] == "running"
