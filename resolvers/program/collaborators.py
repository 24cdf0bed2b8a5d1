"""Collaborators' rights: the clients a partner's collaborator acts for and, on each, every
product the grant covers or a chosen subset (SPEC "People in an organization").

Runs in one transaction with its audit event; rules are in `domain.program` and
`domain.people`. Viewers load their rights on every request, so a change applies to the
next one; rights on a client end with the grant (`end_collaborator_rights`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    CollaboratorClient,
    CollaboratorProduct,
    Grant,
    GrantProduct,
    Membership,
    Partner,
    Product,
)
from db.session import transaction
from domain.enums import AccessLevel, GrantStatus, Role
from domain.grants import LIVE_STATUSES
from domain.people import check_product_rights
from domain.program import check_collaborator_clients
from resolvers.auth import require_user
from resolvers.context import RequestContext
from resolvers.errors import INVALID_INPUT, UseCaseError, not_found
from resolvers.events import record_audit
from resolvers.program.common import require_legal_representative


@dataclass(frozen=True)
class ClientRightsRequest:
    client_grant_id: int  # a `Client` ID: the partner sees a client through its grant
    all_products: bool = True
    product_ids: frozenset[int] = frozenset()


@dataclass
class ClientRights:
    client_grant_id: int
    client_id: int
    # None: every product the grant covers.
    product_ids: frozenset[int] | None


@dataclass
class CollaboratorRights:
    membership_id: int
    user_id: int
    organization_id: int
    all_clients: bool
    # Client (grant) IDs of the partner's live grants whose client the collaborator acts for.
    client_grant_ids: list[int] = field(default_factory=list)
    clients: list[ClientRights] = field(default_factory=list)


async def _live_grants(session: AsyncSession, partner_id: int) -> dict[int, Grant]:
    rows = await session.scalars(
        select(Grant).where(
            Grant.partner_id == partner_id,
            Grant.status.in_(LIVE_STATUSES),
            Grant.client_id.is_not(None),
        )
    )
    return {g.id: g for g in rows}


async def _covered_products(session: AsyncSession, grant: Grant) -> frozenset[int]:
    """The products an active grant covers (none while pending)."""
    if grant.status is not GrantStatus.ACTIVE or grant.client_id is None:
        return frozenset()
    if grant.level is AccessLevel.FULL:
        stmt = select(Product.id).where(Product.organization_id == grant.client_id)
    else:
        stmt = select(GrantProduct.product_id).where(GrantProduct.grant_id == grant.id)
    return frozenset(await session.scalars(stmt))


async def _current(session: AsyncSession, membership: Membership) -> dict[str, Any]:
    clients = {
        c.client_id: c
        for c in await session.scalars(
            select(CollaboratorClient).where(CollaboratorClient.membership_id == membership.id)
        )
    }
    products: dict[int, list[int]] = {}
    for row in await session.scalars(
        select(CollaboratorProduct).where(CollaboratorProduct.membership_id == membership.id)
    ):
        products.setdefault(row.client_id, []).append(row.product_id)
    return {
        "all_clients": membership.all_clients,
        "client_ids": sorted(clients),
        "products": {
            str(c): "ALL" if clients[c].all_products else sorted(products.get(c, []))
            for c in sorted(clients)
        },
    }


async def _collaborator(
    ctx: RequestContext, session: AsyncSession, membership: Membership | None, field: str
) -> tuple[Membership, Partner]:
    if membership is None:
        raise not_found(field)
    require_legal_representative(ctx, membership.organization_id)
    partner = await session.scalar(
        select(Partner).where(Partner.organization_id == membership.organization_id)
    )
    if partner is None:
        raise UseCaseError(
            "NOT_A_PARTNER", "Only a partner's collaborators act for clients.", "organizationId"
        )
    if membership.role is not Role.COLLABORATOR:
        raise UseCaseError(
            "NOT_A_COLLABORATOR",
            "Legal representatives and administrators act for every client, external "
            "members for none: only a collaborator's clients are chosen.",
            field,
        )
    return membership, partner


async def _write(
    ctx: RequestContext,
    session: AsyncSession,
    membership: Membership,
    partner: Partner,
    *,
    all_clients: bool,
    requests: Sequence[ClientRightsRequest],
    action: str,
) -> CollaboratorRights:
    actor_id = require_user(ctx)
    live = await _live_grants(session, partner.id)
    grant_ids = [r.client_grant_id for r in requests]
    if len(set(grant_ids)) != len(grant_ids):
        raise UseCaseError(INVALID_INPUT, "Name each client once.", "clientIds")
    if set(grant_ids) - live.keys():
        raise UseCaseError(
            "CLIENT_NOT_OF_PARTNER",
            "Each client must be a client of this partner (a pending or active partnership).",
            "clientIds",
        )
    live_clients = {g.id: g.client_id for g in live.values() if g.client_id is not None}
    clients = check_collaborator_clients(
        all_clients,
        frozenset(live_clients[g] for g in grant_ids),
        frozenset(live_clients.values()),
    )
    chosen: dict[int, frozenset[int] | None] = {}
    for request in requests:
        grant = live[request.client_grant_id]
        assert grant.client_id is not None
        chosen[grant.client_id] = check_product_rights(
            grant.client_id,
            request.all_products,
            request.product_ids,
            await _covered_products(session, grant) if not request.all_products else frozenset(),
        )
    before = await _current(session, membership)
    await session.execute(
        delete(CollaboratorProduct).where(CollaboratorProduct.membership_id == membership.id)
    )
    await session.execute(
        delete(CollaboratorClient).where(CollaboratorClient.membership_id == membership.id)
    )
    await session.flush()
    session.add_all(
        CollaboratorClient(
            membership_id=membership.id, client_id=c, all_products=chosen.get(c) is None
        )
        for c in sorted(clients)
    )
    await session.flush()
    session.add_all(
        CollaboratorProduct(membership_id=membership.id, client_id=c, product_id=p)
        for c, products in sorted(chosen.items())
        for p in sorted(products or ())
    )
    membership.all_clients = all_clients
    await session.flush()
    after = await _current(session, membership)
    record_audit(
        session,
        action=action,
        subject_type="Membership",
        subject_id=membership.id,
        actor_user_id=actor_id,
        organization_id=membership.organization_id,
        before=before,
        after=after,
    )
    by_client = {g.client_id: g.id for g in live.values()}
    return CollaboratorRights(
        membership_id=membership.id,
        user_id=membership.user_id,
        organization_id=membership.organization_id,
        all_clients=all_clients,
        client_grant_ids=sorted(g for g, c in live_clients.items() if c in clients or all_clients),
        clients=[
            ClientRights(by_client[c], c, chosen.get(c)) for c in sorted(clients) if c in by_client
        ],
    )


async def set_collaborator_rights(
    ctx: RequestContext,
    *,
    membership_id: int,
    all_clients: bool,
    clients: Sequence[ClientRightsRequest],
) -> CollaboratorRights:
    """Which clients a partner's collaborator acts for, and on each which products."""
    require_user(ctx)
    async with transaction(ctx.services.sessionmaker) as session:
        found = await session.get(Membership, membership_id, with_for_update=True)
        if found is None or not ctx.viewer.is_member(found.organization_id):
            raise not_found("memberId")
        membership, partner = await _collaborator(ctx, session, found, "memberId")
        return await _write(
            ctx,
            session,
            membership,
            partner,
            all_clients=all_clients,
            requests=clients,
            action="collaborator.set_rights",
        )


