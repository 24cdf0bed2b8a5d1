"""Root queries of the spine: the viewer, Relay nodes and the program's partners."""

from __future__ import annotations

import strawberry
from sqlalchemy import func, select
from strawberry import relay

from db.models import Organization as OrganizationRow
from db.models import Partner as PartnerRow
from domain.enums import PartnerStatus
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
        except Exception:  # noqa: BLE001 - malformed or foreign: looks missing
            return None
        nodes = await node_type.resolve_nodes(info=info, node_ids=[gid.node_id], required=False)
        return next(iter(nodes), None)  # type: ignore[arg-type]

    @strawberry.field(description="Who is calling.", permission_classes=[IsAuthenticated])
    def viewer(self, info: Info) -> Viewer:
        return Viewer(user_id=info.context.viewer.user_id)

    @strawberry.field(
        description="Active partners of the program, by name (a client looks up the partner "
        "it invites).",
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
        if search:
            pattern = f"%{search.strip().lower()[:100]}%"
            stmt = stmt.where(func.lower(OrganizationRow.name).like(pattern))
        request = page_request(info, first, after)
        async with info.context.services.sessionmaker() as session:
            page = await fetch_page(session, stmt, PartnerRow.id, request)
        return to_connection(page, Partner.of)
