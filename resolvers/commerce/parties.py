"""Who orders for whom, under which grant: the active grants on a client and the parties
of an order (SPEC "Prices, discounts and cashback").

Decisions where SPEC is silent:
- When a client orders for itself and several partners hold an active grant on it, the
  grant that applies is the one managing the product (FULL, or LIMITED with the product
  granted), else any active grant; ties go to the oldest grant.
- A partner-side order without an active FULL grant answers PARTNER_MAY_NOT_ORDER for an
  existing client and for a missing one alike (nothing leaks about other organizations).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Grant, GrantProduct, Organization, Partner, utcnow
from db.queries import grant_in_term
from domain.access import (
    BILLING_ROLES,
    ClientVisibility,
    GrantFacts,
    client_visibility,
    may_order_for_client,
)
from domain.enums import AccessLevel, GrantStatus, PartnerStatus, Side
from resolvers.commerce.codes import ROLE_NOT_ALLOWED, _partner_may_not_order
from resolvers.commerce.inputs import ClientRef
from resolvers.context import RequestContext
from resolvers.errors import UseCaseError, not_found


@dataclass(frozen=True)
class ActiveGrant:
    facts: GrantFacts
    partner_id: int
    partner_status: PartnerStatus


async def active_grants_on_client(
    session: AsyncSession, client_id: int, *, lock: bool = False, now: datetime | None = None
) -> list[ActiveGrant]:
    """Every ACTIVE grant on the client, with its granted products.

    `lock` takes a shared row lock (PostgreSQL FOR SHARE): the access and payment methods
    cannot change until the order that read them commits.
    """
    stmt = (
        select(Grant, Partner.organization_id, Partner.status)
        .join(Partner, Partner.id == Grant.partner_id)
        .where(
            Grant.client_id == client_id,
            Grant.status == GrantStatus.ACTIVE,
            # Past its end: expired at once, before the job records it.
            grant_in_term(now or utcnow()),
        )
        .order_by(Grant.id)
    )
    if lock:
        stmt = stmt.with_for_update(read=True, of=Grant)
    rows = (await session.execute(stmt)).all()
    products: dict[int, set[int]] = {}
    if rows:
        for grant_id, product_id in await session.execute(
            select(GrantProduct.grant_id, GrantProduct.product_id).where(
                GrantProduct.grant_id.in_([grant.id for grant, _, _ in rows])
            )
        ):
            products.setdefault(grant_id, set()).add(product_id)
    return [
        ActiveGrant(
            facts=GrantFacts(
                partner_organization_id=partner_org,
                client_organization_id=grant.client_id,
                status=grant.status,
                level=grant.level,
                payment_methods=grant.payment_methods,
                product_ids=frozenset(products.get(grant.id, ())),
                grant_id=grant.id,
            ),
            partner_id=grant.partner_id,
            partner_status=status,
        )
        for grant, partner_org, status in rows
    ]


def applicable_grant(grants: Sequence[ActiveGrant], product_id: int | None) -> ActiveGrant | None:
    """The grant that settles a client's own order (several partners may hold one)."""

    def manages(g: ActiveGrant) -> bool:
        return g.facts.level is AccessLevel.FULL or (
            product_id is not None and product_id in g.facts.product_ids
        )

    pool = [g for g in grants if manages(g)] or list(grants)
    return min(pool, key=lambda g: g.facts.grant_id) if pool else None


@dataclass(frozen=True)
class Parties:
    acting_organization_id: int
    client: Organization
    orderer: Side
    grant: ActiveGrant | None


async def _client_id(session: AsyncSession, ref: ClientRef | None, acting: int) -> int | None:
    if ref is None:
        return acting
    if ref.organization_id is not None:
        return ref.organization_id
    if ref.grant_id is not None:
        return await session.scalar(select(Grant.client_id).where(Grant.id == ref.grant_id))
    return acting


async def resolve_parties(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    acting_organization_id: int,
    client: ClientRef | None,
    placing: bool,
    grants: Sequence[ActiveGrant] | None = None,
    client_id: int | None = None,
    product_id: int | None = None,
) -> Parties:
    """Who orders for whom, under which grant; refuses what the viewer may not do."""
    viewer = ctx.viewer
    role = viewer.role_in(acting_organization_id)
    if role is None:
        raise not_found("organizationId")
    if client_id is None:
        client_id = await _client_id(session, client, acting_organization_id)
    if client_id == acting_organization_id:
        if placing and role not in BILLING_ROLES:
            raise UseCaseError(
                ROLE_NOT_ALLOWED,
                "Only a legal representative or an administrator orders for the organization.",
                "organizationId",
            )
        org = await session.get(Organization, client_id)
        if org is None:
            raise not_found("organizationId")
        if grants is None:
            grants = await active_grants_on_client(session, client_id, lock=placing)
        return Parties(
            acting_organization_id, org, Side.CLIENT, applicable_grant(grants, product_id)
        )

    # The partner on the client's behalf: only under an active FULL grant, by a member who
    # acts for that client. Every refusal answers alike, whether the client exists or not.
    refusal = _partner_may_not_order(
        "A partner orders for a client only under an active FULL grant, by a member who "
        "acts for that client."
    )
    if client_id is None:
        raise refusal
    if grants is None:
        grants = await active_grants_on_client(session, client_id, lock=placing)
    grant = next(
        (g for g in grants if g.facts.partner_organization_id == acting_organization_id), None
    )
    if (
        grant is None
        or grant.partner_status is not PartnerStatus.ACTIVE
        or grant.facts.level is not AccessLevel.FULL
        or client_visibility(viewer, grant.facts) is not ClientVisibility.WHOLE
        or (placing and not may_order_for_client(viewer, grant.facts))
    ):
        raise refusal
    org = await session.get(Organization, client_id)
    if org is None:
        raise refusal
    return Parties(acting_organization_id, org, Side.PARTNER, grant)
