"""Program use cases: the EXTERNAL memberships a partnership absorbs.

Runs in the accepting transaction of the partnership, with its audit events; rules are in
`domain.program`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CollaboratorClient, Membership
from domain.enums import Role
from resolvers.events import record_audit


async def absorb_external_memberships(
    session: AsyncSession,
    partner_org_id: int,
    client_org_id: int,
    *,
    actor_user_id: int | None = None,
) -> list[int]:
    """Update, as a partnership becomes ACTIVE, the EXTERNAL memberships that partner
    users hold in the client organization (SPEC: "has that membership updated once the
    partnership begins"). Call it in the accepting transaction; returns the user IDs.

    Decided: the EXTERNAL membership is removed, and access flows through the grant. Kept,
    it would be a second way in that the grant does not govern: it would show the whole
    client under a LIMITED grant, outlive `stopCollaboration` ("the partner loses all
    access at once") and ignore the collaborator's rights set by the partner. A partner
    collaborator restricted to a list of clients gets this client added to its list, so
    the person keeps acting for the client it already worked with, now under the grant;
    legal representatives and administrators act for every client already. Each removal
    is audited (before: the EXTERNAL membership; after: the partner-side role).
    """
    partner_memberships = {
        m.user_id: m
        for m in await session.scalars(
            select(Membership).where(Membership.organization_id == partner_org_id)
        )
    }
    if not partner_memberships:
        return []
    externals = list(
        await session.scalars(
            select(Membership)
            .where(
                Membership.organization_id == client_org_id,
                Membership.role == Role.EXTERNAL,
                Membership.user_id.in_(partner_memberships),
            )
            .order_by(Membership.id)
        )
    )
    absorbed: list[int] = []
    for external in externals:
        partner_side = partner_memberships[external.user_id]
        right_added = False
        if partner_side.role is Role.COLLABORATOR and not partner_side.all_clients:
            existing = await session.get(CollaboratorClient, (partner_side.id, client_org_id))
            if existing is None:
                session.add(
                    CollaboratorClient(membership_id=partner_side.id, client_id=client_org_id)
                )
                right_added = True
        record_audit(
            session,
            action="membership.absorbed_by_partnership",
            subject_type="Membership",
            subject_id=external.id,
            actor_user_id=actor_user_id,
            organization_id=client_org_id,
            before={"user_id": external.user_id, "role": Role.EXTERNAL.value},
            after={
                "user_id": external.user_id,
                "removed": True,
                "partner_organization_id": partner_org_id,
                "partner_role": partner_side.role.value,
                "collaborator_client_added": right_added,
            },
        )
        await session.delete(external)
        absorbed.append(external.user_id)
    await session.flush()
    return absorbed
