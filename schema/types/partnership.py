"""Partnerships: the partner, the grant between it and a client, the client it sees."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from db import models
from domain.access import ClientVisibility, GrantFacts, can_see_grant, client_visibility
from domain.grants import effective_status
from resolvers.audit import queries as audit_queries
from resolvers.exports import export_url
from resolvers.pagination import Page, PageRequest, page_of_list
from schema.base import (
    AccessLevel,
    After,
    Before,
    Connection,
    First,
    GrantStatus,
    Last,
    PartnerStatus,
    PaymentMethods,
    ProductFamily,
    Side,
    page_request,
    product_families,
    to_connection,
)
from schema.context import Info
from schema.ids import encode_id, primary_keys
from schema.permissions import Forbidden, IsMember, ReadsClientInvoices, SeesClientProducts
from schema.planning import page_requests_below
from schema.types.audit import AuditEvent, AuditEventFilter, to_filter
from schema.types.invoice import Invoice
from schema.types.loading import _load_visible
from schema.types.product import Product


@strawberry.type(description="What an inviting side asked for (partner) or offered (client).")
class RequestedAccess:
    level: AccessLevel = strawberry.field(description="The access level asked for.")
    payment_methods: PaymentMethods | None = strawberry.field(description="For FULL.")
    product_families: list[ProductFamily] = strawberry.field(
        description="Families a partner asks to manage under LIMITED."
    )


@strawberry.type(description="A partner of the program, as anyone signed in sees it.")
class Partner(relay.Node):
    id: relay.NodeID[int]
    status: PartnerStatus = strawberry.field(description="Active or suspended.")
    organization_id: strawberry.Private[int]

    @classmethod
    def of(cls, row: models.Partner) -> Partner:
        return cls(id=row.id, status=row.status, organization_id=row.organization_id)

    @strawberry.field(description="The partner's public name.")
    async def name(self, info: Info) -> str:
        org = await info.context.loaders.organization.load(self.organization_id)
        return org.name if org else ""

    @strawberry.field(
        description="The partner's clients (grants), for members of the partner; "
        "collaborators see only the clients their rights name.",
        permission_classes=[IsMember],
    )
    async def clients(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Client] | None:
        loaders = info.context.loaders
        page = await loaders.partner_grants.load(
            (self.id, page_request(info, first, after, last, before))
        )
        # The page's batch primed these loaders: no further SQL.
        facts = await loaders.grant_facts.load_many([g.id for g in page.items])
        by_id = {f.grant_id: f for f in facts if f is not None}
        names = await Client.names_of(info, page.items)
        clients = [
            Client(id=g.id, facts=by_id.get(g.id), row=g, name=names[g.id], pages={})
            for g in page.items
        ]
        await Client.prefetch_pages(info, clients, path=["edges", "node"])
        by_grant = {c.id: c for c in clients}
        return to_connection(page, lambda g: by_grant[g.id])

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Partner | None]:
        async def visible(info: Info, row: models.Partner) -> Partner | None:
            # Program partners are public to every signed-in user (clients look them up).
            return cls.of(row)

        return await _load_visible(info, info.context.loaders.partner, node_ids, visible)


@strawberry.type(description="A partnership between a partner and a client.")
class Grant(relay.Node):
    id: relay.NodeID[int]
    initiated_by: Side = strawberry.field(description="Which side sent the invitation.")
    level: AccessLevel | None = strawberry.field(description="Granted level, once active.")
    payment_methods: PaymentMethods | None = strawberry.field(
        description="Whose wallet pays, for a FULL grant."
    )
    requested_access: RequestedAccess = strawberry.field(
        description="What the inviting side asked for or offered."
    )
    message: str | None = strawberry.field(description="The inviting side's message.")
    created_at: datetime = strawberry.field(description="When the invitation was made.")
    invitation_expires_at: datetime | None = strawberry.field(
        description="When a pending invitation expires."
    )
    accepted_at: datetime | None = strawberry.field(description="When it became active.")
    ended_at: datetime | None = strawberry.field(
        description="When it was refused, cancelled, expired or stopped."
    )
    ends_at: datetime | None = strawberry.field(
        description="When the grant ends by itself (set by the client); null: never."
    )
    renews_automatically: bool = strawberry.field(
        description="At its end the grant renews for the same length."
    )
    row: strawberry.Private[models.Grant]

    @classmethod
    def of(cls, row: models.Grant) -> Grant:
        return cls(
            id=row.id,
            initiated_by=row.initiated_by,
            level=row.level,
            payment_methods=row.payment_methods,
            requested_access=RequestedAccess(
                level=row.requested_level,
                payment_methods=row.requested_payment_methods,
                product_families=product_families(row.requested_families),
            ),
            message=row.message,
            created_at=row.created_at,
            invitation_expires_at=row.invitation_expires_at,
            accepted_at=row.accepted_at,
            ended_at=row.ended_at,
            ends_at=row.ends_at,
            renews_automatically=bool(row.renews_automatically),
            row=row,
        )

    @strawberry.field(
        description="The grant's status; a pending invitation past expiry is EXPIRED."
    )
    def status(self, info: Info) -> GrantStatus:
        row = self.row
        return effective_status(
            row.status,
            row.invitation_expires_at,
            info.context.now(),
            row.ends_at,
            row.renews_automatically,
        )

    @strawberry.field(description="The email a partner invited, while no client is bound.")
    def invitee_email(self) -> str | None:
        return self.row.invitee_email if self.row.client_id is None else None

    @strawberry.field(description="The partner.")
    async def partner(self, info: Info) -> Partner:
        row = await info.context.loaders.partner.load(self.row.partner_id)
        return Partner.of(row)

    async def _client_visibility(self, info: Info) -> ClientVisibility:
        """WHOLE for members of the client; else what the grant shows the partner side."""
        viewer = info.context.viewer
        if self.row.client_id is not None and viewer.is_member(self.row.client_id):
            return ClientVisibility.WHOLE
        facts = await info.context.loaders.grant_facts.load(self.id)
        return client_visibility(viewer, facts) if facts else ClientVisibility.NONE

    @strawberry.field(
        description="The client organization's name, once a client is bound; null for a "
        "partner-side viewer the grant shows nothing (refused, cancelled, expired, stopped)."
    )
    async def client_name(self, info: Info) -> str | None:
        if self.row.client_id is None:
            return None
        if await self._client_visibility(info) < ClientVisibility.NAME_ONLY:
            return None
        org = await info.context.loaders.organization.load(self.row.client_id)
        return org.name if org else None

    @strawberry.field(
        description="Products granted (or offered, while pending) under LIMITED access: "
        "members of the client see them; the partner only while the grant is active.",
        deprecation_reason="Use `products` (a connection, with totalCount).",
    )
    async def granted_products(self, info: Info) -> list[Product]:
        return [Product.of(r) for r in await self._granted_products(info)]

    @strawberry.field(
        description="Products granted (or offered, while pending) under LIMITED access, "
        "oldest first: members of the client see them; the partner only while the grant "
        "is active (empty otherwise)."
    )
    async def products(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Product]:
        request = page_request(info, first, after, last, before)
        rows = await self._granted_products(info)
        return to_connection(page_of_list(rows, [r.id for r in rows], request), Product.of)

    async def _granted_products(self, info: Info) -> list[models.Product]:
        if await self._client_visibility(info) < ClientVisibility.PRODUCTS:
            return []
        ids = await info.context.loaders.grant_product_ids.load(self.id)
        rows = await info.context.loaders.product.load_many(sorted(ids))
        return [r for r in rows if r is not None]

    @strawberry.field(
        description="This grant's events, newest first: legal representatives and "
        "administrators of either side. Amounts only to who may read them."
    )
    async def audit_events(
        self,
        info: Info,
        filter: AuditEventFilter | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[AuditEvent]:
        facts = await info.context.loaders.grant_facts.load(self.id)
        if facts is None:
            return to_connection(Page.empty(), AuditEvent.of)
        page = await audit_queries.grant_events(
            info.context,
            self.id,
            facts.partner_organization_id,
            facts.client_organization_id,
            to_filter(filter),
            page_request(info, first, after, last, before),
        )
        return to_connection(page, AuditEvent.of)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Grant | None]:
        async def visible(info: Info, row: models.Grant) -> Grant | None:
            facts = await info.context.loaders.grant_facts.load(row.id)
            viewer = info.context.viewer
            if facts is not None and can_see_grant(viewer, facts):
                return cls.of(row)
            if (
                row.client_id is None
                and viewer.email is not None
                and row.invitee_email == viewer.email
            ):
                return cls.of(row)
            return None

        return await _load_visible(info, info.context.loaders.grant, node_ids, visible)


@strawberry.type(
    description="A client as its partner sees it through their grant: the name while "
    "pending; the granted products (LIMITED) or the whole organization (FULL) while active."
)
class Client(relay.Node):
    id: relay.NodeID[int]
    facts: strawberry.Private[GrantFacts | None]
    row: strawberry.Private[models.Grant]
    # Nested connections fetched with the page the client came in: (field, page) -> rows.
    pages: strawberry.Private[dict[tuple[str, PageRequest], Page[Any]]]
    name: str = strawberry.field(
        description="The client's name, or the invited email before it joins."
    )

    @staticmethod
    async def names_of(info: Info, grants: Sequence[models.Grant]) -> dict[int, str]:
        """Each grant's client name (its organization's), or the invited email."""
        bound = [g.client_id for g in grants if g.client_id is not None]
        orgs = await info.context.loaders.organization.load_many(bound)
        by_id = {o.id: o.name for o in orgs if o is not None}
        return {
            g.id: (by_id.get(g.client_id, "") if g.client_id is not None else g.invitee_email or "")
            for g in grants
        }

    @strawberry.field(description="The grant between the partner and this client.")
    def grant(self) -> Grant:
        return Grant.of(self.row)

    @strawberry.field(
        description="The products the grant lets the partner see.",
        permission_classes=[SeesClientProducts],
        graphql_type=Connection[Product] | None,
    )
    def products(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Any:
        return self._connection(info, "products", first, after, last, before)

    @strawberry.field(
        description="Invoices the partner paid for this client (FULL grant with PARTNER "
        "payment methods, billing members only). Client-paid invoices are never shown.",
        permission_classes=[ReadsClientInvoices],
        graphql_type=Connection[Invoice] | None,
    )
    def invoices(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Any:
        return self._connection(info, "invoices", first, after, last, before)

    def _connection(
        self,
        info: Info,
        field: str,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
    ) -> Any:
        """A prefetched page answers at once (no awaitable: the subtree stays synchronous);
        any other page is loaded, and the field answers an awaitable."""
        loader_name, wrap, _ = _CLIENT_CONNECTIONS[field]
        request = page_request(info, first, after, last, before)
        page = self.pages.get((field, request))
        if page is not None:
            return to_connection(page, wrap)

        async def load() -> Connection[Any]:
            loader = getattr(info.context.loaders, loader_name)
            return to_connection(await loader.load((self.id, request)), wrap)

        return load()

    @staticmethod
    async def prefetch_pages(info: Info, clients: Sequence[Client], path: Sequence[str]) -> None:
        """Fetch, for all `clients` at once, the nested connections the query asks of them
        at `path` below the field being resolved (one batched query per connection), for
        the clients whose guard lets the viewer read that connection."""
        for field, (loader_name, _, guard) in _CLIENT_CONNECTIONS.items():
            readable = [c for c in clients if guard().has_permission(c, info)]
            keys = [
                (c.id, request)
                for request in page_requests_below(info, path, field)
                for c in readable
            ]
            if not keys:
                continue
            loader = getattr(info.context.loaders, loader_name)
            by_client = {c.id: c for c in readable}
            for (grant_id, request), page in zip(keys, await loader.load_many(keys), strict=True):
                by_client[grant_id].pages[(field, request)] = page

    @strawberry.field(
        description="The CSV export of this client's billing data the viewer may see "
        "(GET with the same bearer token).",
        permission_classes=[SeesClientProducts],
    )
    def billing_export_url(self, info: Info) -> str | None:
        return export_url(info.context.settings.public_url, encode_id("Client", self.id))

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Client | None]:
        ids = primary_keys(node_ids)
        loaders = info.context.loaders
        facts = await loaders.grant_facts.load_many([i for i in ids if i is not None])
        visible = {
            f.grant_id: f
            for f in facts
            if f is not None and client_visibility(info.context.viewer, f) > ClientVisibility.NONE
        }
        rows = [r for r in await loaders.grant.load_many(list(visible)) if r is not None]
        names = await cls.names_of(info, rows)
        by_id = {r.id: r for r in rows}
        return [
            cls(id=i, facts=visible[i], row=by_id[i], name=names[i], pages={})
            if i is not None and i in by_id
            else None
            for i in ids
        ]


# A client's nested connections: the loader of its pages, the node type, the field's guard.
_CLIENT_CONNECTIONS: dict[str, tuple[str, Callable[[Any], Any], type[Forbidden]]] = {
    "products": ("client_products", Product.of, SeesClientProducts),
    "invoices": ("partner_paid_invoices", Invoice.of, ReadsClientInvoices),
}
