"""The integration events of an order: the order to whoever sees it, its invoice to the
payer only (in the order's transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Invoice, Order, OrderLine
from domain.integration_events import EventFacts, EventKind
from resolvers.clients import active_grants_on_client
from resolvers.integration_events import record_event
from resolvers.integration_events.views import invoice_view, order_view


async def record_order_events(
    session: AsyncSession,
    order: Order,
    invoice: Invoice,
    lines: Sequence[OrderLine],
    now: datetime,
) -> None:
    grants = await active_grants_on_client(session, order.client_id)
    await record_event(
        session,
        EventKind.ORDER_PLACED,
        subject_type="Order",
        subject_id=order.id,
        facts=EventFacts(
            client_organization_id=order.client_id,
            payer_organization_id=order.payer_id,
            product_id=order.product_id,
            grants=[g.facts for g in grants],
        ),
        view=lambda org: order_view(order, lines, org),
        now=now,
    )
    await record_event(
        session,
        EventKind.INVOICE_ISSUED,
        subject_type="Invoice",
        subject_id=invoice.id,
        facts=EventFacts(payer_organization_id=invoice.organization_id),
        view=lambda org: invoice_view(invoice),
        now=now,
    )
