"""The `place_order` use case: order a new product, installed in the client organization,
invoiced to the payer."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import OrderKind, Product
from domain.enums import ProductStatus, Side
from resolvers.auth import require_writer
from resolvers.commerce.idempotency import _Request, _run
from resolvers.commerce.inputs import (
    ClientRef,
    clean_idempotency_key,
    parse_expected_amount,
    validate_basket,
)
from resolvers.commerce.orders import OrderResult, _write_order, add_month
from resolvers.commerce.parties import resolve_parties
from resolvers.commerce.quotes import check_expectations, price
from resolvers.context import RequestContext
from resolvers.errors import not_found
from resolvers.validation import clean_text


async def place_order(
    ctx: RequestContext,
    *,
    organization_id: int,
    kind: str,
    quantity: int,
    client: ClientRef | None = None,
    currency: str | None = None,
    product_name: str | None = None,
    payer: Side | None = None,
    expected_amount_due: str | None = None,
    idempotency_key: str | None = None,
) -> OrderResult:
    """Order a new product, installed in the client organization, invoiced to the payer."""
    require_writer(ctx)
    code = validate_basket(kind, quantity, currency)
    expected = parse_expected_amount(expected_amount_due)
    # The deprecated input field, else the request's Idempotency-Key: kept on the order.
    key = clean_idempotency_key(idempotency_key) or ctx.idempotency_key
    name = clean_text(product_name, "productName") if product_name is not None else None
    if ctx.viewer.role_in(organization_id) is None:
        raise not_found("organizationId")

    async def body(session: AsyncSession) -> OrderResult:
        parties = await resolve_parties(
            session, ctx, acting_organization_id=organization_id, client=client, placing=True
        )
        priced = price(parties, kind, quantity, code)
        check_expectations(priced, payer, expected)
        now = ctx.now()
        product = Product(
            organization_id=parties.client.id,
            kind=priced.quote.kind,
            family=priced.quote.family,
            name=name or priced.quote.kind,
            quantity=quantity,
            status=ProductStatus.ACTIVE,
            renews_at=add_month(now),
            created_at=now,
        )
        session.add(product)
        await session.flush()
        return await _write_order(session, ctx, parties, priced, product, OrderKind.ORDER, key)

    request = _Request(OrderKind.ORDER, kind, quantity, client or ClientRef(organization_id), None)
    return await _run(ctx, organization_id, key, request, body)
