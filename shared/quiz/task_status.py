"""What `GET /tasks/{id}` reports: in Redis for cheap polling, else derived from PostgreSQL."""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from shared import redis_keys
from shared.errors import REDIS_DOWN, NotFound
from shared.models import Answer, AnswerState, table_of

answer_table = table_of(Answer)


class TaskState(enum.StrEnum):
    PENDING = "PENDING"
    STARTED = "STARTED"
    RETRY = "RETRY"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


FINAL_STATES = frozenset({TaskState.SUCCESS, TaskState.FAILURE})
# A copy of a status that is not final lives this long: past it, a poll asks PostgreSQL
# again. A final write can be lost after the PENDING copy was made (Redis restarted from
# an older AOF, say); the PENDING copy must not then hide the result for an hour.
UNFINISHED_COPY_TTL_S = 5


@dataclass(frozen=True)
class TaskStatus:
    task_id: str
    state: TaskState
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"task_id": self.task_id, "state": self.state.value}
        if self.result is not None:
            body["result"] = self.result
        if self.error is not None:
            body["error"] = self.error
        return body


def save_task_status(
    client: redis.Redis, status: TaskStatus, ttl_s: int, *, only_if_absent: bool = False
) -> None:
    """Record a status; `only_if_absent` keeps a PENDING write from hiding a later result.
    A status that is not final is kept a few seconds at most (UNFINISHED_COPY_TTL_S)."""
    client.set(
        redis_keys.task_status(status.task_id),
        json.dumps(status.to_dict()),
        ex=ttl_s if status.is_final else min(ttl_s, UNFINISHED_COPY_TTL_S),
        nx=only_if_absent,
    )


def load_task_status(client: redis.Redis, task_id: str) -> TaskStatus | None:
    raw = client.get(redis_keys.task_status(task_id))
    if raw is None:
        return None
    data = json.loads(raw)
    return TaskStatus(
        task_id=data["task_id"],
        state=TaskState(data["state"]),
        result=data.get("result"),
        error=data.get("error"),
    )


# --- derived from the answer row in PostgreSQL ----------------------------------------------

# why an answer of a player the host removed counts for nothing (shared/quiz/players.py)
REMOVED_PLAYER = "removed_player"

REJECT_MESSAGES = {
    "rejected": "the answer was rejected",
    "choice_not_in_question": "the choice does not belong to the question",
    "too_many_attempts": "scoring failed repeatedly; the answer was set aside",
    REMOVED_PLAYER: "the host removed this player from the quiz",
}

# what a poller needs of an answer to say how its task ended
STATUS_COLUMNS = (
    answer_table.c.id,
    answer_table.c.task_id,
    answer_table.c.state,
    answer_table.c.reject_reason,
    answer_table.c.question_id,
    answer_table.c.correct,
    answer_table.c.points,
    answer_table.c.total_score_after,
)


def result_of(
    answer_id: int, question_id: int, correct: bool | None, points: int | None, total: int | None
) -> dict[str, Any]:
    """The `result` of a SUCCESS task, with the contract's field names: built here only."""
    return {
        "answer_id": answer_id,
        "question_id": question_id,
        "correct": correct,
        "points": points,
        "total_score": total,
    }


def status_of(answer: Any) -> TaskStatus:
    """The task status an answer row implies (a row with at least STATUS_COLUMNS)."""
    task_id = str(answer.task_id)
    if answer.state == AnswerState.SCORED:
        result = result_of(
            answer.id, answer.question_id, answer.correct, answer.points, answer.total_score_after
        )
        return TaskStatus(task_id, TaskState.SUCCESS, result=result)
    if answer.state == AnswerState.REJECTED:
        reason = answer.reject_reason or "rejected"
        return TaskStatus(
            task_id, TaskState.FAILURE, error={"code": reason, "message": REJECT_MESSAGES[reason]}
        )
    return TaskStatus(task_id, TaskState.PENDING)


def task_status_from_db(session: Session | Connection, task_id: str) -> TaskStatus | None:
    """The status the answer row of `task_id` implies; None when no answer has that task."""
    try:
        task_uuid = uuid.UUID(task_id)
    except ValueError:
        return None
    answer = session.execute(
        select(*STATUS_COLUMNS).where(answer_table.c.task_id == task_uuid)
    ).first()
    return status_of(answer) if answer is not None else None


def current_task_status(
    client: redis.Redis, session: Session, task_id: str, ttl_s: int
) -> TaskStatus:
    """A task's status for a poller: from Redis, or from the answer row in PostgreSQL when
    Redis no longer knows it (or is down), kept in Redis again for the next poll.

    :raises NotFound: no answer has this task id
    """
    try:
        status = load_task_status(client, task_id)
    except REDIS_DOWN:
        status = None
    if status is not None:
        return status
    status = task_status_from_db(session, task_id)
    if status is None:
        raise NotFound(f"task {task_id} does not exist")
    try:
        save_task_status(client, status, ttl_s, only_if_absent=True)
    except REDIS_DOWN:
        pass
    return status
