"""The program's query root."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry import relay

from db import models
from resolvers import directory as directory_cases
from resolvers import support as support_cases
from resolvers.pagination import page_of_list
from schema.base import (
    After,
    Before,
    Connection,
    First,
    Last,
    ProductFamily,
    page_request,
    to_connection,
)
from schema.context import Info
from schema.permissions import IsAuthenticated, IsPerson
from schema.program.applications import PartnerApplication
from schema.program.backup import BackupAccount
from schema.program.common import _org, _query
from schema.program.directory import DirectoryEntry
from schema.program.review import PartnerReview
from schema.program.support import SupportAccess, SupportView


@strawberry.type
class ProgramQueries:
    @strawberry.field(
        description="The public partner directory: published listings of active partners, "
        "searched by text (name, description, website) and filtered by languages, regions "
        "and product families (any value within a filter, every filter given). No login "
        "needed."
    )
    async def directory(
        self,
        info: Info,
        search: str | None = None,
        languages: list[str] | None = None,
        regions: list[str] | None = None,
        product_families: list[ProductFamily] | None = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[DirectoryEntry]:
        async def run() -> Connection[DirectoryEntry]:
            page = await directory_cases.search_directory(
                info.context,
                page_request(info, first, after, last, before),
                search=search,
                languages=languages,
                regions=regions,
                product_families=product_families,
            )
            return to_connection(page, DirectoryEntry.of)

        return await _query(run)

    @strawberry.field(
        description="The organization's applications to the Partner Program, with the "
        "reasons of each refusal; its members only (empty otherwise).",
        permission_classes=[IsAuthenticated],
    )
    async def partner_applications(
        self,
        info: Info,
        organization_id: relay.GlobalID,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[PartnerApplication]:
        from resolvers.pagination import Page, fetch_page

        async def run() -> Connection[PartnerApplication]:
            org_id = _org(organization_id)
            request = page_request(info, first, after, last, before)
            if not info.context.viewer.is_member(org_id):
                return to_connection(Page.empty(), PartnerApplication.of)
            async with info.context.services.sessionmaker() as session:
                stmt = select(models.PartnerApplication).where(
                    models.PartnerApplication.organization_id == org_id
                )
                page = await fetch_page(session, stmt, models.PartnerApplication.id, request)
            return to_connection(page, PartnerApplication.of)

        return await _query(run)

    @strawberry.field(
        description="A partner's yearly reviews; its legal representatives and "
        "administrators only (empty otherwise).",
        permission_classes=[IsAuthenticated],
        deprecation_reason="Use `yearlyReviews` (a connection, with totalCount).",
    )
    async def partner_reviews(
        self, info: Info, organization_id: OrganizationId
    ) -> list[PartnerReview]:
        return await _query(lambda: _reviews(info, organization_id))

    @strawberry.field(
        description="A partner's yearly reviews, newest first; its legal representatives "
        "and administrators only (empty otherwise).",
        permission_classes=[IsAuthenticated],
    )
    async def yearly_reviews(
        self,
        info: Info,
        organization_id: OrganizationId,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[PartnerReview]:
        async def run() -> Connection[PartnerReview]:
            request = page_request(info, first, after, last, before)
            reviews = await _reviews(info, organization_id)
            keys = [review.year for review in reviews]  # one review a year, newest first
            return to_connection(page_of_list(reviews, keys, request, descending=True), _same)

        return await _query(run)

    @strawberry.field(
        description="Support accesses granted by the organization; its legal "
        "representatives and administrators only (empty otherwise).",
        permission_classes=[IsAuthenticated],
    )
    async def support_accesses(
        self,
        info: Info,
        organization_id: relay.GlobalID,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[SupportAccess]:
        async def run() -> Connection[SupportAccess]:
            page = await support_cases.list_support_accesses(
                info.context, _org(organization_id), page_request(info, first, after, last, before)
            )
            return to_connection(page, SupportAccess.of)

        return await _query(run)

    @strawberry.field(
        description="For the provider's support staff: the organization, read-only, while "
        "it has an active support access; null otherwise (as for a missing organization).",
        permission_classes=[IsPerson],
    )
    async def support_view(self, info: Info, organization_id: relay.GlobalID) -> SupportView | None:
        async def run() -> SupportView | None:
            org_id = _org(organization_id)
            found = await support_cases.support_view(info.context, org_id)
            if found is None:
                return None
            org = found.organization
            return SupportView(
                organization_id=relay.GlobalID("Organization", str(org.id)),
                name=org.name,
                kind=org.kind,
                currency=org.currency,
                support_code=org.support_code,
                premium_support=org.premium_support,
                access_expires_at=found.access.expires_at,
                access_reason=found.access.reason,
                internal_id=org.id,
            )

        return await _query(run)

    @strawberry.field(
        description="Swiss Backup accounts of the organization (its members) and those it "
        "manages as a partner (its legal representatives and administrators).",
        permission_classes=[IsAuthenticated],
    )
    async def backup_accounts(
        self,
        info: Info,
        organization_id: relay.GlobalID,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[BackupAccount]:
        async def run() -> Connection[BackupAccount]:
            page = await support_cases.list_backup_accounts(
                info.context, _org(organization_id), page_request(info, first, after, last, before)
            )
            return to_connection(page, BackupAccount.of)

        return await _query(run)


OrganizationId = Annotated[
    relay.GlobalID, strawberry.argument(description="The partner's organization.")
]


def _same(review: PartnerReview) -> PartnerReview:
    return review


async def _reviews(info: Info, organization_id: relay.GlobalID) -> list[PartnerReview]:
    org_id = _org(organization_id)
    if not support_cases.may_manage_support(info.context, org_id):
        return []
    async with info.context.services.sessionmaker() as session:
        rows = await session.scalars(
            select(models.PartnerReview)
            .join(models.Partner, models.Partner.id == models.PartnerReview.partner_id)
            .where(models.Partner.organization_id == org_id)
            .order_by(models.PartnerReview.year.desc())
        )
        return [PartnerReview.of(r) for r in rows]
