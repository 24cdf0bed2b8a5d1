"""Who is calling, and the organizations it acts in."""

from __future__ import annotations

import strawberry

from resolvers.members import queries as member_queries
from schema.base import Role
from schema.context import Info
from schema.types.member import Member
from schema.types.organization import Organization
from schema.types.session import Session, viewer_sessions
from schema.types.user import User


@strawberry.type(description="The viewer's membership in an organization.")
class Membership:
    role: Role = strawberry.field(description="The viewer's role there.")
    organization: Organization = strawberry.field(description="The organization.")

    @strawberry.field(
        description="The viewer as a member there (its collaborator rights, for one)."
    )
    async def member(self, info: Info) -> Member | None:
        rows = await member_queries.own_member(info.context, self.organization.id)
        return Member.of(rows) if rows else None


@strawberry.type(
    description="Who is calling: a person, or an API token acting for one organization."
)
class Viewer:
    user_id: strawberry.Private[int | None]

    @strawberry.field(description="The person, when a person is logged in.")
    async def user(self, info: Info) -> User | None:
        if self.user_id is None:
            return None
        row = await info.context.loaders.user.load(self.user_id)
        return User.of(row) if row else None

    @strawberry.field(description="The organizations the viewer acts in, with its role.")
    async def memberships(self, info: Info) -> list[Membership]:
        viewer = info.context.viewer
        ids = sorted(viewer.memberships)
        orgs = await info.context.loaders.organization.load_many(ids)
        return [
            Membership(role=viewer.memberships[o.id].role, organization=Organization.of(o))
            for o in orgs
            if o is not None
        ]

    @strawberry.field(description="The viewer's live sessions (logins), newest first.")
    async def sessions(self, info: Info) -> list[Session]:
        return await viewer_sessions(info)
