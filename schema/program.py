"""The program around partnerships: joining, directory, collaborators, support, backup."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from sqlalchemy import select
from strawberry import relay

from db import models
from domain.errors import DomainError
from domain.program import (
    ApplicationStatus,
    DirectoryTagKind,
    SupportAccessStatus,
    support_access_status,
)
from resolvers import directory as directory_cases
from resolvers import program as program_cases
from resolvers import support as support_cases
from resolvers.directory import ListingChanges, ListingView
from schema.base import (
    Currency,
    Money,
    OrganizationKind,
    UserError,
    page_request,
    to_connection,
)
from schema.context import Info
from schema.ids import decode_id
from schema.permissions import IsAuthenticated, IsPerson
from schema.types import Partner, Product

strawberry.enum(ApplicationStatus, description="The decision on a Partner Program application.")
strawberry.enum(SupportAccessStatus, description="A support access: active, expired or revoked.")

P = TypeVar("P")


def _query_error(error: DomainError) -> GraphQLError:
    """A query has no payload: its input errors are GraphQL errors with the same code."""
    return GraphQLError(error.message, extensions={"code": error.code, "field": error.field})


async def _query(action: Callable[[], Awaitable[P]]) -> P:
    try:
        return await action()
    except DomainError as error:
        raise _query_error(error) from error


async def _mutate(payload: Callable[..., P], action: Callable[[], Awaitable[dict[str, Any]]]) -> P:
    """Like `schema.base.mutate`, and a form's several input errors come back together."""
    try:
        fields = await action()
    except program_cases.UseCaseErrors as errors:
        return payload(user_errors=[UserError.of(e) for e in errors.errors])
    except DomainError as error:
        return payload(user_errors=[UserError.of(error)])
    return payload(user_errors=[], **fields)


def _ints(node_ids: Iterable[str]) -> list[int | None]:
    out: list[int | None] = []
    for raw in node_ids:
        try:
            out.append(int(raw))
        except ValueError:
            out.append(None)
    return out


# -- joining ----------------------------------------------------------------------------


@strawberry.type(description="Why an application was refused: one unmet condition.")
class RefusalReason:
    code: str = strawberry.field(description="A stable machine-readable code.")
    message: str = strawberry.field(description="A sentence for the applicant.")
    field: str | None = strawberry.field(description="The form field concerned, if one is.")


@strawberry.type(description="An application to the Partner Program and its decision.")
class PartnerApplication(relay.Node):
    id: relay.NodeID[int]
    status: ApplicationStatus = strawberry.field(description="Accepted or refused.")
    registration_number: str = strawberry.field(description="As normalized when checked.")
    website: str = strawberry.field(description="The company's website.")
    accepted_reseller_conditions: bool = strawberry.field(
        description="The reseller conditions (clients' support and invoices) were accepted."
    )
    accepted_bid_exclusivity: bool = strawberry.field(
        description="The bid clause (only the provider's products) was accepted."
    )
    refusal_reasons: list[RefusalReason] = strawberry.field(
        description="Every unmet condition; empty when accepted."
    )
    created_at: datetime = strawberry.field(description="When it was submitted.")
    partner_id: strawberry.Private[int | None]
    organization_id: strawberry.Private[int]

    @classmethod
    def of(cls, row: models.PartnerApplication) -> PartnerApplication:
        return cls(
            id=row.id,
            status=row.status,
            registration_number=row.registration_number,
            website=row.website,
            accepted_reseller_conditions=row.accepted_reseller_conditions,
            accepted_bid_exclusivity=row.accepted_bid_exclusivity,
            refusal_reasons=[
                RefusalReason(code=r["code"], message=r["message"], field=r.get("field"))
                for r in row.refusal_reasons or []
            ],
            created_at=row.created_at,
            partner_id=row.partner_id,
            organization_id=row.organization_id,
        )

    @strawberry.field(description="The partner it admitted, when accepted.")
    async def partner(self, info: Info) -> Partner | None:
        if self.partner_id is None:
            return None
        row = await info.context.loaders.partner.load(self.partner_id)
        return Partner.of(row) if row else None

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[PartnerApplication | None]:
        ids = _ints(node_ids)
        async with info.context.services.sessionmaker() as session:
            rows = {
                r.id: r
                for r in await session.scalars(
                    select(models.PartnerApplication).where(
                        models.PartnerApplication.id.in_([i for i in ids if i is not None])
                    )
                )
            }
        viewer = info.context.viewer
        result: list[PartnerApplication | None] = []
        for i in ids:
            row = rows.get(i) if i is not None else None
            visible = row is not None and viewer.is_member(row.organization_id)
            result.append(cls.of(row) if row is not None and visible else None)
        return result


