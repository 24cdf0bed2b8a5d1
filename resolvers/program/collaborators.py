"""Program use cases: collaborators' rights (the clients a partner's collaborator acts for).

Runs in one transaction with its audit event; rules are in `domain.program`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select

from db.models import CollaboratorClient, Grant, Membership, Partner
from db.session import transaction
from domain.enums import Role
from domain.grants import LIVE_STATUSES
from domain.program import check_collaborator_clients
from resolvers.auth import require_user
from resolvers.context import RequestContext
from resolvers.errors import UseCaseError, not_found
from resolvers.events import record_audit
from resolvers.program.common import require_legal_representative


@dataclass
class CollaboratorRights:
    membership_id: int
    user_id: int
    organization_id: int
    all_clients: bool
    # Client (grant) IDs of the partner's live grants whose client the collaborator acts for.
    client_grant_ids: list[int] = field(default_factory=list)


async def set_collaborator_clients(
    ctx: RequestContext,
    *,
    organization_id: int,
    user_id: int,
    all_clients: bool,
    client_grant_ids: Sequence[int],
) -> CollaboratorRights:
    """Which clients a partner's collaborator acts for: all, or those listed.

    `client_grant_ids` are the partner's `Client` IDs (a Client is seen through its grant);
    each must be a pending or active partnership of this partner with a bound client.
    Viewers load their rights on every request, so the change applies to the next one.
    """
    actor_id = require_user(ctx)
    require_legal_representative(ctx, organization_id)
    async with transaction(ctx.services.sessionmaker) as session:
        partner = await session.scalar(
            select(Partner).where(Partner.organization_id == organization_id)
        )
        if partner is None:
            raise UseCaseError(
                "NOT_A_PARTNER", "Only a partner's collaborators act for clients.", "organizationId"
            )
        membership = await session.scalar(
            select(Membership)
            .where(Membership.organization_id == organization_id, Membership.user_id == user_id)
            .with_for_update()
        )
        if membership is None:
            raise not_found("userId")
        if membership.role is not Role.COLLABORATOR:
            raise UseCaseError(
                "NOT_A_COLLABORATOR",
                "Legal representatives and administrators act for every client, external "
                "members for none: only a collaborator's clients are chosen.",
                "userId",
            )
        live = {
            g.id: g.client_id
            for g in await session.scalars(
                select(Grant).where(
                    Grant.partner_id == partner.id,
                    Grant.status.in_(LIVE_STATUSES),
                    Grant.client_id.is_not(None),
                )
            )
            if g.client_id is not None
        }
        requested_grants = frozenset(client_grant_ids)
        if requested_grants - live.keys():
            raise UseCaseError(
                "CLIENT_NOT_OF_PARTNER",
                "Each client must be a client of this partner (a pending or active partnership).",
                "clientIds",
            )
        clients = check_collaborator_clients(
            all_clients,
            frozenset(live[g] for g in requested_grants),
            frozenset(live.values()),
        )
        current = frozenset(
            await session.scalars(
                select(CollaboratorClient.client_id).where(
                    CollaboratorClient.membership_id == membership.id
                )
            )
        )
        before = {"all_clients": membership.all_clients, "client_ids": sorted(current)}
        await session.execute(
            delete(CollaboratorClient).where(CollaboratorClient.membership_id == membership.id)
        )
        session.add_all(
            CollaboratorClient(membership_id=membership.id, client_id=c) for c in sorted(clients)
        )
        membership.all_clients = all_clients
        await session.flush()
        record_audit(
            session,
            action="collaborator.set_clients",
            subject_type="Membership",
            subject_id=membership.id,
            actor_user_id=actor_id,
            organization_id=organization_id,
            before=before,
            after={"all_clients": all_clients, "client_ids": sorted(clients)},
        )
    return CollaboratorRights(
        membership_id=membership.id,
        user_id=user_id,
        organization_id=organization_id,
        all_clients=all_clients,
        client_grant_ids=sorted(g for g, c in live.items() if c in clients or all_clients),
    )
