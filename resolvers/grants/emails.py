"""The emails of the grant use cases: one mail context for every template, the
notification of an organization's legal representatives, and the invitation link."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Product
from db.queries import actor_display_name, legal_representative_emails, organization_name
from resolvers.context import RequestContext
from resolvers.events import emit_email
from resolvers.grants.common import LoadedGrant
from resolvers.links import accept_grant_invitation_url, partnerships_url


async def _product_names(session: AsyncSession, ids: frozenset[int]) -> list[str]:
    if not ids:
        return []
    rows = await session.scalars(
        select(Product.name).where(Product.id.in_(ids)).order_by(Product.name)
    )
    return list(rows)


async def _notify(
    session: AsyncSession, organization_id: int | None, template: str, context: dict[str, Any]
) -> None:
    if organization_id is None:
        return
    for address in await legal_representative_emails(session, organization_id):
        emit_email(session, to=address, template=template, context=context)


async def _mail_context(
    session: AsyncSession, ctx: RequestContext, loaded: LoadedGrant
) -> dict[str, Any]:
    """One context for every grant email; each template reads the keys it declares."""
    g = loaded.grant
    actor = await actor_display_name(session, ctx.viewer)
    partner_name = await organization_name(session, loaded.partner_organization_id)
    methods = g.payment_methods or g.requested_payment_methods
    products = await _product_names(session, loaded.product_ids)
    return {
        "partner_name": partner_name,
        "client_name": await organization_name(session, g.client_id) or (g.invitee_email or ""),
        "actor_name": actor or partner_name,
        "level": (g.level or g.requested_level).value,
        "payment_methods": [methods.value] if methods else [],
        # A partner asking for LIMITED access names families: it cannot see products yet.
        "products": products or sorted(g.requested_families or []),
        # What the inviting side asked for, beside what was granted (the acceptance email).
        "requested_level": g.requested_level.value,
        "requested_products": await _product_names(
            session, frozenset(g.requested_product_ids or [])
        )
        or sorted(g.requested_families or []),
        # Where a signed-in invited side reviews its pending invitations; an emailed
        # invitation to someone without an account carries its token instead.
        "accept_url": partnerships_url(ctx.settings.public_url),
    }


def _accept_url(ctx: RequestContext, token: str) -> str:
    return accept_grant_invitation_url(ctx.settings.public_url, token)
