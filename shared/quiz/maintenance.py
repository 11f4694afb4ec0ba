"""What beat's jobs ask of the stored answers: the ones whose scoring message went
missing, and the idempotency keys past their retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select, update

from shared.models import Answer, AnswerState, table_of

answer_table = table_of(Answer)


@dataclass(frozen=True)
class StaleAnswer:
    answer_id: int
    participant_id: int
    task_id: str


def claim_stale_answers(
    conn: Connection, now: datetime, older_than_s: float, limit: int
) -> list[StaleAnswer]:
    """Answers still accepted long after they were enqueued; stamped so the next run waits."""
    stale = (
        select(answer_table.c.id)
        .where(
            answer_table.c.state == AnswerState.ACCEPTED.value,
            answer_table.c.enqueued_at < now - timedelta(seconds=older_than_s),
        )
        .order_by(answer_table.c.enqueued_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("stale")
    )
    rows = conn.execute(
        update(answer_table)
        .where(answer_table.c.id == stale.c.id)
        .values(enqueued_at=now)
        .returning(answer_table.c.id, answer_table.c.participant_id, answer_table.c.task_id)
    ).all()
    return [StaleAnswer(r.id, r.participant_id, str(r.task_id)) for r in rows]


def forget_idempotency_keys(conn: Connection, now: datetime, ttl_s: int) -> int:
    """Free keys older than their retention so a participant may use them again."""
    result = conn.execute(
        update(answer_table)
        .where(
            answer_table.c.idempotency_key.is_not(None),
            answer_table.c.received_at < now - timedelta(seconds=ttl_s),
        )
        .values(idempotency_key=None)
    )
    return result.rowcount