@strawberry.type(description="A membership of the Affiliate Program.")
class Affiliate:
    organization_id: relay.GlobalID = strawberry.field(description="The affiliate organization.")
    created_at: datetime = strawberry.field(description="When it joined.")


@strawberry.type(description="The yearly review of a partner's managed volume.")
class PartnerReview:
    year: int = strawberry.field(description="The review's year.")
    managed_volume: Money = strawberry.field(
        description="List price x quantity x 12 of the products managed under ACTIVE grants."
    )
    minimum_volume: Money = strawberry.field(description="CHF 2000 / EUR 1800 a year.")
    flagged_below_minimum_at: datetime | None = strawberry.field(
        description="Set when the volume was below the minimum; nothing is deleted."
    )


@strawberry.input(description="An application to the Partner Program.")
class ApplyToPartnerProgramInput:
    organization_id: relay.GlobalID = strawberry.field(description="The applying company.")
    registration_number: str | None = strawberry.field(
        default=None,
        description="Swiss UID (CHE-123.456.789), 14-digit SIRET, or a country code and "
        "the national register number (e.g. DE HRB 86891).",
    )
    website: str | None = strawberry.field(default=None, description="https://...")
    accepted_reseller_conditions: bool = strawberry.field(
        default=False,
        description="Clients' support and invoices are the Partner's responsibility.",
    )
    accepted_bid_exclusivity: bool = strawberry.field(
        default=False,
        description="Contracts won through bids use only the provider's products.",
    )


@strawberry.type(description="The stored application (accepted or refused, with reasons).")
class ApplyToPartnerProgramPayload:
    user_errors: list[UserError] = strawberry.field(
        description="The form is incomplete or malformed; nothing was stored."
    )
    application: PartnerApplication | None = strawberry.field(
        default=None, description="The decision; see `status` and `refusalReasons`."
    )


@strawberry.input(description="An individual's organization joins the Affiliate Program.")
class JoinAffiliateProgramInput:
    organization_id: relay.GlobalID = strawberry.field(description="The organization.")


@strawberry.type(description="The new affiliate, or why not.")
class JoinAffiliateProgramPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    affiliate: Affiliate | None = strawberry.field(default=None, description="The affiliate.")


# -- collaborators ----------------------------------------------------------------------


@strawberry.input(description="The clients a partner's collaborator may act for.")
class SetCollaboratorClientsInput:
    organization_id: relay.GlobalID = strawberry.field(description="The partner organization.")
    user_id: relay.GlobalID = strawberry.field(description="The collaborator (a User).")
    all_clients: bool = strawberry.field(
        default=False, description="Act for every client, present and future."
    )
    client_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None,
        description="Otherwise these clients (Client IDs from `Partner.clients`); empty: none.",
    )


@strawberry.type(description="A collaborator's rights after the change.")
class CollaboratorRights:
    user_id: relay.GlobalID = strawberry.field(description="The collaborator.")
    all_clients: bool = strawberry.field(description="Acts for every client.")
    client_ids: list[relay.GlobalID] = strawberry.field(
        description="The Client IDs it acts for (every live client when allClients)."
    )


@strawberry.type(description="The collaborator's rights, or why nothing changed.")
class SetCollaboratorClientsPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    rights: CollaboratorRights | None = strawberry.field(default=None, description="The rights.")


# -- directory --------------------------------------------------------------------------


