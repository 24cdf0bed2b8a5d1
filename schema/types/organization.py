"""An organization the viewer is a member of."""

from __future__ import annotations

from collections.abc import Iterable

import strawberry
from strawberry import relay

from db import models
from resolvers.audit import queries as audit_queries
from resolvers.audit.export import audit_export_url
from resolvers.exports import export_url
from resolvers.members import queries as member_queries
from resolvers.webhooks import queries as webhook_queries
from schema.base import (
    After,
    Before,
    Connection,
    Currency,
    First,
    Last,
    OrganizationKind,
    Role,
    page_request,
    to_connection,
)
from schema.context import Info
from schema.ids import encode_id
from schema.permissions import HasBillingRights, IsMember, ManagesWebhooks, ReadsMembers
from schema.types.audit import AuditEvent, AuditEventFilter, to_filter
from schema.types.invoice import Invoice
from schema.types.loading import _load_visible
from schema.types.member import Member, MemberInvitation
from schema.types.partnership import Grant, Partner
from schema.types.product import Product
from schema.webhooks import WebhookEndpoint


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
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Product] | None:
        page = await info.context.loaders.organization_products.load(
            (self.id, page_request(info, first, after, last, before))
        )
        return to_connection(page, Product.of)

    @strawberry.field(
        description="Invoices this organization paid; billing members only.",
        permission_classes=[HasBillingRights],
    )
    async def invoices(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Invoice] | None:
        page = await info.context.loaders.organization_invoices.load(
            (self.id, page_request(info, first, after, last, before))
        )
        return to_connection(page, Invoice.of)

    @strawberry.field(
        description="Partnerships in which this organization is the client.",
        permission_classes=[IsMember],
    )
    async def partnerships(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Grant] | None:
        page = await info.context.loaders.client_grants.load(
            (self.id, page_request(info, first, after, last, before))
        )
        return to_connection(page, Grant.of)

    @strawberry.field(
        description="Its members (role, since when, last activity), oldest first; legal "
        "representatives and administrators.",
        permission_classes=[ReadsMembers],
    )
    async def members(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Member] | None:
        page = await member_queries.organization_members(
            info.context, self.id, page_request(info, first, after, last, before)
        )
        return to_connection(page, Member.of)

    @strawberry.field(
        description="Its member invitations, oldest first (`pendingOnly`: those whose link "
        "still works); legal representatives and administrators.",
        permission_classes=[ReadsMembers],
    )
    async def member_invitations(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        pending_only: bool = False,
    ) -> Connection[MemberInvitation] | None:
        page = await member_queries.organization_invitations(
            info.context,
            self.id,
            page_request(info, first, after, last, before),
            pending_only=pending_only,
        )
        return to_connection(page, lambda row: MemberInvitation.of(row, info))

    @strawberry.field(
        description="The events that concern this organization (its own and its grants'), "
        "newest first; legal representatives and administrators. Amounts only to who may "
        "read them.",
        permission_classes=[ReadsMembers],
    )
    async def audit_events(
        self,
        info: Info,
        filter: AuditEventFilter | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[AuditEvent] | None:
        page = await audit_queries.organization_events(
            info.context, self.id, to_filter(filter), page_request(info, first, after, last, before)
        )
        return to_connection(page, AuditEvent.of)

    @strawberry.field(
        description="The CSV export of `auditEvents` (GET with the same bearer token).",
        permission_classes=[ReadsMembers],
    )
    def audit_export_url(self, info: Info) -> str | None:
        return audit_export_url(
            info.context.settings.public_url, encode_id("Organization", self.id)
        )

    @strawberry.field(
        description="Its webhook endpoints, oldest first; legal representatives only.",
        permission_classes=[ManagesWebhooks],
    )
    async def webhook_endpoints(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[WebhookEndpoint] | None:
        page = await webhook_queries.organization_endpoints(
            info.context, self.id, page_request(info, first, after, last, before)
        )
        return to_connection(page, WebhookEndpoint.of)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Organization | None]:
        async def visible(info: Info, row: models.Organization) -> Organization | None:
            return cls.of(row) if info.context.viewer.is_member(row.id) else None

        return await _load_visible(info, info.context.loaders.organization, node_ids, visible)
