"""How a submission that lost the INSERT is answered: replay, key reuse or conflict."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import Conflict, IdempotencyKeyReused
from shared.quiz.submissions import StoredAnswer, Submission, resolve_conflict

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DAY_S = 24 * 3600


def stored(submission: Submission, received_at: datetime = NOW, **changes) -> StoredAnswer:
    values = {
        "answer_id": 7,
        "question_id": submission.question_id,
        "task_id": "task-7",
        "idempotency_key": submission.effective_key,
        "fingerprint": submission.fingerprint,
        "received_at": received_at,
    }
    values.update(changes)
    return StoredAnswer(**values)


def test_without_a_key_the_question_is_the_key():
    assert Submission(1, 42, 3).effective_key == "question:42"
    assert Submission(1, 42, 3, "k1").effective_key == "k1"


def test_fingerprint_depends_on_question_and_choice_only():
    assert Submission(1, 42, 3).fingerprint == Submission(2, 42, 3, "k").fingerprint
    assert Submission(1, 42, 3).fingerprint != Submission(1, 42, 4).fingerprint


@pytest.mark.parametrize("key", [None, "k1"])
def test_same_key_and_same_body_is_a_replay_of_the_first_task(key):
    submission = Submission(1, 42, 3, key)
    acceptance = resolve_conflict(submission, [stored(submission)], NOW, DAY_S)
    assert (acceptance.task_id, acceptance.answer_id, acceptance.replayed) == ("task-7", 7, True)


def test_same_explicit_key_with_another_body_is_refused_as_key_reuse():
    first = Submission(1, 42, 3, "k1")
    with pytest.raises(IdempotencyKeyReused):
        resolve_conflict(Submission(1, 42, 4, "k1"), [stored(first)], NOW, DAY_S)
    with pytest.raises(IdempotencyKeyReused):
        resolve_conflict(Submission(1, 43, 3, "k1"), [stored(first)], NOW, DAY_S)


@pytest.mark.parametrize(("first_key", "retry_key"), [(None, "k1"), ("k1", None)])
def test_the_same_answer_with_a_key_added_or_dropped_is_a_replay(first_key, retry_key):
    first = Submission(1, 42, 3, first_key)
    acceptance = resolve_conflict(Submission(1, 42, 3, retry_key), [stored(first)], NOW, DAY_S)
    assert (acceptance.task_id, acceptance.replayed) == ("task-7", True)
    # another choice is still another answer
    with pytest.raises(Conflict):
        resolve_conflict(Submission(1, 42, 4, retry_key), [stored(first)], NOW, DAY_S)


def test_another_answer_without_a_key_is_a_conflict():
    first = Submission(1, 42, 3)
    with pytest.raises(Conflict):
        resolve_conflict(Submission(1, 42, 4), [stored(first)], NOW, DAY_S)


def test_another_key_for_an_answered_question_is_a_conflict():
    first = Submission(1, 42, 3, "k1")
    with pytest.raises(Conflict):
        resolve_conflict(Submission(1, 42, 3, "k2"), [stored(first)], NOW, DAY_S)


def test_a_key_older_than_its_retention_no_longer_replays():
    submission = Submission(1, 42, 3, "k1")
    old = stored(submission, received_at=NOW - timedelta(seconds=DAY_S + 1))
    with pytest.raises(Conflict):
        resolve_conflict(submission, [old], NOW, DAY_S)
