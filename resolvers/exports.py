"""Client billing export (SPEC: "Client billing data (products, orders, the invoices the
requester may see) exports as CSV").

`billing_scope` decides, once per request, what the viewer may export of one client; the
CSV is then streamed page by page (keyset pagination, one short session per page), so a
large client is never held in memory.

Who sees what:
- members of the client: its products and orders; its billing members (legal
  representatives, administrators) also the client's own invoices and the amounts of the
  orders the client paid;
- a partner-side member under an active grant: the whole client (FULL) or the granted
  products (LIMITED) and their orders; its billing members also the invoices the partner
  paid for this client, and the amounts of those orders. Never a client-paid invoice.
- anyone else: nothing (the endpoint answers 404, as for a client that does not exist).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.relay import to_base64

from db.models import Invoice, InvoiceLine, Order, OrderLine, Product
from domain.access import (
    ClientVisibility,
    GrantFacts,
    Viewer,
    client_visibility,
    has_billing_rights,
    partner_product_scope,
)
from domain.enums import Side
from domain.money import round_cents
from resolvers.clients import client_for_viewer
from resolvers.commerce import ClientRef
from resolvers.context import Services

EXPORT_PATH = "/exports/clients/{client_id}/billing.csv"
PAGE_SIZE = 500
COLUMNS = (
    "record",
    "id",
    "date",
    "product_id",
    "product_kind",
    "description",
    "quantity",
    "status",
    "renews_at",
    "currency",
    "amount",
    "invoice_number",
    "paid_by",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_url(public_url: str, client_global_id: str) -> str:
    """The absolute URL of a client's billing export (the route is in app/exports.py)."""
    return public_url.rstrip("/") + EXPORT_PATH.format(client_id=client_global_id)


@dataclass(frozen=True)
class BillingScope:
    client_id: int
    all_products: bool
    product_ids: frozenset[int]
    # Organizations whose invoices for this client the viewer may read (billing rights).
    invoice_payer_ids: frozenset[int]


def scope_for(viewer: Viewer, client_id: int, grants: Iterable[GrantFacts]) -> BillingScope | None:
    """What `viewer` may export of the client, given the client's active grants; None if
    nothing (a client the viewer cannot see)."""
    member = viewer.is_member(client_id)
    all_products = member
    product_ids: set[int] = set()
    payers: set[int] = set()
    if member and has_billing_rights(viewer, client_id):
        payers.add(client_id)
    sees = member
    for grant in grants:
        if grant.client_organization_id != client_id:
            continue
        visibility = client_visibility(viewer, grant)
        if visibility < ClientVisibility.PRODUCTS:
            continue
        sees = True
        scope = partner_product_scope(viewer, grant)
        if scope is None:
            all_products = True
        else:
            product_ids |= scope
        if has_billing_rights(viewer, grant.partner_organization_id):
            payers.add(grant.partner_organization_id)
    if not sees:
        return None
    return BillingScope(client_id, all_products, frozenset(product_ids), frozenset(payers))


async def billing_scope(
    services: Services,
    viewer: Viewer,
    *,
    organization_id: int | None = None,
    grant_id: int | None = None,
) -> BillingScope | None:
    """The scope for a client named by its Organization ID or its Client (grant) ID."""
    async with services.sessionmaker() as session:
        client = await client_for_viewer(
            session, viewer, ClientRef(organization_id=organization_id, grant_id=grant_id)
        )
    if client is None:
        return None
    return scope_for(viewer, client.organization_id, [g.facts for g in client.grants])


