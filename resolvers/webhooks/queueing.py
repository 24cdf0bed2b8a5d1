"""Queueing webhook deliveries in the transaction that records the events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import WebhookDelivery, WebhookEndpoint, WebhookEndpointStatus
from resolvers.events import emit

#: The outbox actor that hands a delivery to the webhook workers once the change commits.
DISPATCH_WEBHOOK = "dispatch_webhook"


class Event(Protocol):
    """What a delivery needs of its event (an ``IntegrationEvent`` row, or the record of
    one just written)."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def organization_id(self) -> int: ...
    @property
    def subject_type(self) -> str: ...
    @property
    def subject_id(self) -> int: ...


def ordering_key(event: Event) -> str:
    return f"{event.subject_type}:{event.subject_id}"


async def queue_deliveries(session: AsyncSession, events: Sequence[Event]) -> int:
    """One delivery per event and enabled endpoint of its organization taking its kind,
    with its outbox message; returns how many."""
    if not events:
        return 0
    endpoints = list(
        await session.scalars(
            select(WebhookEndpoint).where(
                WebhookEndpoint.organization_id.in_({e.organization_id for e in events}),
                WebhookEndpoint.status == WebhookEndpointStatus.ENABLED,
            )
        )
    )
    deliveries = [
        WebhookDelivery(
            endpoint_id=endpoint.id, event_id=event.id, ordering_key=ordering_key(event)
        )
        for event in events
        for endpoint in endpoints
        if endpoint.organization_id == event.organization_id and event.kind in endpoint.event_kinds
    ]
    if not deliveries:
        return 0
    session.add_all(deliveries)
    await session.flush()
    for delivery in deliveries:
        emit(session, DISPATCH_WEBHOOK, {"delivery_id": delivery.id})
    return len(deliveries)
