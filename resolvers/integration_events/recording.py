"""Recording an integration event in the caller's transaction."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import IntegrationEvent
from domain.integration_events import EventFacts, EventKind, audience
from resolvers.events import after_commit
from resolvers.subscriptions.bus import publish

View = Callable[[int], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as written (the row's id and what its webhook deliveries need). Not an
    ORM instance: a chunk of a bid records a thousand, and making them cost more than
    writing them."""

    id: int
    kind: str
    organization_id: int
    subject_type: str
    subject_id: int


def new_event_key() -> str:
    return "evt_" + secrets.token_hex(16)


def envelope(event_key: str, kind: EventKind, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The payload integrations receive: the event id, kind, time and the object. Nothing
    more (Standard Webhooks' ``type``/``timestamp``/``data`` shape, plus the id)."""
    return {"id": event_key, "type": kind.wire_name, "timestamp": at.isoformat(), "data": data}


async def record_event(
    session: AsyncSession,
    kind: EventKind,
    *,
    subject_type: str,
    subject_id: int,
    facts: EventFacts,
    view: View,
    now: datetime,
) -> list[RecordedEvent]:
    """Record ``kind`` about one object for every organization that may receive it.

    ``view(organization_id)`` is the object as that organization reads it through the graph
    (global IDs). Webhook deliveries to the organizations' endpoints for that kind are
    written with the events, in the same transaction.
    """
    return await record_events(
        session,
        kind,
        subject_type=subject_type,
        subject_id=subject_id,
        items=[(facts, view)],
        now=now,
    )


async def record_events(
    session: AsyncSession,
    kind: EventKind,
    *,
    subject_type: str,
    subject_id: int,
    items: Sequence[tuple[EventFacts, View]],
    now: datetime,
) -> list[RecordedEvent]:
    """Several facts of one kind about one object (a bid delivered to many partners), each
    its own event, in one flush and one endpoint lookup."""
    return await record_events_about(
        session,
        kind,
        [(subject_type, subject_id, facts, view) for facts, view in items],
        now=now,
    )


async def record_events_about(
    session: AsyncSession,
    kind: EventKind,
    items: Sequence[tuple[str, int, EventFacts, View]],
    *,
    now: datetime,
) -> list[RecordedEvent]:
    """Facts of one kind about several objects (``(subject_type, subject_id, facts,
    view)``: a batch of cashback credits), each its own event: one INSERT and one endpoint
    lookup for all of them."""
    from resolvers.webhooks.queueing import queue_deliveries

    rows: list[dict[str, Any]] = []
    for subject_type, subject_id, facts, view in items:
        key = new_event_key()
        rows.extend(
            {
                "event_key": key,
                "kind": kind.value,
                "organization_id": org,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "occurred_at": now,
                "payload": envelope(key, kind, now, view(org)),
            }
            for org in sorted(audience(kind, facts))
        )
    if not rows:
        return []
    # One multi-row INSERT ... RETURNING (a bid reaches thousands of partners per chunk):
    # a Core statement, no ORM unit of work for rows that are only written.
    table = cast(Table, IntegrationEvent.__table__)
    ids = list(
        await session.scalars(
            insert(table).returning(table.c.id, sort_by_parameter_order=True),
            rows,
        )
    )
    events = [
        RecordedEvent(
            i, row["kind"], row["organization_id"], row["subject_type"], row["subject_id"]
        )
        for i, row in zip(ids, rows, strict=True)
    ]
    after_commit(session, lambda: publish(ids))
    await queue_deliveries(session, events)
    return events
