"""Transactional outbox: events are written with the score and published after the commit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, select, text, update
from sqlalchemy.orm import Session

from shared.models import OutboxEvent, table_of

outbox_table = table_of(OutboxEvent)


@dataclass(frozen=True)
class PendingEvent:
    outbox_id: int
    topic: str
    payload: dict[str, Any]


_ADD_EVENTS = text(
    """
    INSERT INTO outbox_events (event_id, topic, answer_id, payload)
    SELECT event.id, :topic, event.answer_id, event.payload
    FROM unnest(CAST(:ids AS uuid[]), CAST(:answer_ids AS bigint[]), CAST(:payloads AS jsonb[]))
         WITH ORDINALITY AS event (id, answer_id, payload, n)
    ORDER BY event.n
    RETURNING id, event_id
    """
)


def add_events(
    conn: Connection, topic: str, events: Sequence[dict[str, Any]], *, answer_rows: bool = True
) -> list[int]:
    """Record events in the caller's transaction, in one statement; their ids, in order.

    With `answer_rows`, an event that names an `answer_id` is that answer's row: one per
    answer at most. A correction's events name answers without being theirs.
    """
    if not events:
        return []
    rows = conn.execute(
        _ADD_EVENTS,
        {
            "topic": topic,
            "ids": [event["event_id"] for event in events],
            "answer_ids": [event.get("answer_id") if answer_rows else None for event in events],
            "payloads": [json.dumps(event) for event in events],
        },
    )
    ids = {str(row.event_id): row.id for row in rows}
    return [ids[event["event_id"]] for event in events]


def mark_published(conn: Connection | Session, outbox_ids: Sequence[int], now: datetime) -> None:
    if outbox_ids:
        conn.execute(
            update(outbox_table)
            .where(outbox_table.c.id.in_(outbox_ids), outbox_table.c.published_at.is_(None))
            .values(published_at=now)
        )


def lock_unpublished(
    conn: Connection,
    now: datetime,
    older_than_s: float,
    limit: int,
    only_ids: Sequence[int] | None = None,
) -> list[PendingEvent]:
    """Lock a batch of events nobody published (of `only_ids`, whatever their age, when
    given); other relays skip them until commit."""
    which: ColumnElement[bool]
    if only_ids is not None:
        which = OutboxEvent.id.in_(only_ids)
    else:
        which = OutboxEvent.created_at < now - timedelta(seconds=older_than_s)
    rows = conn.execute(
        select(OutboxEvent.id, OutboxEvent.topic, OutboxEvent.payload)
        .where(OutboxEvent.published_at.is_(None), which)
        .order_by(OutboxEvent.created_at, OutboxEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [PendingEvent(outbox_id=r.id, topic=r.topic, payload=r.payload) for r in rows]
