"""The partner's view of its prepaid account (authorization): who may read it, which
account, which client."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from db.models import Grant, Organization, Partner
from domain.access import has_billing_rights
from domain.money import Currency
from resolvers.context import RequestContext
from resolvers.errors import not_found


@dataclass(frozen=True)
class PrepaidAccountView:
    organization_id: int
    currency: Currency


def may_read_prepaid_account(ctx: RequestContext, organization_id: int) -> bool:
    """A partner's prepaid account: its billing members (legal reps, administrators)."""
    return has_billing_rights(ctx.viewer, organization_id)


async def prepaid_account(
    ctx: RequestContext, organization_id: int, currency: Currency | None = None
) -> PrepaidAccountView | None:
    """The prepaid account of partner organization ``organization_id`` for a billing member.

    ``None`` if the organization is not a partner of the program. ``currency`` defaults to
    the organization's own currency. A viewer without billing rights gets ``NOT_FOUND``
    (the schema's permission class answers FORBIDDEN before this runs).
    """
    if not may_read_prepaid_account(ctx, organization_id):
        raise not_found("organizationId")
    async with ctx.services.sessionmaker() as session:
        row = (
            await session.execute(
                select(Organization.currency, Partner.id)
                .outerjoin(Partner, Partner.organization_id == Organization.id)
                .where(Organization.id == organization_id)
            )
        ).first()
    if row is None or row[1] is None:
        return None
    return PrepaidAccountView(organization_id, currency or row[0])


async def client_of_partner(ctx: RequestContext, organization_id: int, grant_id: int) -> int:
    """The client organization of grant ``grant_id`` (a ``Client``) of this partner.

    Any grant, ended or not: a partner filters its past cashback by former clients too.
    A grant of another partner, or one with no client yet, is ``NOT_FOUND``.
    """
    async with ctx.services.sessionmaker() as session:
        client_id = await session.scalar(
            select(Grant.client_id)
            .join(Partner, Partner.id == Grant.partner_id)
            .where(Grant.id == grant_id, Partner.organization_id == organization_id)
        )
    if client_id is None:
        raise not_found("clientId")
    return client_id
