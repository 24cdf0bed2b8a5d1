"""Members of an organization and the invitations that bring them in."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from db import models
from domain.enums import MemberInvitationStatus
from resolvers.members import queries
from resolvers.members.invitations import status_of
from resolvers.program import collaborators
from schema.base import Role
from schema.context import Info
from schema.ids import primary_keys
from schema.permissions import ReadsCollaboratorRights
from schema.types.collaborator_rights import CollaboratorRights

strawberry.enum(MemberInvitationStatus, description="Where a member invitation is.")


def _ids(node_ids: Iterable[str]) -> list[int | None]:
    return primary_keys(node_ids)


@strawberry.type(description="A person's membership in an organization.")
class Member(relay.Node):
    id: relay.NodeID[int]
    role: Role = strawberry.field(description="Its role there.")
    since: datetime = strawberry.field(description="When it joined.")
    email: str = strawberry.field(description="Its login email.")
    full_name: str = strawberry.field(description="Its name.")
    last_activity_at: datetime | None = strawberry.field(
        description="Its last request with any of its sessions (to within a few minutes)."
    )
    organization_id: strawberry.Private[int]
    user_id: strawberry.Private[int]

    @classmethod
    def of(cls, row: queries.MemberRow) -> Member:
        return cls(
            id=row.id,
            role=row.role,
            since=row.since,
            email=row.email,
            full_name=row.full_name,
            last_activity_at=row.last_activity_at,
            organization_id=row.organization_id,
            user_id=row.user_id,
        )

    @strawberry.field(
        description="A collaborator's rights (clients, and products on each): the "
        "organization's legal representatives and the collaborator itself read them; null "
        "for other roles.",
        permission_classes=[ReadsCollaboratorRights],
    )
    async def collaborator_rights(self, info: Info) -> CollaboratorRights | None:
        rights = await collaborators.collaborator_rights(info.context, self.id)
        return CollaboratorRights.of(rights) if rights else None

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Member | None]:
        ids = _ids(node_ids)
        rows = {r.id: r for r in await queries.member_rows(info.context, [i for i in ids if i])}
        return [cls.of(rows[i]) if i in rows else None for i in ids]


@strawberry.type(description="An invitation of a person, by email, to join with a role.")
class MemberInvitation(relay.Node):
    id: relay.NodeID[int]
    email: str = strawberry.field(description="Who is invited.")
    role: Role = strawberry.field(description="The role it will have.")
    created_at: datetime = strawberry.field(description="When it was first sent.")
    expires_at: datetime = strawberry.field(description="Its link works until then.")
    status: MemberInvitationStatus = strawberry.field(description="Pending, accepted, ...")

    @classmethod
    def of(cls, row: models.MemberInvitation, info: Info) -> MemberInvitation:
        return cls(
            id=row.id,
            email=row.email,
            role=row.role,
            created_at=row.created_at,
            expires_at=row.expires_at,
            status=status_of(info.context, row),
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[MemberInvitation | None]:
        ids = _ids(node_ids)
        rows = await queries.visible_invitations(info.context, [i for i in ids if i])
        return [cls.of(rows[i], info) if i in rows else None for i in ids]
