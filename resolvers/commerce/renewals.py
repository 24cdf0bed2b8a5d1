"""The `renew_product` use case: renew a product for one more month."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import OrderKind, Product
from domain.access import Viewer, can_see_product
from domain.enums import ProductStatus, Side
from resolvers.auth import require_writer
from resolvers.clients import ActiveGrant, active_grants_on_client
from resolvers.commerce.codes import PRODUCT_NOT_RENEWABLE
from resolvers.commerce.idempotency import _Request, _run
from resolvers.commerce.inputs import (
    BasketLine,
    clean_idempotency_key,
    parse_expected_amount,
    validate_basket,
    validate_quantity,
)
from resolvers.commerce.orders import OrderResult, _write_order, add_month
from resolvers.commerce.parties import resolve_parties
from resolvers.commerce.quotes import check_expectations, price
from resolvers.context import RequestContext
from resolvers.errors import UseCaseError, not_found


def _can_see_product(viewer: Viewer, product: Product, grants: Sequence[ActiveGrant]) -> bool:
    return can_see_product(
        viewer, product.organization_id, product.id, [grant.facts for grant in grants]
    )


async def renew_product(
    ctx: RequestContext,
    *,
    organization_id: int,
    product_id: int,
    quantity: int | None = None,
    payer: Side | None = None,
    expected_amount_due: str | None = None,
    idempotency_key: str | None = None,
) -> OrderResult:
    """Renew a product for one more month (optionally with a new quantity)."""
    require_writer(ctx)
    expected = parse_expected_amount(expected_amount_due)
    # The deprecated input field, else the request's Idempotency-Key: kept on the order.
    key = clean_idempotency_key(idempotency_key) or ctx.idempotency_key
    if quantity is not None:
        validate_quantity(quantity)
    if ctx.viewer.role_in(organization_id) is None:
        raise not_found("organizationId")

    async def body(session: AsyncSession) -> OrderResult:
        product = await session.scalar(
            select(Product).where(Product.id == product_id).with_for_update()
        )
        if product is None:
            raise not_found("productId")
        grants = await active_grants_on_client(session, product.organization_id, lock=True)
        if not _can_see_product(ctx.viewer, product, grants):
            raise not_found("productId")
        parties = await resolve_parties(
            session,
            ctx,
            acting_organization_id=organization_id,
            client=None,
            placing=True,
            grants=grants,
            client_id=product.organization_id,
            product_id=product.id,
        )
        if product.status is ProductStatus.CANCELLED:
            raise UseCaseError(
                PRODUCT_NOT_RENEWABLE, "A cancelled product cannot be renewed.", "productId"
            )
        units = product.quantity if quantity is None else quantity
        line = BasketLine(product.kind, units)
        validate_basket([line], None)
        priced = price(parties, [line], None, product_id=product.id)
        check_expectations(priced, payer, expected)
        now = ctx.now()
        base = product.renews_at if product.renews_at and product.renews_at > now else now
        product.renews_at = add_month(base)
        product.quantity = units
        product.status = ProductStatus.ACTIVE
        await session.flush()
        return await _write_order(session, ctx, parties, priced, [product], OrderKind.RENEWAL, key)

    lines = None if quantity is None else ((None, quantity),)
    request = _Request(OrderKind.RENEWAL, lines, None, product_id)
    return await _run(ctx, organization_id, key, request, body)
