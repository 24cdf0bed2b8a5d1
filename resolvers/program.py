"""Program use cases: joining (Partner application, Affiliate Program), collaborators'
rights, the yearly review, and the EXTERNAL memberships a partnership absorbs.

Each runs in one transaction with its audit event and its emails (outbox); rules are in
`domain.program`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    Affiliate,
    CollaboratorClient,
    Grant,
    GrantProduct,
    Membership,
    Organization,
    Partner,
    PartnerApplication,
    PartnerReview,
    Product,
    ProgramEnrollment,
    utcnow,
)
from db.queries import legal_representative_emails
from db.session import transaction
from domain.enums import (
    AccessLevel,
    GrantStatus,
    OrganizationKind,
    PartnerStatus,
    ProductStatus,
    Role,
)
from domain.errors import DomainError
from domain.grants import LIVE_STATUSES
from domain.pricing import Catalog, default_catalog
from domain.program import (
    ApplicationFacts,
    ApplicationStatus,
    ManagedProduct,
    ProgramKind,
    assess_application,
    check_collaborator_clients,
    review_volume,
)
from resolvers.auth import require_user
from resolvers.context import RequestContext
from resolvers.errors import UseCaseError, not_found
from resolvers.events import emit_email, record_audit

logger = logging.getLogger(__name__)

ROLE_NOT_ALLOWED = UseCaseError(
    "ROLE_NOT_ALLOWED", "Only a legal representative of the organization may do this.", None
)
ALREADY_PARTNER = UseCaseError(
    "ALREADY_PARTNER", "This organization is already a Partner of the program.", "organizationId"
)
PROGRAM_CONFLICT = UseCaseError(
    "PROGRAM_CONFLICT",
    "The organization joined a program at the same time; reload and try again.",
    "organizationId",
)


class UseCaseErrors(UseCaseError):
    """Several input errors at once (a form): the schema returns each as a userError."""

    def __init__(self, errors: Sequence[DomainError]) -> None:
        first = errors[0]
        super().__init__(first.code, first.message, first.field)
        self.errors = list(errors)


def require_legal_representative(ctx: RequestContext, organization_id: int) -> None:
    """A legal representative of the organization; a non-member sees NOT_FOUND."""
    role = ctx.viewer.role_in(organization_id)
    if role is None:
        raise not_found("organizationId")
    if role is not Role.LEGAL_REPRESENTATIVE:
        raise ROLE_NOT_ALLOWED


async def _lock_organization(session: AsyncSession, organization_id: int) -> Organization:
    # Serializes concurrent program changes of one organization on PostgreSQL; SQLite
    # serializes writers anyway. The unique keys catch whatever slips through.
    org = await session.scalar(
        select(Organization).where(Organization.id == organization_id).with_for_update()
    )
    if org is None:
        raise not_found("organizationId")
    return org


# -- joining ----------------------------------------------------------------------------


def _reasons_json(reasons: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"code": r.code, "message": r.message, "field": r.field} for r in reasons]


async def apply_to_partner_program(
    ctx: RequestContext,
    *,
    organization_id: int,
    registration_number: str | None,
    website: str | None,
    accepted_reseller_conditions: bool,
    accepted_bid_exclusivity: bool,
) -> PartnerApplication:
    """Assess an application. Accepted: the organization becomes an ACTIVE partner.

    A missing or malformed registration number or website sends the form back (userErrors,
    nothing written). A well-formed application is stored either way; a refused one with
    its reasons, which the applicant sees in the payload, in `partnerApplications` and by
    email.
    """
    user_id = require_user(ctx)
    require_legal_representative(ctx, organization_id)
    try:
        async with transaction(ctx.services.sessionmaker) as session:
            org = await _lock_organization(session, organization_id)
            partner = await session.scalar(
                select(Partner).where(Partner.organization_id == organization_id)
            )
            if partner is not None:
                raise ALREADY_PARTNER
            is_affiliate = (
                await session.scalar(
                    select(Affiliate.id).where(Affiliate.organization_id == organization_id)
                )
                is not None
            )
            assessment = assess_application(
                ApplicationFacts(
                    organization_kind=org.kind,
                    registration_number=registration_number,
                    website=website,
                    accepted_reseller_conditions=accepted_reseller_conditions,
                    accepted_bid_exclusivity=accepted_bid_exclusivity,
                    is_affiliate=is_affiliate,
                )
            )
            if assessment.input_errors:
                raise UseCaseErrors(
                    [DomainError(r.code, r.message, r.field) for r in assessment.input_errors]
                )
            assert assessment.registration_number is not None
            assert assessment.website is not None
            application = PartnerApplication(
                organization_id=organization_id,
                submitted_by_user_id=user_id,
                registration_number=assessment.registration_number,
                website=assessment.website,
                accepted_reseller_conditions=accepted_reseller_conditions,
                accepted_bid_exclusivity=accepted_bid_exclusivity,
                status=ApplicationStatus.ACCEPTED
                if assessment.accepted
                else ApplicationStatus.REFUSED,
                refusal_reasons=_reasons_json(assessment.reasons),
                created_at=ctx.now(),
            )
            session.add(application)
            if assessment.accepted:
                partner = Partner(organization_id=organization_id, status=PartnerStatus.ACTIVE)
                session.add_all(
                    [
                        partner,
                        ProgramEnrollment(
                            organization_id=organization_id, program=ProgramKind.PARTNER
                        ),
                    ]
                )
                org.registration_number = assessment.registration_number
                org.website = assessment.website
                await session.flush()
                application.partner_id = partner.id
            await session.flush()
            record_audit(
                session,
                action="partner_application." + ("accept" if assessment.accepted else "refuse"),
                subject_type="PartnerApplication",
                subject_id=application.id,
                actor_user_id=user_id,
                organization_id=organization_id,
                after={
                    "status": application.status.value,
                    "registration_number": application.registration_number,
                    "website": application.website,
                    "accepted_reseller_conditions": accepted_reseller_conditions,
                    "accepted_bid_exclusivity": accepted_bid_exclusivity,
                    "reasons": [r.code for r in assessment.reasons],
                    "partner_id": application.partner_id,
                },
            )
            for address in await legal_representative_emails(session, organization_id):
                if assessment.accepted:
                    emit_email(
                        session,
                        to=address,
                        template="partner_application_accepted",
                        context={
                            "organization_name": org.name,
                            "registration_number": application.registration_number,
                            "website": application.website,
                        },
                    )
                else:
                    emit_email(
                        session,
                        to=address,
                        template="partner_application_refused",
                        context={
                            "organization_name": org.name,
                            "reasons": "\n".join(r.message for r in assessment.reasons),
                        },
                    )
    except IntegrityError as exc:  # a concurrent application or affiliate enrollment
        raise PROGRAM_CONFLICT from exc
    ctx.services.after_commit()
    return application


async def join_affiliate_program(ctx: RequestContext, *, organization_id: int) -> Affiliate:
    """An individual's organization joins the Affiliate Program; never a partner's."""
    user_id = require_user(ctx)
    require_legal_representative(ctx, organization_id)
    try:
        async with transaction(ctx.services.sessionmaker) as session:
            org = await _lock_organization(session, organization_id)
            if (
                await session.scalar(
                    select(Partner.id).where(Partner.organization_id == organization_id)
                )
                is not None
            ):
                raise UseCaseError(
                    "PARTNER_CANNOT_BE_AFFILIATE",
                    "A Partner cannot also be an Affiliate of the program.",
                    "organizationId",
                )
            if org.kind is not OrganizationKind.INDIVIDUAL:
                raise UseCaseError(
                    "NOT_AN_INDIVIDUAL",
                    "The Affiliate Program is for individuals; a company applies to the "
                    "Partner Program.",
                    "organizationId",
                )
            enrolled = await session.get(ProgramEnrollment, organization_id)
            if enrolled is not None:
                if enrolled.program is ProgramKind.AFFILIATE:
                    raise UseCaseError(
                        "ALREADY_AFFILIATE", "This organization is already an Affiliate.", None
                    )
                raise UseCaseError(
                    "PARTNER_CANNOT_BE_AFFILIATE",
                    "A Partner cannot also be an Affiliate of the program.",
                    "organizationId",
                )
            session.add(
                ProgramEnrollment(organization_id=organization_id, program=ProgramKind.AFFILIATE)
            )
            await session.flush()
            affiliate = Affiliate(
                organization_id=organization_id,
                program=ProgramKind.AFFILIATE,
                joined_by_user_id=user_id,
                created_at=ctx.now(),
            )
            session.add(affiliate)
            await session.flush()
            record_audit(
                session,
                action="affiliate.join",
                subject_type="Affiliate",
                subject_id=affiliate.id,
                actor_user_id=user_id,
                organization_id=organization_id,
                after={"program": ProgramKind.AFFILIATE.value},
            )
    except IntegrityError as exc:
        raise PROGRAM_CONFLICT from exc
    return affiliate


# -- collaborators ----------------------------------------------------------------------


@dataclass
class CollaboratorRights:
    membership_id: int
    user_id: int
    organization_id: int
    all_clients: bool
    # Client (grant) IDs of the partner's live grants whose client the collaborator acts for.
    client_grant_ids: list[int] = field(default_factory=list)


async def set_collaborator_clients(
    ctx: RequestContext,
    *,
    organization_id: int,
    user_id: int,
    all_clients: bool,
    client_grant_ids: Sequence[int],
) -> CollaboratorRights:
    """Which clients a partner's collaborator acts for: all, or those listed.

    `client_grant_ids` are the partner's `Client` IDs (a Client is seen through its grant);
    each must be a pending or active partnership of this partner with a bound client.
    Viewers load their rights on every request, so the change applies to the next one.
    """
    actor_id = require_user(ctx)
    require_legal_representative(ctx, organization_id)
    async with transaction(ctx.services.sessionmaker) as session:
        partner = await session.scalar(
            select(Partner).where(Partner.organization_id == organization_id)
        )
        if partner is None:
            raise UseCaseError(
                "NOT_A_PARTNER", "Only a partner's collaborators act for clients.", "organizationId"
            )
        membership = await session.scalar(
            select(Membership)
            .where(Membership.organization_id == organization_id, Membership.user_id == user_id)
            .with_for_update()
        )
        if membership is None:
            raise not_found("userId")
        if membership.role is not Role.COLLABORATOR:
            raise UseCaseError(
                "NOT_A_COLLABORATOR",
                "Legal representatives and administrators act for every client, external "
                "members for none: only a collaborator's clients are chosen.",
                "userId",
            )
        live = {
            g.id: g.client_id
            for g in await session.scalars(
                select(Grant).where(
                    Grant.partner_id == partner.id,
                    Grant.status.in_(LIVE_STATUSES),
                    Grant.client_id.is_not(None),
                )
            )
            if g.client_id is not None
        }
        requested_grants = frozenset(client_grant_ids)
        if requested_grants - live.keys():
            raise UseCaseError(
                "CLIENT_NOT_OF_PARTNER",
                "Each client must be a client of this partner (a pending or active partnership).",
                "clientIds",
            )
        clients = check_collaborator_clients(
            all_clients,
            frozenset(live[g] for g in requested_grants),
            frozenset(live.values()),
        )
        current = frozenset(
            await session.scalars(
                select(CollaboratorClient.client_id).where(
                    CollaboratorClient.membership_id == membership.id
                )
            )
        )
        before = {"all_clients": membership.all_clients, "client_ids": sorted(current)}
        await session.execute(
            delete(CollaboratorClient).where(CollaboratorClient.membership_id == membership.id)
        )
        session.add_all(
            CollaboratorClient(membership_id=membership.id, client_id=c) for c in sorted(clients)
        )
        membership.all_clients = all_clients
        await session.flush()
        record_audit(
            session,
            action="collaborator.set_clients",
            subject_type="Membership",
            subject_id=membership.id,
            actor_user_id=actor_id,
            organization_id=organization_id,
            before=before,
            after={"all_clients": all_clients, "client_ids": sorted(clients)},
        )
    return CollaboratorRights(
        membership_id=membership.id,
        user_id=user_id,
        organization_id=organization_id,
        all_clients=all_clients,
        client_grant_ids=sorted(g for g, c in live.items() if c in clients or all_clients),
    )


# -- EXTERNAL members absorbed by a partnership ----------------------------------------


async def absorb_external_memberships(
    session: AsyncSession,
    partner_org_id: int,
    client_org_id: int,
    *,
    actor_user_id: int | None = None,
) -> list[int]:
    """Update, as a partnership becomes ACTIVE, the EXTERNAL memberships that partner
    users hold in the client organization (SPEC: "has that membership updated once the
    partnership begins"). Call it in the accepting transaction; returns the user IDs.

    Decided: the EXTERNAL membership is removed, and access flows through the grant. Kept,
    it would be a second way in that the grant does not govern: it would show the whole
    client under a LIMITED grant, outlive `stopCollaboration` ("the partner loses all
    access at once") and ignore the collaborator's rights set by the partner. A partner
    collaborator restricted to a list of clients gets this client added to its list, so
    the person keeps acting for the client it already worked with, now under the grant;
    legal representatives and administrators act for every client already. Each removal
    is audited (before: the EXTERNAL membership; after: the partner-side role).
    """
    partner_memberships = {
        m.user_id: m
        for m in await session.scalars(
            select(Membership).where(Membership.organization_id == partner_org_id)
        )
    }
    if not partner_memberships:
        return []
    externals = list(
        await session.scalars(
            select(Membership)
            .where(
                Membership.organization_id == client_org_id,
                Membership.role == Role.EXTERNAL,
                Membership.user_id.in_(partner_memberships),
            )
            .order_by(Membership.id)
        )
    )
    absorbed: list[int] = []
    for external in externals:
        partner_side = partner_memberships[external.user_id]
        right_added = False
        if partner_side.role is Role.COLLABORATOR and not partner_side.all_clients:
            existing = await session.get(CollaboratorClient, (partner_side.id, client_org_id))
            if existing is None:
                session.add(
                    CollaboratorClient(membership_id=partner_side.id, client_id=client_org_id)
                )
                right_added = True
        record_audit(
            session,
            action="membership.absorbed_by_partnership",
            subject_type="Membership",
            subject_id=external.id,
            actor_user_id=actor_user_id,
            organization_id=client_org_id,
            before={"user_id": external.user_id, "role": Role.EXTERNAL.value},
            after={
                "user_id": external.user_id,
                "removed": True,
                "partner_organization_id": partner_org_id,
                "partner_role": partner_side.role.value,
                "collaborator_client_added": right_added,
            },
        )
        await session.delete(external)
        absorbed.append(external.user_id)
    await session.flush()
    return absorbed


# -- yearly review ----------------------------------------------------------------------

REVIEW_CHUNK = 500


@dataclass
class ReviewSummary:
    year: int
    reviewed: int = 0
    flagged: int = 0
    already_reviewed: int = 0
    flagged_partner_ids: list[int] = field(default_factory=list)


async def _managed_products(
    session: AsyncSession, partner_ids: Sequence[int]
) -> dict[int, list[ManagedProduct]]:
    """Active products each partner manages under its ACTIVE grants."""
    found: dict[int, list[ManagedProduct]] = defaultdict(list)
    full = (
        select(Grant.partner_id, Product.kind, Product.quantity)
        .join(Product, Product.organization_id == Grant.client_id)
        .where(
            Grant.partner_id.in_(partner_ids),
            Grant.status == GrantStatus.ACTIVE,
            Grant.level == AccessLevel.FULL,
            Product.status == ProductStatus.ACTIVE,
        )
    )
    limited = (
        select(Grant.partner_id, Product.kind, Product.quantity)
        .join(GrantProduct, GrantProduct.grant_id == Grant.id)
        .join(Product, Product.id == GrantProduct.product_id)
        .where(
            Grant.partner_id.in_(partner_ids),
            Grant.status == GrantStatus.ACTIVE,
            Grant.level == AccessLevel.LIMITED,
            Product.status == ProductStatus.ACTIVE,
        )
    )
    for stmt in (full, limited):
        for partner_id, kind, quantity in await session.execute(stmt):
            found[partner_id].append(ManagedProduct(kind=kind, quantity=quantity))
    return found


async def _review_one(
    sessionmaker: async_sessionmaker[AsyncSession],
    partner_id: int,
    organization_id: int,
    year: int,
    now: datetime,
    catalog: Catalog,
) -> bool | None:
    """Review one partner in its own transaction: True flagged, False fine, None done."""
    try:
        async with transaction(sessionmaker) as session:
            if (
                await session.scalar(
                    select(PartnerReview.id).where(
                        PartnerReview.partner_id == partner_id, PartnerReview.year == year
                    )
                )
                is not None
            ):
                return None
            org = await session.get(Organization, organization_id)
            assert org is not None
            products = (await _managed_products(session, [partner_id])).get(partner_id, [])
            result = review_volume(products, org.currency, catalog)
            below = result.below_minimum
            emails = await legal_representative_emails(session, organization_id) if below else []
            review = PartnerReview(
                partner_id=partner_id,
                year=year,
                currency=org.currency,
                managed_volume=result.volume.amount,
                minimum_volume=result.minimum.amount,
                flagged_below_minimum_at=now if below else None,
                notified_emails=emails,
                created_at=now,
            )
            session.add(review)
            await session.flush()
            if below:
                record_audit(
                    session,
                    action="partner.review_flagged",
                    subject_type="PartnerReview",
                    subject_id=review.id,
                    actor_user_id=None,
                    organization_id=organization_id,
                    after={
                        "partner_id": partner_id,
                        "year": year,
                        "managed_volume_minor": result.volume.to_minor_units(),
                        "minimum_minor": result.minimum.to_minor_units(),
                        "currency": org.currency.value,
                    },
                )
                for address in emails:
                    emit_email(
                        session,
                        to=address,
                        template="partner_review_below_minimum",
                        context={
                            "organization_name": org.name,
                            "year": str(year),
                            "managed_volume": str(result.volume),
                            "minimum_volume": str(result.minimum),
                        },
                        dedupe_key=f"partner_review:{partner_id}:{year}:{address}",
                    )
            if result.unpriced_kinds:
                logger.warning(
                    "partner %s review: products without a list price: %s",
                    partner_id,
                    ", ".join(result.unpriced_kinds),
                )
            return below
    except IntegrityError:  # a concurrent run reviewed it first
        return None


async def run_yearly_review(
    sessionmaker: async_sessionmaker[AsyncSession],
    year: int,
    *,
    now: datetime | None = None,
    catalog: Catalog | None = None,
    after_commit: Callable[[], None] | None = None,
) -> ReviewSummary:
    """Review every ACTIVE partner once for `year`: store its managed volume, flag and
    notify (email its legal representatives) those below CHF 2000 / EUR 1800. Deletes
    and suspends nothing.

    Idempotent per (partner, year): a partner already reviewed is skipped, a concurrent
    run loses on the unique key, emails carry a dedupe key. Each partner commits alone,
    so a crash resumes where it stopped. The volume is a snapshot at run time (see
    `domain.program`).
    """
    moment = now or utcnow()
    prices = catalog or default_catalog()
    summary = ReviewSummary(year=year)
    last_id = 0
    while True:
        async with sessionmaker() as session:
            rows = (
                await session.execute(
                    select(Partner.id, Partner.organization_id)
                    .where(Partner.status == PartnerStatus.ACTIVE, Partner.id > last_id)
                    .order_by(Partner.id)
                    .limit(REVIEW_CHUNK)
                )
            ).all()
        if not rows:
            break
        last_id = rows[-1][0]
        for partner_id, organization_id in rows:
            outcome = await _review_one(
                sessionmaker, partner_id, organization_id, year, moment, prices
            )
            if outcome is None:
                summary.already_reviewed += 1
                continue
            summary.reviewed += 1
            if outcome:
                summary.flagged += 1
                summary.flagged_partner_ids.append(partner_id)
        if after_commit is not None:
            after_commit()
    return summary
