"""The `place_order` use case: order new products (a basket of 1 to 50 lines), installed in
the client organization: one order, one invoice to the payer."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import OrderKind, Product
from domain.enums import ProductStatus, Side
from resolvers.auth import require_writer
from resolvers.commerce.idempotency import _Request, _run
from resolvers.commerce.inputs import (
    BasketLine,
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
    lines: Sequence[BasketLine],
    client: ClientRef | None = None,
    currency: str | None = None,
    payer: Side | None = None,
    expected_amount_due: str | None = None,
    idempotency_key: str | None = None,
) -> OrderResult:
    """Order new products, installed in the client organization, invoiced to the payer."""
    require_writer(ctx)
    code = validate_basket(lines, currency)
    expected = parse_expected_amount(expected_amount_due)
    # The deprecated input field, else the request's Idempotency-Key: kept on the order.
    key = clean_idempotency_key(idempotency_key) or ctx.idempotency_key
    names = [
        clean_text(line.product_name, f"{line.path}productName")
        if line.product_name is not None
        else None
        for line in lines
    ]
    if ctx.viewer.role_in(organization_id) is None:
        raise not_found("organizationId")

    async def body(session: AsyncSession) -> OrderResult:
        parties = await resolve_parties(
            session, ctx, acting_organization_id=organization_id, client=client, placing=True
        )
        priced = price(parties, lines, code)
        check_expectations(priced, payer, expected)
        now = ctx.now()
        products = [
            Product(
                organization_id=parties.client.id,
                kind=q.kind,
                family=q.family,
                name=name or q.kind,
                quantity=q.quantity,
                status=ProductStatus.ACTIVE,
                renews_at=add_month(now),
                created_at=now,
            )
            for q, name in zip(priced.lines, names, strict=True)
        ]
        session.add_all(products)
        await session.flush()
        return await _write_order(session, ctx, parties, priced, products, OrderKind.ORDER, key)

    request = _Request(
        OrderKind.ORDER,
        tuple((line.kind, line.quantity) for line in lines),
        client or ClientRef(organization_id),
        None,
    )
    return await _run(ctx, organization_id, key, request, body)
