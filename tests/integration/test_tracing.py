"""One grep follows an answer: HTTP request, scoring task, leaderboard event.

The request id the client sends (X-Request-ID) is logged by the web, travels in the task
message's headers, is logged by a real worker next to the task id, and rides on the
leaderboard event the worker publishes, for the consumer to log.
"""

from __future__ import annotations

import json

from tests.helpers import bearer, join, open_question
from tests.integration.support import (
    create_quiz,
    take_leaderboard_messages,
    wait_all_scored,
    wait_until,
)

REQUEST_ID = "trace-1b7f2e"


def grep(text: str, needle: str) -> list[dict]:
    """The JSON log lines of `text` that contain `needle`, as `grep` would find them."""
    return [json.loads(line) for line in text.splitlines() if needle in line and line[:1] == "{"]


def test_one_grep_follows_an_answer_from_http_to_the_leaderboard_event(
    settings, client, engine, start_worker, capsys
):
    worker = start_worker()
    code, (question,) = create_quiz(client, [(1000, 30)])
    open_question(client, code, question.question_id)
    ann = join(client, code, "Ann")
    capsys.readouterr()

    response = client.post(
        f"/api/v1/quizzes/{code}/answers",
        json={"question_id": question.question_id, "choice_id": question.right_choice},
        headers={**bearer(ann), "X-Request-ID": REQUEST_ID},
    )
    assert response.status_code == 202
    assert response.headers["X-Request-ID"] == REQUEST_ID
    task_id = response.json["task_id"]
    wait_all_scored(engine, 1)

    [message] = take_leaderboard_messages(settings.celery_broker_url, updates=1)
    assert message.headers["request_id"] == REQUEST_ID
    assert message.headers["request_ids"] == [REQUEST_ID]
    assert message.updates[0]["participant_id"] == ann["participant_id"]

    web = grep(capsys.readouterr().out, REQUEST_ID)
    assert [line["message"] for line in web] == ["request.finished"]
    assert web[0]["status"] == 202 and web[0]["component"] == "web"

    # the line is written once the batch committed
    scored = wait_until(
        lambda: [
            line
            for line in grep(worker.log(), REQUEST_ID)
            if line["message"] == "score_answer.settled" and line["task_id"] == task_id
        ],
        "the worker to log the task's success",
    )
    assert len(scored) == 1
    line = scored[0]
    assert (line["task_id"], line["task_name"]) == (task_id, "quiz.scoring.score_answer")
    assert line["component"] == "worker"
    # and nothing secret on the way
    assert ann["token"] not in worker.log()