@strawberry.type(
    description="A partner's entry in the partner directory. Its languages, regions and "
    "product families are also what the partner receives bids for, published or not."
)
class DirectoryEntry(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="The partner's name.")
    description: str = strawberry.field(description="What the partner offers.")
    website: str | None = strawberry.field(description="The partner's website.")
    languages: list[str] = strawberry.field(description="ISO 639-1 codes, e.g. fr, de.")
    regions: list[str] = strawberry.field(description="ISO 3166 codes, e.g. CH, CH-VD.")
    product_families: list[str] = strawberry.field(description="e.g. WEB_HOSTING.")
    verified: bool = strawberry.field(
        description="Admitted through an accepted application (registration number and "
        "website checked)."
    )
    published: bool = strawberry.field(
        description="Shown in the public directory (bids are matched on the listing either way)."
    )
    updated_at: datetime = strawberry.field(description="Last edited.")
    partner_id: strawberry.Private[int]

    @classmethod
    def of(cls, view: ListingView) -> DirectoryEntry:
        row = view.listing
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            website=row.website,
            languages=view.values(DirectoryTagKind.LANGUAGE),
            regions=view.values(DirectoryTagKind.REGION),
            product_families=view.values(DirectoryTagKind.PRODUCT_FAMILY),
            verified=view.verified,
            published=row.published,
            updated_at=row.updated_at,
            partner_id=row.partner_id,
        )

    @strawberry.field(
        description="The partner; a client invites it with `invite(input: {partnerId})`."
    )
    async def partner(self, info: Info) -> Partner:
        row = await info.context.loaders.partner.load(self.partner_id)
        return Partner.of(row)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[DirectoryEntry | None]:
        ids = _ints(node_ids)
        views = await directory_cases.load_listings(info.context, [i for i in ids if i is not None])
        return [cls.of(views[i]) if i is not None and i in views else None for i in ids]


@strawberry.input(description="Edit the partner's directory listing; omitted fields stay.")
class UpdateDirectoryListingInput:
    partner_id: relay.GlobalID = strawberry.field(description="The partner.")
    published: bool | None = strawberry.field(
        default=None,
        description="Opt in (true) or out (false) of the public directory; bids are matched "
        "on the languages, regions and product families either way.",
    )
    description: str | None = strawberry.field(default=None, description="At most 2000 chars.")
    website: str | None = strawberry.field(default=None, description="Empty string: none.")
    languages: list[str] | None = strawberry.field(default=None, description="ISO 639-1.")
    regions: list[str] | None = strawberry.field(
        default=None,
        description="ISO 3166 countries or subdivisions; a country covers its subdivisions "
        "(CH: found by, and receives bids for, CH-VD).",
    )
    product_families: list[str] | None = strawberry.field(
        default=None, description="Catalog families, e.g. WEB_HOSTING."
    )


@strawberry.type(description="The listing after the change, or why nothing changed.")
class UpdateDirectoryListingPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    entry: DirectoryEntry | None = strawberry.field(default=None, description="The listing.")


# -- support ----------------------------------------------------------------------------


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
        ids = _ints(node_ids)
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
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[Product]:
        try:
            request = page_request(info, first, after)
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


# -- Swiss Backup -----------------------------------------------------------------------


@strawberry.type(description="An end customer in a Swiss Backup account.")
class BackupCustomer(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="The end customer's name.")
    created_at: datetime = strawberry.field(description="When it was added.")

    @classmethod
    def of(cls, row: models.BackupCustomer) -> BackupCustomer:
        return cls(id=row.id, name=row.name, created_at=row.created_at)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[BackupCustomer | None]:
        ids = _ints(node_ids)
        async with info.context.services.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(models.BackupCustomer, models.BackupAccount)
                    .join(
                        models.BackupAccount,
                        models.BackupAccount.id == models.BackupCustomer.account_id,
                    )
                    .where(models.BackupCustomer.id.in_([i for i in ids if i is not None]))
                )
            ).all()
        found: dict[int, BackupCustomer] = {}
        for customer, account in rows:
            if await support_cases.can_read_backup_account(info.context, account):
                found[customer.id] = cls.of(customer)
        return [found.get(i) if i is not None else None for i in ids]


