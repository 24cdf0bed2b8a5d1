"""Grant use cases on an accepted grant's access: edit access, change payment methods.
Each runs in one transaction with its audit event and its emails."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Grant
from domain.enums import AccessLevel, Side
from domain.grants import Access, GrantAction, GrantError, Term, validate_access, validate_term
from domain.integration_events import EventKind
from resolvers.auth import require_writer
from resolvers.context import RequestContext
from resolvers.grants.common import (
    _apply_term,
    _audit,
    _client_product_ids,
    _event,
    _load_for_update,
    _Run,
    _set_products,
    _transition,
    _visible,
)
from resolvers.grants.emails import _mail_context, _notify


class Keep(enum.Enum):
    """An edit that leaves the grant's end as it is."""

    KEEP = "KEEP"


KEEP = Keep.KEEP


async def edit_access(
    ctx: RequestContext,
    *,
    grant_id: int,
    access: Access,
    ends_at: datetime | Keep | None = KEEP,
    renews_automatically: bool | None = None,
) -> Grant:
    """New access for an active grant; ``ends_at`` a new end (None: none, KEEP: the same)
    and ``renews_automatically`` (None: the same)."""
    require_writer(ctx)

    async def body(session: AsyncSession) -> Grant:
        loaded = _visible(ctx, await _load_for_update(session, grant_id))
        before = loaded.snapshot()
        grant = loaded.grant
        grant.status = _transition(ctx, loaded, GrantAction.EDIT_ACCESS)
        assert grant.client_id is not None
        validate_access(
            access,
            proposed_by=Side.CLIENT,
            client_product_ids=await _client_product_ids(session, grant.client_id),
        )
        if ends_at is not KEEP or renews_automatically is not None:
            term = Term(
                ends_at=grant.ends_at if ends_at is KEEP else ends_at,
                renews_automatically=grant.renews_automatically
                if renews_automatically is None
                else renews_automatically,
            )
            _apply_term(grant, validate_term(term, set_by=Side.CLIENT, now=ctx.now()), ctx.now())
        grant.level = access.level
        grant.payment_methods = access.payment_methods
        await _set_products(session, grant, access.product_ids)
        loaded.product_ids = access.product_ids
        await session.flush()
        _audit(session, ctx, "edit_access", loaded, before, grant.client_id)
        await _event(session, ctx.now(), EventKind.GRANT_ACCESS_CHANGED, loaded)
        mail = await _mail_context(session, ctx, loaded)
        await _notify(session, loaded.partner_organization_id, "grant_access_changed", mail)
        return grant

    return await _Run(ctx)(body)


async def change_payment_methods(
    ctx: RequestContext, *, grant_id: int, payment_methods: Any
) -> Grant:
    require_writer(ctx)

    async def body(session: AsyncSession) -> Grant:
        loaded = _visible(ctx, await _load_for_update(session, grant_id))
        before = loaded.snapshot()
        grant = loaded.grant
        grant.status = _transition(ctx, loaded, GrantAction.CHANGE_PAYMENT_METHODS)
        if grant.level is not AccessLevel.FULL:
            raise GrantError(
                "NOT_FULL_ACCESS",
                "Payment methods are chosen only under a FULL access.",
                "paymentMethods",
            )
        grant.payment_methods = payment_methods
        await session.flush()
        _audit(session, ctx, "change_payment_methods", loaded, before, grant.client_id)
        await _event(session, ctx.now(), EventKind.GRANT_PAYMENT_METHODS_CHANGED, loaded)
        await _notify(
            session,
            loaded.partner_organization_id,
            "grant_payment_methods_changed",
            await _mail_context(session, ctx, loaded),
        )
        return grant

    return await _Run(ctx)(body)
