"""shared.logging: one JSON object per line, with the request/task ids, and no secrets."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from shared import logging as quiz_logging
from shared.tokens import issue_participant_token


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """Logs of the `quiz.test` logger as JSON lines into a buffer."""
    buffer = io.StringIO()
    logger = logging.getLogger("quiz.test")
    handler = quiz_logging.json_handler("unit", buffer)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield buffer
    logger.removeHandler(handler)
    logger.propagate = True


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_record_is_one_json_line_with_its_context_and_extras(output):
    log = logging.getLogger("quiz.test")
    with quiz_logging.bound(request_id="req-1", task_id="task-9"):
        log.info("score_answer.done answer_id=%s", 7, extra={"points": 967})
    log.warning("outside")

    first, second = lines(output)
    assert first["message"] == "score_answer.done answer_id=7"
    assert first["level"] == "INFO"
    assert first["logger"] == "quiz.test"
    assert first["component"] == "unit"
    assert (first["request_id"], first["task_id"], first["points"]) == ("req-1", "task-9", 967)
    assert "ts" in first and "pid" in first
    # the context ends with its block
    assert "request_id" not in second and "task_id" not in second


def test_an_exception_travels_in_the_same_line(output):
    log = logging.getLogger("quiz.test")
    try:
        raise ValueError("broken")
    except ValueError:
        log.exception("task.failed")
    (line,) = lines(output)
    assert line["message"] == "task.failed"
    assert "ValueError: broken" in line["exc"]


def test_credentials_are_masked_wherever_they_appear(output):
    token = issue_participant_token("a-secret", "ABC123", 42)
    log = logging.getLogger("quiz.test")
    log.info("auth header was Bearer %s", token)
    log.info("token alone %s", token)
    log.info("connecting to postgresql+psycopg2://quiz:hunter2@db:5432/quiz")
    log.info("X-Host-Key: the-host-key and SECRET_KEY=s3cr3t password=pw")
    log.info("sent", extra={"host_key": "the-host-key", "answer_id": 3})

    text = output.getvalue()
    for secret in (token, "hunter2", "the-host-key", "s3cr3t", "=pw"):
        assert secret not in text
    got = lines(output)
    assert got[2]["message"] == "connecting to postgresql+psycopg2://quiz:[redacted]@db:5432/quiz"
    assert got[4]["host_key"] == "[redacted]" and got[4]["answer_id"] == 3


def test_lists_stay_lists_and_are_masked_item_by_item(output):
    token = issue_participant_token("a-secret", "ABC123", 42)
    log = logging.getLogger("quiz.test")
    log.info("applied", extra={"answer_ids": [3, 4], "request_ids": ["req-1", token]})
    (line,) = lines(output)
    assert line["answer_ids"] == [3, 4]
    assert line["request_ids"] == ["req-1", "[redacted]"]


def test_configure_logging_replaces_its_own_handler_only():
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    try:
        quiz_logging.configure_logging("web", "DEBUG", io.StringIO())
        quiz_logging.configure_logging("worker", "INFO", io.StringIO())
        ours = [h for h in root.handlers if getattr(h, "quiz_json", False)]
        assert len(ours) == 1
        assert ours[0].formatter.component == "worker"
        assert foreign in root.handlers
        assert root.level == logging.INFO
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)


def test_correlation_headers_carry_only_a_request_id():
    assert quiz_logging.correlation_headers() == {}
    with quiz_logging.bound(request_id="req-2", task_id="t"):
        assert quiz_logging.correlation_headers() == {"request_id": "req-2"}
