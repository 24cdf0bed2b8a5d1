"""Invoices and their lines, seen by the paying organization's billing members."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

import strawberry
from strawberry import relay

from db import models
from domain.access import can_read_invoice
from schema.base import InvoiceStatus, Money, RowReader, build
from schema.context import Info
from schema.types.loading import _load_visible


@strawberry.type(description="One line of an invoice.")
class InvoiceLine:
    description: str = strawberry.field(description="What was bought.")
    quantity: int = strawberry.field(description="How many units.")
    unit_price: Money = strawberry.field(description="Price of one unit, after rates.")
    amount: Money = strawberry.field(description="The line's amount due.")


@strawberry.type(
    description="An invoice. It belongs to the organization that paid it; only that "
    "organization's billing members (legal representatives, administrators) see it."
)
class Invoice(relay.Node):
    id: relay.NodeID[int]
    number: str = strawberry.field(description="Sequential per paying organization.")
    issued_at: datetime = strawberry.field(description="When it was issued.")
    total: Money = strawberry.field(description="The amount due.")
    status: InvoiceStatus = strawberry.field(description="Due or paid.")
    organization_id: strawberry.Private[int]
    client_id: strawberry.Private[int]

    # A page makes these by the hundred; the executor may read them from the rows.
    of: ClassVar[RowReader[Invoice]] = RowReader(
        id="id",
        number="number",
        issued_at="issued_at",
        total=lambda row: build(Money, {"amount": row.total_amount, "currency": row.currency}),
        status="status",
        organization_id="organization_id",
        client_id="client_id",
    )

    @strawberry.field(description="The invoice's lines, in order.")
    async def lines(self, info: Info) -> list[InvoiceLine]:
        rows = await info.context.loaders.invoice_lines.load(self.id)
        currency = self.total.currency
        return [
            InvoiceLine(
                description=line.description,
                quantity=line.quantity,
                unit_price=Money(amount=Decimal(line.unit_price), currency=currency),
                amount=Money(amount=Decimal(line.amount), currency=currency),
            )
            for line in rows
        ]

    @strawberry.field(description="The organization that paid (and owns) the invoice.")
    async def paid_by(self, info: Info) -> str:
        org = await info.context.loaders.organization.load(self.organization_id)
        return org.name if org else ""

    @strawberry.field(description="The organization whose products were invoiced.")
    async def client_name(self, info: Info) -> str:
        org = await info.context.loaders.organization.load(self.client_id)
        return org.name if org else ""

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Invoice | None]:
        async def visible(info: Info, row: models.Invoice) -> Invoice | None:
            return (
                cls.of(row) if can_read_invoice(info.context.viewer, row.organization_id) else None
            )

        return await _load_visible(info, info.context.loaders.invoice, node_ids, visible)
