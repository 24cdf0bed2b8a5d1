"""The one answer to "which client may this viewer act on, from this ID?".

Every input that names a client (the billing export, `quote`, `placeOrder`, renewals, the
ledger's client filter, collaborator rights ...) goes through `client_for_viewer`. It
answers the client organization, or None, and None means the same whether the ID names
nothing, another partner's grant, a grant of the viewer's partner it does not act for, or
an organization the viewer has nothing to do with: callers turn None into the one
NOT_FOUND (or the one refusal) they answer for a missing client, so no path tells that
another partnership exists.

A client is named by
- a **Client ID** (a grant, the partner's view of its client): only a grant of the
  partner acting (`partner_organization_id`, when the input names the acting
  organization) that lets the viewer see at least `at_least` of the client
  (`domain.access.client_visibility`: an ACTIVE grant the viewer acts for);
- an **Organization ID**: an organization the viewer is a member of, or the client of an
  ACTIVE grant of the acting partner that lets the viewer see at least `at_least`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Grant, GrantProduct, Partner, utcnow
from db.queries import grant_in_term
from domain.access import ClientVisibility, GrantFacts, Viewer, client_visibility
from domain.enums import GrantStatus, PartnerStatus


@dataclass(frozen=True)
class ClientRef:
    """The client named by an input: an Organization ID (a client ordering for itself, or
    any caller that knows it) or a Client ID (the partner's view of a client: a grant)."""

    organization_id: int | None = None
    grant_id: int | None = None


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


@dataclass(frozen=True)
class ViewerClient:
    """A client the viewer may act on, and the active grants on it."""

    organization_id: int
    grants: list[ActiveGrant]
    # The grant the ID named (a Client ID), else None.
    named_grant_id: int | None = None


async def client_for_viewer(
    session: AsyncSession,
    viewer: Viewer,
    ref: ClientRef,
    *,
    partner_organization_id: int | None = None,
    at_least: ClientVisibility = ClientVisibility.PRODUCTS,
    lock: bool = False,
) -> ViewerClient | None:
    """The client `ref` names, if this viewer may act on it; None answers alike for missing
    and forbidden. `lock` takes the grants' shared row lock (see active_grants_on_client)."""

    def sees(grant: ActiveGrant) -> bool:
        return (
            partner_organization_id is None
            or grant.facts.partner_organization_id == partner_organization_id
        ) and client_visibility(viewer, grant.facts) >= at_least

    if ref.grant_id is not None:
        client_id = await session.scalar(select(Grant.client_id).where(Grant.id == ref.grant_id))
        if client_id is None:
            return None
        grants = await active_grants_on_client(session, client_id, lock=lock)
        named = next((g for g in grants if g.facts.grant_id == ref.grant_id), None)
        if named is None or not sees(named):
            return None
        return ViewerClient(client_id, grants, ref.grant_id)
    if ref.organization_id is None:
        return None
    grants = await active_grants_on_client(session, ref.organization_id, lock=lock)
    if viewer.is_member(ref.organization_id) or any(sees(g) for g in grants):
        return ViewerClient(ref.organization_id, grants)
    return None
