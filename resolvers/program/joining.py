"""Program use cases: joining (Partner application, Affiliate Program).

Each runs in one transaction with its audit event and its emails (outbox); rules are in
`domain.program`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from db.models import Affiliate, Partner, PartnerApplication, ProgramEnrollment
from db.queries import legal_representative_emails
from db.session import transaction
from domain.enums import OrganizationKind, PartnerStatus
from domain.errors import DomainError
from domain.program import ApplicationFacts, ApplicationStatus, ProgramKind, assess_application
from resolvers.auth import require_user
from resolvers.context import RequestContext
from resolvers.errors import UseCaseError
from resolvers.events import emit_email, record_audit
from resolvers.program.common import UseCaseErrors, _lock_organization, require_legal_representative

ALREADY_PARTNER = UseCaseError(
    "ALREADY_PARTNER", "This organization is already a Partner of the program.", "organizationId"
)
PROGRAM_CONFLICT = UseCaseError(
    "PROGRAM_CONFLICT",
    "The organization joined a program at the same time; reload and try again.",
    "organizationId",
)


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