@strawberry.type(description="A Swiss Backup account; its end customers never change account.")
class BackupAccount(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="The account's name.")
    created_at: datetime = strawberry.field(description="When it was opened.")

    @classmethod
    def of(cls, row: models.BackupAccount) -> BackupAccount:
        return cls(id=row.id, name=row.name, created_at=row.created_at)

    @strawberry.field(description="The account's end customers.")
    async def customers(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[BackupCustomer]:
        async def run() -> relay.Connection[BackupCustomer]:
            page = await support_cases.list_backup_customers(
                info.context, self.id, page_request(info, first, after)
            )
            return to_connection(page, BackupCustomer.of)

        return await _query(run)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[BackupAccount | None]:
        ids = _ints(node_ids)
        async with info.context.services.sessionmaker() as session:
            rows = list(
                await session.scalars(
                    select(models.BackupAccount).where(
                        models.BackupAccount.id.in_([i for i in ids if i is not None])
                    )
                )
            )
        found: dict[int, BackupAccount] = {}
        for row in rows:
            if await support_cases.can_read_backup_account(info.context, row):
                found[row.id] = cls.of(row)
        return [found.get(i) if i is not None else None for i in ids]


@strawberry.input(description="Move an end customer to another Swiss Backup account.")
class MoveBackupCustomerInput:
    customer_id: relay.GlobalID = strawberry.field(description="The end customer.")
    target_account_id: relay.GlobalID = strawberry.field(description="The other account.")


@strawberry.type(description="Always refused: BACKUP_MOVE_NOT_SUPPORTED.")
class MoveBackupCustomerPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    customer: BackupCustomer | None = strawberry.field(default=None, description="Never set.")


def _org(value: relay.GlobalID, field: str = "organizationId") -> int:
    return decode_id(value, "Organization", field)


# -- roots ------------------------------------------------------------------------------


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
        product_families: list[str] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> relay.Connection[DirectoryEntry]:
        async def run() -> relay.Connection[DirectoryEntry]:
            page = await directory_cases.search_directory(
                info.context,
                page_request(info, first, after),
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
        first: int | None = None,
        after: str | None = None,
    ) -> relay.Connection[PartnerApplication]:
        from resolvers.pagination import Page, fetch_page

        async def run() -> relay.Connection[PartnerApplication]:
            org_id = _org(organization_id)
            request = page_request(info, first, after)
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
    )
    async def partner_reviews(
        self, info: Info, organization_id: relay.GlobalID
    ) -> list[PartnerReview]:
        async def run() -> list[PartnerReview]:
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
                return [
                    PartnerReview(
                        year=r.year,
                        managed_volume=Money(amount=Decimal(r.managed_volume), currency=r.currency),
                        minimum_volume=Money(amount=Decimal(r.minimum_volume), currency=r.currency),
                        flagged_below_minimum_at=r.flagged_below_minimum_at,
                    )
                    for r in rows
                ]

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
        first: int | None = None,
        after: str | None = None,
    ) -> relay.Connection[SupportAccess]:
        async def run() -> relay.Connection[SupportAccess]:
            page = await support_cases.list_support_accesses(
                info.context, _org(organization_id), page_request(info, first, after)
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
        first: int | None = None,
        after: str | None = None,
    ) -> relay.Connection[BackupAccount]:
        async def run() -> relay.Connection[BackupAccount]:
            page = await support_cases.list_backup_accounts(
                info.context, _org(organization_id), page_request(info, first, after)
            )
            return to_connection(page, BackupAccount.of)

        return await _query(run)


