"""The objects of the graph. Each wraps a row; every relation goes through a DataLoader."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry import relay

from db import models
from domain.access import (
    ClientVisibility,
    GrantFacts,
    can_read_invoice,
    can_see_grant,
    can_see_product,
    client_visibility,
)
from domain.grants import effective_status
from resolvers.exports import export_url
from schema.base import (
    AccessLevel,
    Currency,
    GrantStatus,
    InvoiceStatus,
    Money,
    OrganizationKind,
    PartnerStatus,
    PaymentMethods,
    ProductStatus,
    Role,
    Side,
    page_request,
    to_connection,
)
from schema.context import Info
from schema.ids import encode_id
from schema.permissions import (
    HasBillingRights,
    IsMember,
    ReadsClientInvoices,
    SeesClientProducts,
)


def _ints(node_ids: Iterable[str]) -> list[int | None]:
    out: list[int | None] = []
    for raw in node_ids:
        try:
            out.append(int(raw))
        except ValueError:
            out.append(None)
    return out


async def _load_visible(
    info: Info, loader: Any, node_ids: Iterable[str], visible: Any
) -> list[Any]:
    ids = _ints(node_ids)
    rows = await loader.load_many([i for i in ids if i is not None])
    by_id = {row.id: row for row in rows if row is not None}
    result = []
    for i in ids:
        row = by_id.get(i) if i is not None else None
        result.append(await visible(info, row) if row is not None else None)
    return result


@strawberry.type(description="A person with an account.")
class User(relay.Node):
    id: relay.NodeID[int]
    email: str = strawberry.field(description="The login email, lower-cased.")
    full_name: str = strawberry.field(description="The person's name.")

    @classmethod
    def of(cls, row: models.User) -> User:
        return cls(id=row.id, email=row.email, full_name=row.full_name)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[User | None]:
        async def visible(info: Info, row: models.User) -> User | None:
            return cls.of(row) if row.id == info.context.viewer.user_id else None

        return await _load_visible(info, info.context.loaders.user, node_ids, visible)


@strawberry.type(description="A product; it always lives in the client organization.")
class Product(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="The product's name, e.g. a domain.")
    kind: str = strawberry.field(description="The catalog kind, e.g. web_hosting.")
    family: str = strawberry.field(description="The product family, e.g. WEB_HOSTING.")
    quantity: int = strawberry.field(description="Units of the product.")
    status: ProductStatus = strawberry.field(description="Active, expired or cancelled.")
    renews_at: datetime | None = strawberry.field(description="Next renewal, if any.")
    organization_id: strawberry.Private[int]

    @classmethod
    def of(cls, row: models.Product) -> Product:
        return cls(
            id=row.id,
            name=row.name,
            kind=row.kind,
            family=row.family,
            quantity=row.quantity,
            status=row.status,
            renews_at=row.renews_at,
            organization_id=row.organization_id,
        )

    @strawberry.field(description="The name of the organization that owns the product.")
    async def organization_name(self, info: Info) -> str:
        org = await info.context.loaders.organization.load(self.organization_id)
        return org.name if org else ""

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Product | None]:
        async def visible(info: Info, row: models.Product) -> Product | None:
            grants = await info.context.loaders.live_grants_on_client.load(row.organization_id)
            if can_see_product(info.context.viewer, row.organization_id, row.id, grants):
                return cls.of(row)
            return None

        return await _load_visible(info, info.context.loaders.product, node_ids, visible)


@strawberry.type(description="One line of an invoice.")
class InvoiceLine:
    description: str = strawberry.field(description="What was bought.")
    quantity: int = strawberry.field(description="How many units.")
    unit_price: Money = strawberry.field(description="Price of one unit, after rates.")
    amount: Money = strawberry.field(description="The line's amount due.")


@strawberry.type(
    description="An invoice. It belongs to the organization that paid it; only that "
    "organization's billing members (legal representatives, administrators) see it."
)
class Invoice(relay.Node):
    id: relay.NodeID[int]
    number: str = strawberry.field(description="Sequential per paying organization.")
    issued_at: datetime = strawberry.field(description="When it was issued.")
    total: Money = strawberry.field(description="The amount due.")
    status: InvoiceStatus = strawberry.field(description="Due or paid.")
    organization_id: strawberry.Private[int]
    client_id: strawberry.Private[int]

    @classmethod
    def of(cls, row: models.Invoice) -> Invoice:
        return cls(
            id=row.id,
            number=row.number,
            issued_at=row.issued_at,
            total=Money(amount=row.total_amount, currency=row.currency),
            status=row.status,
            organization_id=row.organization_id,
            client_id=row.client_id,
        )

    @strawberry.field(description="The invoice's lines, in order.")
    async def lines(self, info: Info) -> list[InvoiceLine]:
        rows = await info.context.loaders.invoice_lines.load(self.id)
        currency = self.total.currency
        return [
            InvoiceLine(
                description=line.description,
                quantity=line.quantity,
                unit_price=Money(amount=Decimal(line.unit_price), currency=currency),
                amount=Money(amount=Decimal(line.amount), currency=currency),
            )
            for line in rows
        ]

    @strawberry.field(description="The organization that paid (and owns) the invoice.")
    async def paid_by(self, info: Info) -> str:
        org = await info.context.loaders.organization.load(self.organization_id)
        return org.name if org else ""

    @strawberry.field(description="The organization whose products were invoiced.")
    async def client_name(self, info: Info) -> str:
        org = await info.context.loaders.organization.load(self.client_id)
        return org.name if org else ""

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Invoice | None]:
        async def visible(info: Info, row: models.Invoice) -> Invoice | None:
            return (
                cls.of(row) if can_read_invoice(info.context.viewer, row.organization_id) else None
            )

        return await _load_visible(info, info.context.loaders.invoice, node_ids, visible)


@strawberry.type(description="What an inviting side asked for (partner) or offered (client).")
class RequestedAccess:
    level: AccessLevel = strawberry.field(description="The access level asked for.")
    payment_methods: PaymentMethods | None = strawberry.field(description="For FULL.")
    product_families: list[str] = strawberry.field(
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
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[Client] | None:
        page = await info.context.loaders.partner_grants.load(
            (self.id, page_request(info, first, after))
        )
        facts = await info.context.loaders.grant_facts.load_many([g.id for g in page.items])
        by_id = {f.grant_id: f for f in facts if f is not None}
        return to_connection(page, lambda g: Client(id=g.id, facts=by_id.get(g.id)))

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
                product_families=list(row.requested_families or []),
            ),
            message=row.message,
            created_at=row.created_at,
            invitation_expires_at=row.invitation_expires_at,
            accepted_at=row.accepted_at,
            ended_at=row.ended_at,
            row=row,
        )

    @strawberry.field(
        description="The grant's status; a pending invitation past expiry is EXPIRED."
    )
    def status(self, info: Info) -> GrantStatus:
        return effective_status(self.row.status, self.row.invitation_expires_at, info.context.now())

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
        "members of the client see them; the partner only while the grant is active."
    )
    async def granted_products(self, info: Info) -> list[Product]:
        if await self._client_visibility(info) < ClientVisibility.PRODUCTS:
            return []
        ids = await info.context.loaders.grant_product_ids.load(self.id)
        rows = await info.context.loaders.product.load_many(sorted(ids))
        return [Product.of(r) for r in rows if r is not None]

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

    @strawberry.field(description="The client's name, or the invited email before it joins.")
    async def name(self, info: Info) -> str:
        grant = await info.context.loaders.grant.load(self.id)
        if grant.client_id is None:
            return grant.invitee_email or ""
        org = await info.context.loaders.organization.load(grant.client_id)
        return org.name if org else ""

    @strawberry.field(description="The grant between the partner and this client.")
    async def grant(self, info: Info) -> Grant:
        return Grant.of(await info.context.loaders.grant.load(self.id))

    @strawberry.field(
        description="The products the grant lets the partner see.",
        permission_classes=[SeesClientProducts],
    )
    async def products(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[Product] | None:
        page = await info.context.loaders.client_products.load(
            (self.id, page_request(info, first, after))
        )
        return to_connection(page, Product.of)

    @strawberry.field(
        description="Invoices the partner paid for this client (FULL grant with PARTNER "
        "payment methods, billing members only). Client-paid invoices are never shown.",
        permission_classes=[ReadsClientInvoices],
    )
    async def invoices(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[Invoice] | None:
        page = await info.context.loaders.partner_paid_invoices.load(
            (self.id, page_request(info, first, after))
        )
        return to_connection(page, Invoice.of)

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
        ids = _ints(node_ids)
        facts = await info.context.loaders.grant_facts.load_many([i for i in ids if i is not None])
        by_id = {f.grant_id: f for f in facts if f is not None}
        result: list[Client | None] = []
        for i in ids:
            fact = by_id.get(i) if i is not None else None
            if (
                fact is not None
                and client_visibility(info.context.viewer, fact) > ClientVisibility.NONE
            ):
                result.append(cls(id=fact.grant_id, facts=fact))
            else:
                result.append(None)
        return result


@strawberry.type(description="An organization the viewer is a member of.")
class Organization(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="The organization's name.")
    kind: OrganizationKind = strawberry.field(description="Company or individual.")
    currency: Currency = strawberry.field(description="The currency it is invoiced in.")
    support_code: str = strawberry.field(description="Identifies it to the provider's support.")
    row: strawberry.Private[models.Organization]

    @classmethod
    def of(cls, row: models.Organization) -> Organization:
        return cls(
            id=row.id,
            name=row.name,
            kind=row.kind,
            currency=row.currency,
            support_code=row.support_code,
            row=row,
        )

    @property
    def organization_id(self) -> int:
        return self.id

    @strawberry.field(description="The VIP code, with Premium Support only.")
    def vip_code(self) -> str | None:
        return self.row.vip_code if self.row.premium_support else None

    @strawberry.field(
        description="The CSV export of this organization's billing data (its products, "
        "orders and, for billing members, invoices); GET with the same bearer token.",
        permission_classes=[IsMember],
    )
    def billing_export_url(self, info: Info) -> str | None:
        return export_url(info.context.settings.public_url, encode_id("Organization", self.id))

    @strawberry.field(description="The viewer's role in this organization.")
    def viewer_role(self, info: Info) -> Role | None:
        return info.context.viewer.role_in(self.id)

    @strawberry.field(description="Its Partner Program membership, if it is a partner.")
    async def partner(self, info: Info) -> Partner | None:
        row = await info.context.loaders.partner_by_organization.load(self.id)
        return Partner.of(row) if row else None

    @strawberry.field(
        description="The products of this organization.", permission_classes=[IsMember]
    )
    async def products(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[Product] | None:
        page = await info.context.loaders.organization_products.load(
            (self.id, page_request(info, first, after))
        )
        return to_connection(page, Product.of)

    @strawberry.field(
        description="Invoices this organization paid; billing members only.",
        permission_classes=[HasBillingRights],
    )
    async def invoices(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[Invoice] | None:
        page = await info.context.loaders.organization_invoices.load(
            (self.id, page_request(info, first, after))
        )
        return to_connection(page, Invoice.of)

    @strawberry.field(
        description="Partnerships in which this organization is the client.",
        permission_classes=[IsMember],
    )
    async def partnerships(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[Grant] | None:
        page = await info.context.loaders.client_grants.load(
            (self.id, page_request(info, first, after))
        )
        return to_connection(page, Grant.of)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Organization | None]:
        async def visible(info: Info, row: models.Organization) -> Organization | None:
            return cls.of(row) if info.context.viewer.is_member(row.id) else None

        return await _load_visible(info, info.context.loaders.organization, node_ids, visible)


@strawberry.type(description="The viewer's membership in an organization.")
class Membership:
    role: Role = strawberry.field(description="The viewer's role there.")
    organization: Organization = strawberry.field(description="The organization.")


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
