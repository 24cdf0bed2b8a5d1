"""Grant use case: invite. A partner invites a client by email, or a client invites a
partner of the program; it runs in one transaction with its audit event and its emails."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Grant, Membership, Partner, User
from domain.enums import GrantStatus, PartnerStatus, Role, Side
from domain.grants import NO_TERM, Access, Term, validate_access, validate_term
from domain.integration_events import EventKind
from resolvers.auth import require_writer
from resolvers.context import RequestContext
from resolvers.errors import UseCaseError, not_found
from resolvers.events import emit_email
from resolvers.grants.common import (
    GRANT_EXISTS,
    KNOWN_FAMILIES,
    LoadedGrant,
    _acting_role,
    _apply_term,
    _audit,
    _client_product_ids,
    _event,
    _invitation,
    _live_grant_exists,
    _responsible_user_id,
    _Run,
    _set_products,
)
from resolvers.grants.emails import _accept_url, _mail_context, _notify
from resolvers.validation import MAX_TEXT, clean_email, clean_text


@dataclass
class InviteTarget:
    client_email: str | None = None
    partner_id: int | None = None


# -- use cases --------------------------------------------------------------------------


async def invite(
    ctx: RequestContext,
    *,
    organization_id: int,
    target: InviteTarget,
    access: Access,
    message: str | None,
    term: Term = NO_TERM,
) -> Grant:
    require_writer(ctx)
    _acting_role(ctx, organization_id)
    note = clean_text(message, "message", max_length=MAX_TEXT, required=False) if message else None
    if (target.client_email is None) == (target.partner_id is None):
        raise UseCaseError(
            "INVALID_INPUT",
            "Give either clientEmail (as a partner) or partnerId (as a client).",
            None,
        )

    async def body(session: AsyncSession) -> Grant:
        if target.client_email is not None:
            validate_term(term, set_by=Side.PARTNER, now=ctx.now())
            return await _invite_client(
                session, ctx, organization_id, target.client_email, access, note
            )
        assert target.partner_id is not None
        validate_term(term, set_by=Side.CLIENT, now=ctx.now())
        return await _invite_partner(
            session, ctx, organization_id, target.partner_id, access, note, term
        )

    return await _Run(ctx)(body)


async def _invite_client(
    session: AsyncSession,
    ctx: RequestContext,
    partner_org_id: int,
    raw_email: str,
    access: Access,
    note: str | None,
) -> Grant:
    email = clean_email(raw_email, "clientEmail")
    partner = await session.scalar(select(Partner).where(Partner.organization_id == partner_org_id))
    if partner is None or partner.status is not PartnerStatus.ACTIVE:
        raise UseCaseError(
            "NOT_A_PARTNER",
            "Only an active partner of the program invites clients.",
            "organizationId",
        )
    validate_access(access, proposed_by=Side.PARTNER, known_families=KNOWN_FAMILIES)
    if ctx.viewer.email == email:
        raise UseCaseError(
            "CANNOT_INVITE_SELF", "A partner cannot be its own client.", "clientEmail"
        )
    # An invitee already represents exactly one organization: bind it now, so a duplicate
    # or a self-invitation is caught at once. Otherwise the invitee picks it on accepting.
    client_orgs = list(
        await session.scalars(
            select(Membership.organization_id)
            .join(User, User.id == Membership.user_id)
            .where(User.email == email, Membership.role == Role.LEGAL_REPRESENTATIVE)
        )
    )
    client_id = client_orgs[0] if len(client_orgs) == 1 else None
    if client_id == partner_org_id:
        raise UseCaseError(
            "CANNOT_INVITE_SELF", "A partner cannot be its own client.", "clientEmail"
        )
    if client_id is not None and await _live_grant_exists(session, partner.id, client_id):
        raise GRANT_EXISTS
    grant = Grant(
        partner_id=partner.id,
        client_id=client_id,
        invitee_email=email,
        initiated_by=Side.PARTNER,
        status=GrantStatus.PENDING,
        requested_level=access.level,
        requested_payment_methods=access.payment_methods,
        requested_families=sorted(access.families),
        requested_product_ids=[],
        message=note,
        invited_by_user_id=await _responsible_user_id(session, ctx),
    )
    token = _invitation(ctx, grant)
    session.add(grant)
    await session.flush()
    loaded = LoadedGrant(grant, partner_org_id, frozenset())
    _audit(session, ctx, "invite", loaded, None, partner_org_id)
    await _event(session, ctx.now(), EventKind.GRANT_INVITED, loaded)
    mail = await _mail_context(session, ctx, loaded)
    emit_email(
        session,
        to=email,
        template="grant_invitation_to_client",
        context={**mail, "accept_url": _accept_url(ctx, token)},
    )
    return grant


async def _invite_partner(
    session: AsyncSession,
    ctx: RequestContext,
    client_org_id: int,
    partner_id: int,
    access: Access,
    note: str | None,
    term: Term = NO_TERM,
) -> Grant:
    partner = await session.get(Partner, partner_id)
    if partner is None or partner.status is not PartnerStatus.ACTIVE:
        raise not_found("partnerId")
    if partner.organization_id == client_org_id:
        raise UseCaseError(
            "CANNOT_INVITE_SELF", "An organization cannot be its own partner.", "partnerId"
        )
    validate_access(
        access,
        proposed_by=Side.CLIENT,
        client_product_ids=await _client_product_ids(session, client_org_id),
    )
    if await _live_grant_exists(session, partner.id, client_org_id):
        raise GRANT_EXISTS
    grant = Grant(
        partner_id=partner.id,
        client_id=client_org_id,
        initiated_by=Side.CLIENT,
        status=GrantStatus.PENDING,
        requested_level=access.level,
        requested_payment_methods=access.payment_methods,
        requested_families=[],
        requested_product_ids=sorted(access.product_ids),
        level=access.level,
        payment_methods=access.payment_methods,
        message=note,
        invited_by_user_id=await _responsible_user_id(session, ctx),
    )
    _invitation(ctx, grant)
    _apply_term(grant, term, ctx.now())
    session.add(grant)
    await session.flush()
    await _set_products(session, grant, access.product_ids)
    loaded = LoadedGrant(grant, partner.organization_id, access.product_ids)
    _audit(session, ctx, "invite", loaded, None, client_org_id)
    await _event(session, ctx.now(), EventKind.GRANT_INVITED, loaded)
    mail = await _mail_context(session, ctx, loaded)
    await _notify(
        session,
        partner.organization_id,
        "grant_invitation_to_partner",
        mail,
    )
    return grant
