"""Joining the program: Partner Program applications and the Affiliate Program."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from sqlalchemy import select
from strawberry import relay

from db import models
from domain.error_codes import ErrorCode
from domain.program import ApplicationStatus
from schema.base import UserError, field_path
from schema.context import Info
from schema.ids import primary_keys
from schema.types import Partner

strawberry.enum(ApplicationStatus, description="The decision on a Partner Program application.")


@strawberry.type(description="Why an application was refused: one unmet condition.")
class RefusalReason:
    code: ErrorCode = strawberry.field(description="A stable code to switch on.")
    message: str = strawberry.field(description="A sentence for the applicant.")
    field: list[str] | None = strawberry.field(
        description="The path to the form field concerned, if one is."
    )


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
                RefusalReason(
                    code=ErrorCode(r["code"]),
                    message=r["message"],
                    field=field_path(r.get("field")),
                )
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
        ids = primary_keys(node_ids)
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


@strawberry.input(description="An application to the Partner Program.")
class ApplyToPartnerProgramInput:
    organization_id: relay.GlobalID = strawberry.field(description="The applying company.")
    registration_number: str | None = strawberry.field(
        default=None,
        description="Swiss UID (CHE-123.456.789), 14-digit SIRET, or a country code and "
        "its register number: DE Aachen HRB 44123, AT FN 122119m, IT 00743110157, LI "
        "PEID, or another EU country's VAT number (BE 0417.497.106).",
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