async def set_collaborator_clients(
    ctx: RequestContext,
    *,
    organization_id: int,
    user_id: int,
    all_clients: bool,
    client_grant_ids: Sequence[int],
) -> CollaboratorRights:
    """Deprecated form of `set_collaborator_rights`: every listed client with all the
    products its grant covers."""
    require_user(ctx)
    require_legal_representative(ctx, organization_id)
    async with transaction(ctx.services.sessionmaker) as session:
        found = await session.scalar(
            select(Membership)
            .where(Membership.organization_id == organization_id, Membership.user_id == user_id)
            .with_for_update()
        )
        membership, partner = await _collaborator(ctx, session, found, "userId")
        return await _write(
            ctx,
            session,
            membership,
            partner,
            all_clients=all_clients,
            requests=[ClientRightsRequest(g) for g in client_grant_ids],
            action="collaborator.set_clients",
        )


async def collaborator_rights(ctx: RequestContext, membership_id: int) -> CollaboratorRights | None:
    """A collaborator's rights on the partner's live clients: to the partner's legal
    representatives, and to the collaborator itself; None to anyone else."""
    async with ctx.services.sessionmaker() as session:
        membership = await session.get(Membership, membership_id)
        if membership is None or membership.role is not Role.COLLABORATOR:
            return None
        own = membership.user_id == ctx.viewer.user_id
        if (
            not own
            and ctx.viewer.role_in(membership.organization_id) is not Role.LEGAL_REPRESENTATIVE
        ):
            return None
        partner = await session.scalar(
            select(Partner).where(Partner.organization_id == membership.organization_id)
        )
        if partner is None:
            return None
        live = await _live_grants(session, partner.id)
        current = await _current(session, membership)
    by_client = {g.client_id: g.id for g in live.values() if g.client_id is not None}
    listed = set(by_client) if membership.all_clients else set(current["client_ids"])
    clients = []
    for client_id in sorted(listed & set(by_client)):
        products = current["products"].get(str(client_id), "ALL")
        clients.append(
            ClientRights(
                by_client[client_id],
                client_id,
                None if products == "ALL" else frozenset(products),
            )
        )
    return CollaboratorRights(
        membership_id=membership.id,
        user_id=membership.user_id,
        organization_id=membership.organization_id,
        all_clients=membership.all_clients,
        client_grant_ids=[c.client_grant_id for c in clients],
        clients=clients,
    )


async def end_collaborator_rights(
    session: AsyncSession, *, partner_organization_id: int, client_id: int
) -> None:
    """In the transaction that ends a grant: the partner's collaborators' rights on that
    client end with it (a later grant starts with none)."""
    memberships = select(Membership.id).where(Membership.organization_id == partner_organization_id)
    await session.execute(
        delete(CollaboratorProduct).where(
            CollaboratorProduct.membership_id.in_(memberships),
            CollaboratorProduct.client_id == client_id,
        )
    )
    await session.execute(
        delete(CollaboratorClient).where(
            CollaboratorClient.membership_id.in_(memberships),
            CollaboratorClient.client_id == client_id,
        )
    )
