"""Who is calling, and the organizations it acts in."""

from __future__ import annotations

import strawberry

from resolvers.members import queries as member_queries
from resolvers.pagination import page_of_list
from schema.base import After, Before, Connection, First, Last, Role, page_request, to_connection
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

    @strawberry.field(
        description="The viewer's live sessions (logins), newest first.",
        deprecation_reason="Use `activeSessions` (a connection, with totalCount).",
    )
    async def sessions(self, info: Info) -> list[Session]:
        return await viewer_sessions(info)

    @strawberry.field(description="The viewer's live sessions (logins), newest first.")
    async def active_sessions(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Session]:
        request = page_request(info, first, after, last, before)
        found = await viewer_sessions(info)
        keys = [int(s.id) for s in found]
        return to_connection(page_of_list(found, keys, request, descending=True), lambda s: s)
