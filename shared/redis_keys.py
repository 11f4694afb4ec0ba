"""Every Redis key the project writes, in one place."""

from __future__ import annotations


def quiz_state(quiz_code: str) -> str:
    return f"quiz:{quiz_code}:state"


def task_status(task_id: str) -> str:
    return f"quiz:task:{task_id}"


def participant_score_lock(participant_id: int) -> str:
    return f"quiz:participant:{participant_id}:score-lock"


def answer_deliveries(answer_id: int) -> str:
    return f"quiz:answer:{answer_id}:deliveries"
