"""Writing an order or a renewal (SPEC "Prices, discounts and cashback").

One order or renewal is one transaction: its products (one per line; a renewal has one)
are created or extended in the client organization, the invoice (with its lines and the
paying organization's next sequential number) is created in the paying organization, the
order row freezes the basket's totals and each order line its own quote, and the
audit event, the order-confirmation emails and (when the settlement earns it) the
`credit_cashback` outbox event are written with it. Bad input raises a `UseCaseError` with
a stable code before anything is written.

Decisions where SPEC is silent:
- Invoices are issued DUE; emails carry no amounts (workers/email.py: no invoice data).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Invoice, InvoiceLine, Order, OrderKind, OrderLine, Product
from db.queries import actor_display_name, legal_representative_emails
from domain import pricing
from domain.baskets import BasketQuote
from domain.enums import InvoiceStatus
from resolvers.commerce.invoices import invoice_lines, invoice_number, next_invoice_sequence
from resolvers.commerce.order_events import record_order_events
from resolvers.commerce.parties import Parties
from resolvers.commerce.quotes import PricedOrder
from resolvers.context import RequestContext
from resolvers.events import emit, emit_email, record_audit

CREDIT_CASHBACK = "credit_cashback"
ORDER_CONFIRMATION = "order_confirmation"


@dataclass
class OrderResult:
    order: Order
    invoice: Invoice
    replayed: bool = False


def add_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _order_snapshot(order: Order, invoice: Invoice, lines: Sequence[OrderLine]) -> dict[str, Any]:
    # No amounts: the audit trail may be shown to members who may not read the invoice.
    return {
        "kind": order.kind.value,
        "client_id": order.client_id,
        "product_id": order.product_id,
        "product_kind": order.product_kind,
        "quantity": order.quantity,
        "lines": [
            {
                "product_id": line.product_id,
                "product_kind": line.product_kind,
                "quantity": line.quantity,
            }
            for line in lines
        ],
        "currency": order.currency.value,
        "orderer_side": order.orderer_side.value,
        "partner_id": order.partner_id,
        "payer_id": order.payer_id,
        "invoice_id": invoice.id,
        "cashback_due": order.cashback_due,
    }


def _frozen(amounts: pricing.Quote | BasketQuote, rates: pricing.Quote) -> dict[str, Any]:
    """The prices an order line freezes (its quote), or an order (its basket's totals, and
    its first line's rates)."""
    return {
        "list_total": amounts.list_total.amount,
        "decreasing_rate": rates.decreasing_rate,
        "public_price": amounts.public_price.amount,
        "partner_discount_rate": rates.partner_discount_rate,
        "partner_price": amounts.partner_price.amount,
        "cashback": amounts.cashback.amount,
        "amount_due": amounts.amount_due.amount,
    }


def _line_text(kind: OrderKind, product: Product, q: pricing.Quote) -> str:
    verb = "Renewal" if kind is OrderKind.RENEWAL else "Order"
    return f"{verb}: {product.name} ({q.kind}), {q.quantity} x 1 month"


async def _write_order(
    session: AsyncSession,
    ctx: RequestContext,
    parties: Parties,
    priced: PricedOrder,
    products: Sequence[Product],
    kind: OrderKind,
    idempotency_key: str | None,
) -> OrderResult:
    """Write the order of `priced` (one line per product of `products`, in order)."""
    basket, first = priced.basket, priced.basket.first
    now = ctx.now()
    sequence = await next_invoice_sequence(session, priced.payer_organization_id)
    invoice = Invoice(
        organization_id=priced.payer_organization_id,
        client_id=priced.client_id,
        sequence=sequence,
        number=invoice_number(priced.payer_organization_id, sequence),
        currency=basket.currency,
        total_amount=basket.amount_due.amount,
        status=InvoiceStatus.DUE,
        issued_at=now,
    )
    session.add(invoice)
    await session.flush()
    position = 0
    for product, q in zip(products, basket.lines, strict=True):
        description = f"{_line_text(kind, product, q)}, list price"
        for text, quantity, unit, amount in invoice_lines(q, description=description[:300]):
            position += 1
            session.add(
                InvoiceLine(
                    invoice_id=invoice.id,
                    position=position,
                    product_id=product.id,
                    description=text,
                    quantity=quantity,
                    unit_price=unit,
                    amount=amount,
                )
            )
    # The header: the basket's totals, and its first line for the single-product API.
    order = Order(
        kind=kind,
        client_id=priced.client_id,
        product_id=products[0].id,
        product_kind=first.kind,
        product_family=first.family,
        quantity=first.quantity,
        currency=basket.currency,
        ordered_by_user_id=ctx.viewer.user_id,
        ordered_by_api_token_id=ctx.viewer.api_token_id,
        acting_organization_id=parties.acting_organization_id,
        orderer_side=priced.orderer,
        partner_id=priced.partner_id,
        payer_id=priced.payer_organization_id,
        payer_side=priced.payer,
        **_frozen(basket, first),
        partner_discount_applied=basket.partner_discount_applies,
        cashback_due=priced.earns_cashback,
        invoice_id=invoice.id,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    session.add(order)
    await session.flush()
    lines = [
        OrderLine(
            order_id=order.id,
            position=position,
            product_id=product.id,
            product_kind=q.kind,
            product_family=q.family,
            quantity=q.quantity,
            **_frozen(q, q),
        )
        for position, (product, q) in enumerate(zip(products, basket.lines, strict=True), 1)
    ]
    session.add_all(lines)
    await session.flush()

    record_audit(
        session,
        action=f"order.{'renew' if kind is OrderKind.RENEWAL else 'place'}",
        subject_type="Order",
        subject_id=order.id,
        actor_user_id=ctx.viewer.user_id,
        actor_api_token_id=ctx.viewer.api_token_id,
        organization_id=parties.acting_organization_id,
        after=_order_snapshot(order, invoice, lines),
    )
    await record_order_events(session, order, invoice, lines, now)
    mail = {
        "client_name": parties.client.name,
        "actor_name": await actor_display_name(session, ctx.viewer),
        # No amounts: emails never carry invoice data (workers/email.py).
        "products": [
            _line_text(kind, product, q) for product, q in zip(products, basket.lines, strict=True)
        ],
    }
    for address in await legal_representative_emails(session, priced.payer_organization_id):
        emit_email(
            session,
            to=address,
            template=ORDER_CONFIRMATION,
            context=mail,
            dedupe_key=f"order_confirmation:{order.id}:{address}"[:200],
        )
    if priced.earns_cashback:
        emit(
            session,
            CREDIT_CASHBACK,
            {
                "order_id": order.id,
                "partner_id": priced.partner_id,
                "amount_minor": priced.cashback_due.to_minor_units(),
                "currency": priced.cashback_due.currency.value,
                # Beyond the agreed keys, for the ledger's listing by client and account.
                "client_organization_id": priced.client_id,
                "partner_organization_id": priced.partner_organization_id,
            },
            dedupe_key=f"cashback:order:{order.id}",
        )
    return OrderResult(order=order, invoice=invoice)
