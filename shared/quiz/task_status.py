"""What `GET /tasks/{id}` reports: in Redis for cheap polling, else derived from PostgreSQL."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

import redis

from shared import redis_keys


class TaskState(enum.StrEnum):
    PENDING = "PENDING"
    STARTED = "STARTED"
    RETRY = "RETRY"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


FINAL_STATES = frozenset({TaskState.SUCCESS, TaskState.FAILURE})


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
    """Record a status; `only_if_absent` keeps a PENDING write from hiding a later result."""
    client.set(
        redis_keys.task_status(status.task_id),
        json.dumps(status.to_dict()),
        ex=ttl_s,
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
