"""Transactional outbox: events are written with the score and published after the commit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from shared.models import OutboxEvent


@dataclass(frozen=True)
class PendingEvent:
    outbox_id: int
    topic: str
    payload: dict[str, Any]


def add_event(
    session: Session, topic: str, payload: dict[str, Any], answer_id: int | None = None
) -> int:
    """Record an event in the caller's transaction; returns its outbox id."""
    return session.execute(
        insert(OutboxEvent)
        .values(
            event_id=uuid.UUID(payload["event_id"]),
            topic=topic,
            answer_id=answer_id,
            payload=payload,
        )
        .returning(OutboxEvent.id)
    ).scalar_one()


def mark_published(conn: Connection | Session, outbox_ids: Sequence[int], now: datetime) -> None:
    if outbox_ids:
        conn.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(outbox_ids), OutboxEvent.published_at.is_(None))
            .values(published_at=now)
        )


def lock_unpublished(
    conn: Connection, now: datetime, older_than_s: float, limit: int
) -> list[PendingEvent]:
    """Lock a batch of events nobody published; other relays skip them until commit."""
    rows = conn.execute(
        select(OutboxEvent.id, OutboxEvent.topic, OutboxEvent.payload)
        .where(
            OutboxEvent.published_at.is_(None),
            OutboxEvent.created_at < now - timedelta(seconds=older_than_s),
        )
        .order_by(OutboxEvent.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [PendingEvent(outbox_id=r.id, topic=r.topic, payload=r.payload) for r in rows]
