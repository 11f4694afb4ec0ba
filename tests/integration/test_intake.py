"""The answers a gevent web process takes at once share one INSERT: each still accepted once.

Many players answer at the same moment through gunicorn (gevent, as `make run` serves
the API), some sending the same answer twice, with and without an Idempotency-Key, one
sending a second, different answer. Every first answer is accepted and scored once,
every copy is a replay with the first one's task id, the second answer is a conflict.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers import HOST
from tests.integration.support import rows, wait_all_scored
from tests.live_stack import free_port, start_web, start_worker

pytestmark = pytest.mark.integration

PLAYERS = 60


def call(url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_answers_arriving_together_are_each_accepted_once(settings, engine, tmp_path):
    port = free_port()
    worker = start_worker(settings, tmp_path)
    web = start_web(settings, tmp_path, port)
    try:
        api = f"http://127.0.0.1:{port}/api/v1"
        body = {
            "title": "Intake",
            "questions": [
                {
                    "text": "Past tense of go?",
                    "time_limit_s": 60,
                    "choices": [
                        {"text": "went", "correct": True},
                        {"text": "goed", "correct": False},
                    ],
                }
            ],
        }
        status, quiz = call(f"{api}/quizzes", body, HOST)
        assert status == 201
        code = quiz["quiz_id"]
        [question] = quiz["questions"]
        right, wrong = (c["choice_id"] for c in question["choices"])
        players = []
        for n in range(PLAYERS):
            status, joined = call(f"{api}/quizzes/{code}/participants", {"display_name": f"P{n}"})
            assert status == 201
            players.append(joined)
        status, _ = call(
            f"{api}/quizzes/{code}/questions/{question['question_id']}/open", None, HOST
        )
        assert status == 200

        def answer(job: tuple[int, int, str | None]) -> tuple[int, int, dict]:
            n, choice, key = job
            headers = {"Authorization": f"Bearer {players[n]['token']}"}
            if key:
                headers["Idempotency-Key"] = key
            answer_body = {"question_id": question["question_id"], "choice_id": choice}
            status, reply = call(f"{api}/quizzes/{code}/answers", answer_body, headers)
            return n, status, reply

        jobs = []
        for n in range(PLAYERS):
            key = f"key-{n}" if n % 2 else None
            jobs.append((n, right, key))
            if n % 3 == 0:
                jobs.append((n, right, key))  # the same answer again: a replay
        jobs.append((1, wrong, None))  # a second, different answer: a conflict
        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(answer, jobs))

        by_player: dict[int, list[tuple[int, dict]]] = {}
        for n, status, reply in results:
            by_player.setdefault(n, []).append((status, reply))
        for n, replies in by_player.items():
            accepted = [reply["task_id"] for status, reply in replies if status == 202]
            # every copy of the first answer got the same task id
            assert len(set(accepted)) == 1, (n, replies)
            if n == 1:
                assert sorted(status for status, _ in replies) == [202, 409]
            else:
                assert {status for status, _ in replies} == {202}

        wait_all_scored(engine, expected_answers=PLAYERS)
        stored = rows(
            engine, "SELECT participant_id, count(*) AS n FROM answers GROUP BY participant_id"
        )
        assert len(stored) == PLAYERS and {r.n for r in stored} == {1}
        # scored with the total in one transaction: every right answer earned its points
        totals = [r.total_score for r in rows(engine, "SELECT total_score FROM participants")]
        assert len(totals) == PLAYERS and all(total > 0 for total in totals)
    finally:
        web.stop()
        worker.stop()
