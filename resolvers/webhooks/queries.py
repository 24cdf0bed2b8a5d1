"""Reading webhook endpoints and their deliveries: legal representatives of the
endpoint's organization only; to anyone else an endpoint is as missing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from db.models import IntegrationEvent, WebhookDelivery, WebhookEndpoint
from domain.webhooks import may_manage_webhooks
from resolvers.context import RequestContext
from resolvers.pagination import Page, PageRequest, fetch_page


@dataclass(frozen=True)
class DeliveryRow:
    delivery: WebhookDelivery
    event: IntegrationEvent


async def organization_endpoints(
    ctx: RequestContext, organization_id: int, request: PageRequest
) -> Page[WebhookEndpoint]:
    if not may_manage_webhooks(ctx.viewer.role_in(organization_id)):
        return Page.empty()
    async with ctx.db.use() as session:
        return await fetch_page(
            session,
            select(WebhookEndpoint).where(WebhookEndpoint.organization_id == organization_id),
            WebhookEndpoint.id,
            request,
        )


async def endpoints_by_id(ctx: RequestContext, ids: Sequence[int]) -> list[WebhookEndpoint]:
    """The endpoints among ``ids`` the viewer manages (others are left out)."""
    if not ids:
        return []
    async with ctx.db.use() as session:
        rows = await session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.id.in_(ids)))
        return [r for r in rows if may_manage_webhooks(ctx.viewer.role_in(r.organization_id))]


async def endpoint_deliveries(
    ctx: RequestContext, endpoint: WebhookEndpoint, request: PageRequest
) -> Page[DeliveryRow]:
    """An endpoint's deliveries, oldest first, each with its event."""
    if not may_manage_webhooks(ctx.viewer.role_in(endpoint.organization_id)):
        return Page.empty()
    async with ctx.db.use() as session:
        page = await fetch_page(
            session,
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id),
            WebhookDelivery.id,
            request,
        )
        events = {
            e.id: e
            for e in await session.scalars(
                select(IntegrationEvent).where(
                    IntegrationEvent.id.in_({d.event_id for d in page.items})
                )
            )
        }
    return page.map(lambda d: DeliveryRow(d, events[d.event_id]))