def _text(value: str) -> str:
    """Free text cannot start a spreadsheet formula."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def _date(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _amount(value: Decimal) -> str:
    return str(round_cents(Decimal(value)))


def _csv(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue()


async def _pages(
    sessionmaker: async_sessionmaker[AsyncSession],
    stmt: Any,
    key: Any,
    render: Any,
) -> AsyncIterator[str]:
    """Keyset pages of `stmt` ordered by `key`, each rendered to CSV in its own session."""
    after: int | None = None
    while True:
        page = stmt if after is None else stmt.where(key > after)
        async with sessionmaker() as session:
            rows = list((await session.execute(page.order_by(key).limit(PAGE_SIZE))).all())
            if not rows:
                return
            text = await render(session, rows)
        yield text
        after = int(rows[-1][0].id)
        if len(rows) < PAGE_SIZE:
            return


async def billing_csv(services: Services, scope: BillingScope) -> AsyncIterator[str]:
    """The CSV text of the export, in chunks: header, products, orders, invoices+lines."""
    sessionmaker = services.sessionmaker
    client = scope.client_id
    yield _csv([COLUMNS])

    products = select(Product).where(Product.organization_id == client)
    orders = select(Order, Invoice.number).join(Invoice, Invoice.id == Order.invoice_id)
    orders = orders.where(Order.client_id == client)
    if not scope.all_products:
        products = products.where(Product.id.in_(scope.product_ids))
        orders = orders.where(Order.product_id.in_(scope.product_ids))

    async def render_products(session: AsyncSession, rows: list[Any]) -> str:
        return _csv(
            (
                "product",
                to_base64("Product", p.id),
                _date(p.created_at),
                to_base64("Product", p.id),
                p.kind,
                _text(p.name),
                p.quantity,
                p.status.value,
                _date(p.renews_at),
                "",
                "",
                "",
                "",
            )
            for (p,) in rows
        )

    async def render_orders(session: AsyncSession, rows: list[Any]) -> str:
        # One row per order line (an order of several products has several).
        lines: dict[int, list[OrderLine]] = {}
        for line in await session.scalars(
            select(OrderLine)
            .where(OrderLine.order_id.in_([order.id for order, _ in rows]))
            .order_by(OrderLine.order_id, OrderLine.position)
        ):
            lines.setdefault(line.order_id, []).append(line)
        out = []
        for order, number in rows:
            readable = order.payer_id in scope.invoice_payer_ids
            for line in lines.get(order.id, []):
                if not scope.all_products and line.product_id not in scope.product_ids:
                    continue
                out.append(
                    (
                        "order",
                        to_base64("Order", order.id),
                        _date(order.created_at),
                        to_base64("Product", line.product_id) if line.product_id else "",
                        line.product_kind,
                        order.kind.value,
                        line.quantity,
                        "",
                        "",
                        order.currency.value,
                        _amount(line.amount_due) if readable else "",
                        number if readable else "",
                        order.payer_side.value,
                    )
                )
        return _csv(out)

    async def render_invoices(session: AsyncSession, rows: list[Any]) -> str:
        invoices = [invoice for (invoice,) in rows]
        lines: dict[int, list[InvoiceLine]] = {}
        for line in await session.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id.in_([i.id for i in invoices]))
            .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
        ):
            lines.setdefault(line.invoice_id, []).append(line)
        out: list[tuple[Any, ...]] = []
        for invoice in invoices:
            gid = to_base64("Invoice", invoice.id)
            side = Side.CLIENT if invoice.organization_id == client else Side.PARTNER
            out.append(
                (
                    "invoice",
                    gid,
                    _date(invoice.issued_at),
                    "",
                    "",
                    f"Invoice {invoice.number}",
                    "",
                    invoice.status.value,
                    "",
                    invoice.currency.value,
                    _amount(invoice.total_amount),
                    invoice.number,
                    side.value,
                )
            )
            for line in lines.get(invoice.id, []):
                out.append(
                    (
                        "invoice_line",
                        gid,
                        "",
                        to_base64("Product", line.product_id) if line.product_id else "",
                        "",
                        _text(line.description),
                        line.quantity,
                        "",
                        "",
                        invoice.currency.value,
                        _amount(line.amount),
                        invoice.number,
                        side.value,
                    )
                )
        return _csv(out)

    async for chunk in _pages(sessionmaker, products, Product.id, render_products):
        yield chunk
    async for chunk in _pages(sessionmaker, orders, Order.id, render_orders):
        yield chunk
    if scope.invoice_payer_ids:
        invoices = select(Invoice).where(
            Invoice.client_id == client, Invoice.organization_id.in_(scope.invoice_payer_ids)
        )
        async for chunk in _pages(sessionmaker, invoices, Invoice.id, render_invoices):
            yield chunk


__all__ = [
    "COLUMNS",
    "EXPORT_PATH",
    "BillingScope",
    "billing_csv",
    "billing_scope",
    "export_url",
    "scope_for",
]