@strawberry.type
class ProgramMutations:
    @strawberry.mutation(
        description="Apply to the Partner Program (a legal representative). Eligibility is "
        "checked at once: accepted, the organization is a Partner; refused, the application "
        "is stored with its reasons. A missing or malformed registration number or website "
        "returns userErrors and stores nothing.",
        permission_classes=[IsPerson],
    )
    async def apply_to_partner_program(
        self, info: Info, input: ApplyToPartnerProgramInput
    ) -> ApplyToPartnerProgramPayload:
        async def run() -> dict[str, Any]:
            row = await program_cases.apply_to_partner_program(
                info.context,
                organization_id=_org(input.organization_id),
                registration_number=input.registration_number,
                website=input.website,
                accepted_reseller_conditions=input.accepted_reseller_conditions,
                accepted_bid_exclusivity=input.accepted_bid_exclusivity,
            )
            return {"application": PartnerApplication.of(row)}

        return await _mutate(ApplyToPartnerProgramPayload, run)

    @strawberry.mutation(
        description="Join the Affiliate Program (an individual's legal representative); "
        "refused for a Partner.",
        permission_classes=[IsPerson],
    )
    async def join_affiliate_program(
        self, info: Info, input: JoinAffiliateProgramInput
    ) -> JoinAffiliateProgramPayload:
        async def run() -> dict[str, Any]:
            row = await program_cases.join_affiliate_program(
                info.context, organization_id=_org(input.organization_id)
            )
            return {
                "affiliate": Affiliate(
                    organization_id=relay.GlobalID("Organization", str(row.organization_id)),
                    created_at=row.created_at,
                )
            }

        return await _mutate(JoinAffiliateProgramPayload, run)

    @strawberry.mutation(
        description="Create or edit the partner's directory listing, opt in or out "
        "(a legal representative of the partner). Its languages, regions and product "
        "families are what the partner receives bids for, published or not; none of a "
        "kind: no bids.",
        permission_classes=[IsPerson],
    )
    async def update_directory_listing(
        self, info: Info, input: UpdateDirectoryListingInput
    ) -> UpdateDirectoryListingPayload:
        async def run() -> dict[str, Any]:
            view = await directory_cases.update_directory_listing(
                info.context,
                partner_id=decode_id(input.partner_id, "Partner", "partnerId"),
                changes=ListingChanges(
                    published=input.published,
                    description=input.description,
                    website=input.website,
                    languages=input.languages,
                    regions=input.regions,
                    product_families=input.product_families,
                ),
            )
            return {"entry": DirectoryEntry.of(view)}

        return await _mutate(UpdateDirectoryListingPayload, run)

    @strawberry.mutation(
        description="Set which clients a collaborator of the partner acts for (a legal "
        "representative of the partner); applies from the collaborator's next request.",
        permission_classes=[IsPerson],
    )
    async def set_collaborator_clients(
        self, info: Info, input: SetCollaboratorClientsInput
    ) -> SetCollaboratorClientsPayload:
        async def run() -> dict[str, Any]:
            rights = await program_cases.set_collaborator_clients(
                info.context,
                organization_id=_org(input.organization_id),
                user_id=decode_id(input.user_id, "User", "userId"),
                all_clients=input.all_clients,
                client_grant_ids=[
                    decode_id(c, "Client", "clientIds") for c in input.client_ids or []
                ],
            )
            return {
                "rights": CollaboratorRights(
                    user_id=relay.GlobalID("User", str(rights.user_id)),
                    all_clients=rights.all_clients,
                    client_ids=[relay.GlobalID("Client", str(g)) for g in rights.client_grant_ids],
                )
            }

        return await _mutate(SetCollaboratorClientsPayload, run)

    @strawberry.mutation(
        description="Grant the provider's support staff a read-only access for at most 72 "
        "hours (a legal representative); it ends by itself.",
        permission_classes=[IsPerson],
    )
    async def grant_support_access(
        self, info: Info, input: GrantSupportAccessInput
    ) -> SupportAccessPayload:
        async def run() -> dict[str, Any]:
            row = await support_cases.grant_support_access(
                info.context,
                organization_id=_org(input.organization_id),
                duration_hours=input.duration_hours,
                reason=input.reason,
            )
            return {"support_access": SupportAccess.of(row)}

        return await _mutate(SupportAccessPayload, run)

    @strawberry.mutation(
        description="End a support access now (a legal representative).",
        permission_classes=[IsPerson],
    )
    async def revoke_support_access(
        self, info: Info, input: RevokeSupportAccessInput
    ) -> SupportAccessPayload:
        async def run() -> dict[str, Any]:
            row = await support_cases.revoke_support_access(
                info.context,
                access_id=decode_id(input.support_access_id, "SupportAccess", "supportAccessId"),
            )
            return {"support_access": SupportAccess.of(row)}

        return await _mutate(SupportAccessPayload, run)

    @strawberry.mutation(
        description="Refused, always: an end customer and its backups never move between "
        "two Swiss Backup accounts (BACKUP_MOVE_NOT_SUPPORTED).",
        permission_classes=[IsAuthenticated],
    )
    async def move_backup_customer(
        self, info: Info, input: MoveBackupCustomerInput
    ) -> MoveBackupCustomerPayload:
        async def run() -> dict[str, Any]:
            row = await support_cases.move_backup_customer(
                info.context,
                customer_id=decode_id(input.customer_id, "BackupCustomer", "customerId"),
                target_account_id=decode_id(
                    input.target_account_id, "BackupAccount", "targetAccountId"
                ),
            )
            return {"customer": BackupCustomer.of(row)}

        return await _mutate(MoveBackupCustomerPayload, run)


PROGRAM_TYPES: list[type] = [
    BackupAccount,
    BackupCustomer,
    DirectoryEntry,
    PartnerApplication,
    SupportAccess,
]

__all__ = ["PROGRAM_TYPES", "ProgramMutations", "ProgramQueries"]
