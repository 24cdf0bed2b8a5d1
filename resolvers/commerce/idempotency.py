"""Order writes with an idempotency key: a repeated key answers with the order an earlier
call placed; each write is one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from db.models import Invoice, Order, OrderKind, OrderLine
from db.session import transaction
from domain.access import can_see_order
from resolvers.clients import active_grants_on_client
from resolvers.commerce.codes import CONFLICT, IDEMPOTENCY_KEY_REUSED
from resolvers.commerce.inputs import ClientRef
from resolvers.commerce.invoices import _take_write_lock
from resolvers.commerce.orders import OrderResult
from resolvers.commerce.parties import _client_id
from resolvers.context import RequestContext
from resolvers.errors import UseCaseError


@dataclass(frozen=True)
class _Request:
    """What a call asked for, to compare with the order its key placed before: the lines'
    (product kind, quantity), a None kind or no lines meaning "whatever it was"."""

    kind: OrderKind
    lines: tuple[tuple[str | None, int], ...] | None
    client: ClientRef | None
    product_id: int | None


def _same_lines(
    requested: tuple[tuple[str | None, int], ...] | None, placed: Sequence[OrderLine]
) -> bool:
    if requested is None:
        return True
    return len(requested) == len(placed) and all(
        (kind is None or kind == line.product_kind) and quantity == line.quantity
        for (kind, quantity), line in zip(requested, placed, strict=True)
    )


async def _replay(
    ctx: RequestContext, acting_organization_id: int, key: str, request: _Request
) -> OrderResult | None:
    """The order an earlier call with this key placed, if any; refused if it differs."""
    async with ctx.services.sessionmaker() as session:
        order = await session.scalar(
            select(Order).where(
                Order.acting_organization_id == acting_organization_id,
                Order.idempotency_key == key,
            )
        )
        if order is None:
            return None
        client_id = (
            await _client_id(session, ctx.viewer, request.client, acting_organization_id)
            if request.kind is OrderKind.ORDER
            else order.client_id
        )
        placed = list(
            await session.scalars(
                select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.position)
            )
        )
        same = (
            order.kind is request.kind
            and client_id == order.client_id
            and _same_lines(request.lines, placed)
            and (request.product_id is None or request.product_id == order.product_id)
        )
        # Another member of the acting organization replaying a key gets the order only if
        # it may see it (the same answer as a mismatch otherwise: nothing leaks).
        grants = await active_grants_on_client(session, order.client_id)
        visible = can_see_order(
            ctx.viewer, order.client_id, order.payer_id, order.product_id, [g.facts for g in grants]
        )
        if not same or not visible:
            raise UseCaseError(
                IDEMPOTENCY_KEY_REUSED,
                "This idempotency key was used for another order.",
                "idempotencyKey",
            )
        invoice = await session.get(Invoice, order.invoice_id)
        assert invoice is not None
        return OrderResult(order=order, invoice=invoice, replayed=True)


async def _run(
    ctx: RequestContext,
    acting_organization_id: int,
    key: str | None,
    request: _Request,
    body: Any,
) -> OrderResult:
    if key is not None:
        earlier = await _replay(ctx, acting_organization_id, key, request)
        if earlier is not None:
            return earlier
    try:
        async with transaction(ctx.services.sessionmaker) as session:
            await _take_write_lock(session)
            result: OrderResult = await body(session)
    except IntegrityError as exc:
        # The same key committed by a concurrent call: answer with that order.
        if key is not None:
            earlier = await _replay(ctx, acting_organization_id, key, request)
            if earlier is not None:
                return earlier
        raise UseCaseError(
            CONFLICT, "The order clashed with another one; try again.", None
        ) from exc
    ctx.services.after_commit()
    return result
