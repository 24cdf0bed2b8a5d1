"""Writing an order or a renewal (SPEC "Prices, discounts and cashback").

One order or renewal is one transaction: the product is created or extended in the client
organization, the invoice (with its lines and the paying organization's next sequential
number) is created in the paying organization, the order row freezes the quote, and the
audit event, the order-confirmation emails and (when the settlement earns it) the
`credit_cashback` outbox event are written with it. Bad input raises a `UseCaseError` with
a stable code before anything is written.

Decisions where SPEC is silent:
- Invoices are issued DUE; emails carry no amounts (workers/email.py: no invoice data).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Invoice, InvoiceLine, Order, OrderKind, Product
from db.queries import actor_display_name, legal_representative_emails
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


def _order_snapshot(order: Order, invoice: Invoice) -> dict[str, Any]:
    # No amounts: the audit trail may be shown to members who may not read the invoice.
    return {
        "kind": order.kind.value,
        "client_id": order.client_id,
        "product_id": order.product_id,
        "product_kind": order.product_kind,
        "quantity": order.quantity,
        "currency": order.currency.value,
        "orderer_side": order.orderer_side.value,
        "partner_id": order.partner_id,
        "payer_id": order.payer_id,
        "invoice_id": invoice.id,
        "cashback_due": order.cashback_due,
    }


async def _write_order(
    session: AsyncSession,
    ctx: RequestContext,
    parties: Parties,
    priced: PricedOrder,
    product: Product,
    kind: OrderKind,
    idempotency_key: str | None,
) -> OrderResult:
    q = priced.quote
    now = ctx.now()
    sequence = await next_invoice_sequence(session, priced.payer_organization_id)
    invoice = Invoice(
        organization_id=priced.payer_organization_id,
        client_id=priced.client_id,
        sequence=sequence,
        number=invoice_number(priced.payer_organization_id, sequence),
        currency=q.currency,
        total_amount=q.amount_due.amount,
        status=InvoiceStatus.DUE,
        issued_at=now,
    )
    session.add(invoice)
    await session.flush()
    verb = "Renewal" if kind is OrderKind.RENEWAL else "Order"
    description = f"{verb}: {product.name} ({q.kind}), {q.quantity} x 1 month, list price"
    for position, (text, quantity, unit, amount) in enumerate(
        invoice_lines(q, description=description[:300]), start=1
    ):
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
    order = Order(
        kind=kind,
        client_id=priced.client_id,
        product_id=product.id,
        product_kind=q.kind,
        product_family=q.family,
        quantity=q.quantity,
        currency=q.currency,
        ordered_by_user_id=ctx.viewer.user_id,
        ordered_by_api_token_id=ctx.viewer.api_token_id,
        acting_organization_id=parties.acting_organization_id,
        orderer_side=priced.orderer,
        partner_id=priced.partner_id,
        payer_id=priced.payer_organization_id,
        payer_side=priced.payer,
        list_total=q.list_total.amount,
        decreasing_rate=q.decreasing_rate,
        public_price=q.public_price.amount,
        partner_discount_rate=q.partner_discount_rate,
        partner_price=q.partner_price.amount,
        cashback=q.cashback.amount,
        amount_due=q.amount_due.amount,
        partner_discount_applied=q.partner_discount_applies,
        cashback_due=priced.earns_cashback,
        invoice_id=invoice.id,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    session.add(order)
    await session.flush()

    record_audit(
        session,
        action=f"order.{'renew' if kind is OrderKind.RENEWAL else 'place'}",
        subject_type="Order",
        subject_id=order.id,
        actor_user_id=ctx.viewer.user_id,
        actor_api_token_id=ctx.viewer.api_token_id,
        organization_id=parties.acting_organization_id,
        after=_order_snapshot(order, invoice),
    )
    await record_order_events(session, order, invoice, now)
    mail = {
        "client_name": parties.client.name,
        "actor_name": await actor_display_name(session, ctx.viewer),
        # No amounts: emails never carry invoice data (workers/email.py).
        "products": [f"{verb}: {product.name} ({q.kind}), {q.quantity} x 1 month"],
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
