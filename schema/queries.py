"""Root queries of the spine: the viewer, Relay nodes and the program's partners."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

import strawberry
from sqlalchemy import func, or_, select
from strawberry import relay

from db.models import Membership as MembershipRow
from db.models import Organization as OrganizationRow
from db.models import Partner as PartnerRow
from db.models import User as UserRow
from domain.enums import PartnerStatus, Role
from resolvers.errors import UseCaseError
from resolvers.pagination import fetch_page
from schema.base import After, Before, Connection, First, Last, page_request, to_connection
from schema.context import Info
from schema.permissions import IsAuthenticated
from schema.types import Partner, Viewer

#: The most IDs one `nodes` call resolves (GitHub's limit too).
MAX_NODE_IDS = 100


@strawberry.type
class CoreQueries:
    @strawberry.field(
        description="Any object by its global ID; null when missing, of an unknown type, or "
        "not visible to you (the three answer alike).",
        permission_classes=[IsAuthenticated],
    )
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A global ID.")],
    ) -> relay.Node | None:
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

    @strawberry.field(
        description=f"Objects by their global IDs (at most {MAX_NODE_IDS}), in the order "
        "asked; null for each ID that is missing, of an unknown type, or not visible to you "
        "(the three answer alike).",
        permission_classes=[IsAuthenticated],
    )
    async def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(description=f"Global IDs, at most {MAX_NODE_IDS}."),
        ],
    ) -> list[relay.Node | None]:
        if len(ids) > MAX_NODE_IDS:
            raise UseCaseError("LIST_TOO_LONG", f"At most {MAX_NODE_IDS} IDs.", "ids")
        by_type: dict[Any, list[tuple[int, str]]] = defaultdict(list)
        for position, raw in enumerate(ids):
            try:
                gid = relay.GlobalID.from_id(raw)
                by_type[gid.resolve_type(info)].append((position, gid.node_id))
            except Exception:  # noqa: S112 - malformed, foreign or not a node: looks missing
                continue
        found: list[relay.Node | None] = [None] * len(ids)
        for node_type, wanted in by_type.items():
            # One batch per type; each type's resolve_nodes answers None for what is unseen.
            nodes: Any = await node_type.resolve_nodes(
                info=info, node_ids=[node_id for _, node_id in wanted], required=False
            )
            for (position, _), node in zip(wanted, nodes, strict=True):
                found[position] = node
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
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Partner]:
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
        request = page_request(info, first, after, last, before)
        async with info.context.services.sessionmaker() as session:
            page = await fetch_page(session, stmt, PartnerRow.id, request)
        return to_connection(page, Partner.of)
