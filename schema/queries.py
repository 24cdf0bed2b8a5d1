"""Root queries of the spine: the viewer, Relay nodes and the program's partners."""

from __future__ import annotations

from typing import Any

import strawberry
from sqlalchemy import func, or_, select
from strawberry import relay

from db.models import Membership as MembershipRow
from db.models import Organization as OrganizationRow
from db.models import Partner as PartnerRow
from db.models import User as UserRow
from domain.enums import PartnerStatus, Role
from resolvers.pagination import fetch_page
from schema.base import page_request, to_connection
from schema.context import Info
from schema.permissions import IsAuthenticated
from schema.types import Partner, Viewer


@strawberry.type
class CoreQueries:
    @strawberry.field(
        description="Any object by its global ID; null when missing, of an unknown type, or "
        "not visible to you (the three answer alike).",
        permission_classes=[IsAuthenticated],
    )
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        try:
            gid = relay.GlobalID.from_id(id)
            node_type = gid.resolve_type(info)
        except Exception:  # malformed, foreign or not a node: looks missing
            return None
        # Every node type here implements resolve_nodes as a coroutine.
        nodes: Any = await node_type.resolve_nodes(  # type: ignore[misc]
            info=info, node_ids=[gid.node_id], required=False
        )
        found: relay.Node | None = next(iter(nodes), None)
        return found

    @strawberry.field(description="Who is calling.", permission_classes=[IsAuthenticated])
    def viewer(self, info: Info) -> Viewer:
        return Viewer(user_id=info.context.viewer.user_id)

    @strawberry.field(
        description="Active partners of the program, by part of their name or by the exact "
        "email of one of their legal representatives (a client looks up the partner it "
        "invites).",
        permission_classes=[IsAuthenticated],
    )
    async def partners(
        self,
        info: Info,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> relay.Connection[Partner]:
        stmt = (
            select(PartnerRow)
            .join(OrganizationRow, OrganizationRow.id == PartnerRow.organization_id)
            .where(PartnerRow.status == PartnerStatus.ACTIVE)
        )
        text = (search or "").strip().lower()
        if text:
            # `%` and `_` typed by the user are literal characters, not wildcards.
            literal = text[:100].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            by_name = func.lower(OrganizationRow.name).like(f"%{literal}%", escape="\\")
            # By email only exactly: no prefix search that would list addresses.
            by_email = PartnerRow.organization_id.in_(
                select(MembershipRow.organization_id)
                .join(UserRow, UserRow.id == MembershipRow.user_id)
                .where(
                    UserRow.email == text[:254],
                    MembershipRow.role == Role.LEGAL_REPRESENTATIVE,
                )
            )
            stmt = stmt.where(or_(by_name, by_email) if "@" in text else by_name)
        request = page_request(info, first, after)
        async with info.context.services.sessionmaker() as session:
            page = await fetch_page(session, stmt, PartnerRow.id, request)
        return to_connection(page, Partner.of)
