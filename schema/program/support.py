"""Temporary read-only accesses for the provider's support."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from sqlalchemy import select
from strawberry import relay

from db import models
from domain.errors import DomainError
from domain.program import SupportAccessStatus, support_access_status
from resolvers import support as support_cases
from schema.base import (
    After,
    Before,
    Connection,
    Currency,
    First,
    Last,
    OrganizationKind,
    UserError,
    page_request,
    to_connection,
)
from schema.context import Info
from schema.ids import primary_keys
from schema.program.common import _query_error
from schema.types import Product

strawberry.enum(SupportAccessStatus, description="A support access: active, expired or revoked.")


@strawberry.type(description="A temporary read-only access granted to the provider's support.")
class SupportAccess(relay.Node):
    id: relay.NodeID[int]
    reason: str = strawberry.field(description="Why the access was granted.")
    created_at: datetime = strawberry.field(description="When it was granted.")
    expires_at: datetime = strawberry.field(description="When it ends by itself.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked, if it was.")
    organization_id: strawberry.Private[int]

    @classmethod
    def of(cls, row: models.SupportAccess) -> SupportAccess:
        return cls(
            id=row.id,
            reason=row.reason,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            organization_id=row.organization_id,
        )

    @strawberry.field(description="Active, expired or revoked, now.")
    def status(self, info: Info) -> SupportAccessStatus:
        return support_access_status(self.expires_at, self.revoked_at, info.context.now())

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[SupportAccess | None]:
        ids = primary_keys(node_ids)
        async with info.context.services.sessionmaker() as session:
            rows = {
                r.id: r
                for r in await session.scalars(
                    select(models.SupportAccess).where(
                        models.SupportAccess.id.in_([i for i in ids if i is not None])
                    )
                )
            }
        result: list[SupportAccess | None] = []
        for i in ids:
            row = rows.get(i) if i is not None else None
            ok = row is not None and support_cases.may_manage_support(
                info.context, row.organization_id
            )
            result.append(cls.of(row) if row is not None and ok else None)
        return result


@strawberry.type(description="An organization as a support agent reads it during an active access.")
class SupportView:
    organization_id: relay.GlobalID = strawberry.field(description="The organization.")
    name: str = strawberry.field(description="Its name.")
    kind: OrganizationKind = strawberry.field(description="Company or individual.")
    currency: Currency = strawberry.field(description="Its currency.")
    support_code: str = strawberry.field(description="Its support code.")
    premium_support: bool = strawberry.field(description="Has Premium Support.")
    access_expires_at: datetime = strawberry.field(description="When the access ends.")
    access_reason: str = strawberry.field(description="Why the organization granted it.")
    internal_id: strawberry.Private[int]

    @strawberry.field(description="The organization's products, read-only.")
    async def products(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Product]:
        try:
            request = page_request(info, first, after, last, before)
        except DomainError as error:
            raise _query_error(error) from error
        page = await info.context.loaders.organization_products.load((self.internal_id, request))
        return to_connection(page, Product.of)


@strawberry.input(description="Grant the provider's support staff a temporary access.")
class GrantSupportAccessInput:
    organization_id: relay.GlobalID = strawberry.field(description="The organization.")
    duration_hours: int = strawberry.field(description="1 to 72 hours.")
    reason: str = strawberry.field(description="Why (at most 500 characters).")


@strawberry.input(description="End a support access now.")
class RevokeSupportAccessInput:
    support_access_id: relay.GlobalID = strawberry.field(description="The access.")


@strawberry.type(description="The support access after the change, or why nothing changed.")
class SupportAccessPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    support_access: SupportAccess | None = strawberry.field(default=None, description="The access.")
