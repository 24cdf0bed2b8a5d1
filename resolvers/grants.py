"""Grant use cases: invite, accept, refuse, resend, cancel, edit access, change payment
methods, stop. Each runs in one transaction with its audit event and its emails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from db.models import (
    ApiToken,
    Grant,
    GrantProduct,
    Membership,
    Partner,
    Product,
    User,
    utcnow,
)
from db.queries import actor_display_name, legal_representative_emails, organization_name
from db.session import transaction
from domain.access import GrantFacts, can_see_grant
from domain.enums import AccessLevel, GrantStatus, PartnerStatus, Role, Side
from domain.grants import (
    LIVE_STATUSES,
    Access,
    GrantAction,
    GrantError,
    effective_status,
    next_status,
    other_side,
    require_legal_representative,
    sides_allowed,
    validate_access,
)
from domain.pricing import default_catalog
from resolvers.auth import check_password, require_writer
from resolvers.context import RequestContext
from resolvers.errors import UNAUTHENTICATED, UseCaseError, not_found
from resolvers.events import emit_email, record_audit
from resolvers.program import absorb_external_memberships
from resolvers.tokens import digest, new_secret
from resolvers.validation import MAX_TEXT, clean_email, clean_text

INVITATION_PREFIX = "pgi"
KNOWN_FAMILIES = frozenset(spec.family for spec in default_catalog().products.values())

GRANT_EXISTS = UseCaseError(
    "GRANT_EXISTS",
    "A pending or active partnership already links these organizations.",
    None,
)
CONFLICT = UseCaseError("CONFLICT", "The partnership changed at the same time; try again.", None)


@dataclass
class InviteTarget:
    client_email: str | None = None
    partner_id: int | None = None


# -- loading and deciding ---------------------------------------------------------------


async def _product_ids(session: AsyncSession, grant_id: int) -> frozenset[int]:
    rows = await session.scalars(
        select(GrantProduct.product_id).where(GrantProduct.grant_id == grant_id)
    )
    return frozenset(rows)


async def _client_product_ids(
    session: AsyncSession, organization_id: int, *, families: list[str] | None = None
) -> frozenset[int]:
    stmt = select(Product.id).where(Product.organization_id == organization_id)
    if families is not None:
        stmt = stmt.where(Product.family.in_(families))
    return frozenset(await session.scalars(stmt))


async def _product_names(session: AsyncSession, ids: frozenset[int]) -> list[str]:
    if not ids:
        return []
    rows = await session.scalars(
        select(Product.name).where(Product.id.in_(ids)).order_by(Product.name)
    )
    return list(rows)


@dataclass
class LoadedGrant:
    grant: Grant
    partner_organization_id: int
    product_ids: frozenset[int]

    @property
    def facts(self) -> GrantFacts:
        return GrantFacts(
            partner_organization_id=self.partner_organization_id,
            client_organization_id=self.grant.client_id,
            status=self.grant.status,
            level=self.grant.level,
            payment_methods=self.grant.payment_methods,
            product_ids=self.product_ids,
            grant_id=self.grant.id,
        )

    def snapshot(self) -> dict[str, Any]:
        g = self.grant
        return {
            "status": g.status.value,
            "client_id": g.client_id,
            "level": g.level.value if g.level else None,
            "payment_methods": g.payment_methods.value if g.payment_methods else None,
            "product_ids": sorted(self.product_ids),
        }


async def _load(session: AsyncSession, grant: Grant | None) -> LoadedGrant | None:
    if grant is None:
        return None
    partner_org = await session.scalar(
        select(Partner.organization_id).where(Partner.id == grant.partner_id)
    )
    assert partner_org is not None
    return LoadedGrant(grant, partner_org, await _product_ids(session, grant.id))


async def _load_for_update(session: AsyncSession, grant_id: int) -> LoadedGrant | None:
    grant = await session.scalar(select(Grant).where(Grant.id == grant_id).with_for_update())
    return await _load(session, grant)


def _visible(
    ctx: RequestContext, loaded: LoadedGrant | None, token_ok: bool = False
) -> LoadedGrant:
    """The grant, or NOT_FOUND: an invisible grant and a missing one answer the same."""
    if loaded is None:
        raise not_found("grantId")
    if not _is_invitee(ctx, loaded.grant, token_ok) and not can_see_grant(ctx.viewer, loaded.facts):
        raise not_found("grantId")
    return loaded


def _is_invitee(ctx: RequestContext, grant: Grant, token_ok: bool) -> bool:
    """The person a partner invited by email, before any organization is bound: it holds
    the emailed token or signed in with that email."""
    return grant.client_id is None and (
        token_ok or (ctx.viewer.email is not None and ctx.viewer.email == grant.invitee_email)
    )


def _actor(
    ctx: RequestContext, loaded: LoadedGrant, action: GrantAction
) -> tuple[Side, Role | None]:
    """The side the viewer acts for: the one allowed to act if it belongs to it."""
    orgs = {Side.PARTNER: loaded.partner_organization_id, Side.CLIENT: loaded.grant.client_id}
    allowed = sides_allowed(action, loaded.grant.initiated_by)
    roles = {
        side: role
        for side, org in orgs.items()
        if org is not None and (role := ctx.viewer.role_in(org)) is not None
    }
    # A user may belong to both sides (a partner's user is often an EXTERNAL member of
    # its client): it acts where it is a legal representative, if that side may act.
    for side in sorted(allowed):
        if roles.get(side) is Role.LEGAL_REPRESENTATIVE:
            return side, Role.LEGAL_REPRESENTATIVE
    for side in (*sorted(allowed), *sorted(set(Side) - allowed)):
        if side in roles:
            return side, roles[side]
    # Only an invitee without an organization yet is left: it is the client side.
    return Side.CLIENT, None


def _transition(ctx: RequestContext, loaded: LoadedGrant, action: GrantAction) -> GrantStatus:
    side, role = _actor(ctx, loaded, action)
    status = effective_status(loaded.grant.status, loaded.grant.invitation_expires_at, ctx.now())
    return next_status(
        action, status, initiated_by=loaded.grant.initiated_by, actor_side=side, actor_role=role
    )


def _audit(
    session: AsyncSession,
    ctx: RequestContext,
    action: str,
    loaded: LoadedGrant,
    before: dict[str, Any] | None,
    organization_id: int | None,
) -> None:
    record_audit(
        session,
        action=f"grant.{action}",
        subject_type="Grant",
        subject_id=loaded.grant.id,
        actor_user_id=ctx.viewer.user_id,
        actor_api_token_id=ctx.viewer.api_token_id,
        organization_id=organization_id,
        before=before,
        after=loaded.snapshot(),
    )


async def _notify(
    session: AsyncSession, organization_id: int | None, template: str, context: dict[str, Any]
) -> None:
    if organization_id is None:
        return
    for address in await legal_representative_emails(session, organization_id):
        emit_email(session, to=address, template=template, context=context)


async def _mail_context(
    session: AsyncSession, ctx: RequestContext, loaded: LoadedGrant
) -> dict[str, Any]:
    """One context for every grant email; each template reads the keys it declares."""
    g = loaded.grant
    actor = await actor_display_name(session, ctx.viewer)
    partner_name = await organization_name(session, loaded.partner_organization_id)
    methods = g.payment_methods or g.requested_payment_methods
    products = await _product_names(session, loaded.product_ids)
    return {
        "partner_name": partner_name,
        "client_name": await organization_name(session, g.client_id) or (g.invitee_email or ""),
        "actor_name": actor or partner_name,
        "level": (g.level or g.requested_level).value,
        "payment_methods": [methods.value] if methods else [],
        # A partner asking for LIMITED access names families: it cannot see products yet.
        "products": products or sorted(g.requested_families or []),
        # Where a signed-in invited side reviews its pending invitations; an emailed
        # invitation to someone without an account carries its token instead.
        "accept_url": f"{ctx.settings.public_url}/partnerships",
    }


async def _set_products(session: AsyncSession, grant: Grant, product_ids: frozenset[int]) -> None:
    await session.execute(delete(GrantProduct).where(GrantProduct.grant_id == grant.id))
    session.add_all(GrantProduct(grant_id=grant.id, product_id=p) for p in sorted(product_ids))


async def _live_grant_exists(session: AsyncSession, partner_id: int, client_id: int) -> bool:
    found = await session.scalar(
        select(Grant.id).where(
            Grant.partner_id == partner_id,
            Grant.client_id == client_id,
            Grant.status.in_(LIVE_STATUSES),
        )
    )
    return found is not None


async def _responsible_user_id(session: AsyncSession, ctx: RequestContext) -> int:
    """The person answerable for an invitation: the viewer, or the creator of the API token
    acting (the audit event names the token itself)."""
    if ctx.viewer.user_id is not None:
        return ctx.viewer.user_id
    creator = await session.scalar(
        select(ApiToken.created_by_user_id).where(ApiToken.id == ctx.viewer.api_token_id)
    )
    if creator is None:
        raise UseCaseError(UNAUTHENTICATED, "Authentication required.", None)
    return creator


def _acting_role(ctx: RequestContext, organization_id: int) -> Role:
    role = ctx.viewer.role_in(organization_id)
    if role is None:
        raise not_found("organizationId")
    require_legal_representative(role)
    return role


class _Run:
    """Runs a grant use case: one transaction, mapped integrity and concurrency errors."""

    def __init__(self, ctx: RequestContext) -> None:
        self.ctx = ctx

    async def __call__(self, body: Any) -> Grant:
        try:
            async with transaction(self.ctx.services.sessionmaker) as session:
                grant: Grant = await body(session)
        except IntegrityError as exc:
            # Only the unique indexes on live grants mean a duplicate; anything else is a
            # bug that must not be reported as one.
            text = str(exc.orig)
            if "uq_grants_" in text or "UNIQUE constraint failed: grants." in text:
                raise GRANT_EXISTS from exc
            raise
        except StaleDataError as exc:
            raise CONFLICT from exc
        self.ctx.services.after_commit()
        return grant


def _invitation(ctx: RequestContext, grant: Grant) -> str:
    token = new_secret(INVITATION_PREFIX)
    grant.invitation_token_hash = digest(ctx.settings.secret_key.get_secret_value(), token)
    grant.invitation_expires_at = ctx.now() + timedelta(days=ctx.settings.invitation_ttl_days)
    return token


def _accept_url(ctx: RequestContext, token: str) -> str:
    return f"{ctx.settings.public_url}/invitations/accept?token={token}"


# -- use cases --------------------------------------------------------------------------


async def invite(
    ctx: RequestContext,
    *,
    organization_id: int,
    target: InviteTarget,
    access: Access,
    message: str | None,
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
            return await _invite_client(
                session, ctx, organization_id, target.client_email, access, note
            )
        assert target.partner_id is not None
        return await _invite_partner(session, ctx, organization_id, target.partner_id, access, note)

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
    session.add(grant)
    await session.flush()
    await _set_products(session, grant, access.product_ids)
    loaded = LoadedGrant(grant, partner.organization_id, access.product_ids)
    _audit(session, ctx, "invite", loaded, None, client_org_id)
    mail = await _mail_context(session, ctx, loaded)
    await _notify(
        session,
        partner.organization_id,
        "grant_invitation_to_partner",
        mail,
    )
    return grant


async def accept(
    ctx: RequestContext,
    *,
    grant_id: int | None,
    token: str | None,
    organization_id: int | None,
    access: Access | None,
) -> Grant:
    require_writer(ctx)

    async def body(session: AsyncSession) -> Grant:
        if token is not None:
            key = digest(ctx.settings.secret_key.get_secret_value(), token)
            row = await session.scalar(
                select(Grant).where(Grant.invitation_token_hash == key).with_for_update()
            )
            loaded = _visible(ctx, await _load(session, row), token_ok=True)
        elif grant_id is not None:
            loaded = _visible(ctx, await _load_for_update(session, grant_id))
        else:
            raise UseCaseError(
                "INVALID_INPUT", "Give the grantId or the invitation token.", "grantId"
            )
        grant = loaded.grant
        before = loaded.snapshot()
        if _is_invitee(ctx, grant, token_ok=token is not None):
            await _bind_client(session, ctx, loaded, organization_id)
        # Anyone else (the inviting partner itself) is refused by the state machine.
        new_status = _transition(ctx, loaded, GrantAction.ACCEPT)
        client_id = grant.client_id
        assert client_id is not None  # the state machine let only a bound client side pass
        if grant.initiated_by is Side.CLIENT:
            if access is not None:
                raise UseCaseError(
                    "ACCESS_SET_BY_CLIENT",
                    "The client chose the access; accept it as offered.",
                    "access",
                )
            granted = Access(
                grant.level or grant.requested_level, grant.payment_methods, loaded.product_ids
            )
        else:
            granted = access or Access(
                grant.requested_level,
                grant.requested_payment_methods,
                # Accepted as requested, a LIMITED request for families grants the
                # client's products of those families.
                await _client_product_ids(
                    session, client_id, families=grant.requested_families or []
                )
                if grant.requested_level is AccessLevel.LIMITED
                else frozenset(),
            )
            validate_access(
                granted,
                proposed_by=Side.CLIENT,
                client_product_ids=await _client_product_ids(session, client_id),
            )
        grant.status = new_status
        grant.level = granted.level
        grant.payment_methods = granted.payment_methods
        grant.accepted_at = ctx.now()
        grant.invitation_token_hash = None
        await _set_products(session, grant, granted.product_ids)
        loaded.product_ids = granted.product_ids
        await session.flush()
        _audit(session, ctx, "accept", loaded, before, grant.client_id)
        # SPEC: a partner user who was an EXTERNAL member of the client has that
        # membership updated once the partnership begins (same transaction).
        await absorb_external_memberships(
            session,
            loaded.partner_organization_id,
            client_id,
            actor_user_id=ctx.viewer.user_id,
        )
        inviting = (
            loaded.partner_organization_id
            if grant.initiated_by is Side.PARTNER
            else grant.client_id
        )
        await _notify(
            session, inviting, "grant_accepted", await _mail_context(session, ctx, loaded)
        )
        return grant

    return await _Run(ctx)(body)


async def _bind_client(
    session: AsyncSession, ctx: RequestContext, loaded: LoadedGrant, organization_id: int | None
) -> None:
    """An invitee without an organization at invite time names the one it accepts for."""
    if organization_id is None:
        raise UseCaseError(
            "ORGANIZATION_REQUIRED",
            "Name the organization that accepts the invitation.",
            "organizationId",
        )
    _acting_role(ctx, organization_id)
    if organization_id == loaded.partner_organization_id:
        raise UseCaseError(
            "CANNOT_INVITE_SELF", "A partner cannot be its own client.", "organizationId"
        )
    if await _live_grant_exists(session, loaded.grant.partner_id, organization_id):
        raise GRANT_EXISTS
    loaded.grant.client_id = organization_id


async def refuse(ctx: RequestContext, *, grant_id: int, token: str | None = None) -> Grant:
    require_writer(ctx)

    async def body(session: AsyncSession) -> Grant:
        if token is not None:
            key = digest(ctx.settings.secret_key.get_secret_value(), token)
            row = await session.scalar(
                select(Grant).where(Grant.invitation_token_hash == key).with_for_update()
            )
            loaded = _visible(ctx, await _load(session, row), token_ok=True)
        else:
            loaded = _visible(ctx, await _load_for_update(session, grant_id))
        before = loaded.snapshot()
        grant = loaded.grant
        if _is_invitee(ctx, grant, token_ok=token is not None):
            # An invitee with no organization refuses for itself.
            status = effective_status(grant.status, grant.invitation_expires_at, ctx.now())
            grant.status = next_status(
                GrantAction.REFUSE,
                status,
                initiated_by=grant.initiated_by,
                actor_side=Side.CLIENT,
                actor_role=Role.LEGAL_REPRESENTATIVE,
            )
        else:
            grant.status = _transition(ctx, loaded, GrantAction.REFUSE)
        grant.ended_at = ctx.now()
        grant.ended_by_user_id = ctx.viewer.user_id
        grant.invitation_token_hash = None
        await session.flush()
        _audit(session, ctx, "refuse", loaded, before, grant.client_id)
        inviting = (
            loaded.partner_organization_id
            if grant.initiated_by is Side.PARTNER
            else grant.client_id
        )
        await _notify(session, inviting, "grant_refused", await _mail_context(session, ctx, loaded))
        return grant

    return await _Run(ctx)(body)


async def resend_invitation(ctx: RequestContext, *, grant_id: int) -> Grant:
    require_writer(ctx)

    async def body(session: AsyncSession) -> Grant:
        loaded = _visible(ctx, await _load_for_update(session, grant_id))
        before = loaded.snapshot()
        grant = loaded.grant
        grant.status = _transition(ctx, loaded, GrantAction.RESEND)
        token = _invitation(ctx, grant)
        grant.invitations_sent += 1
        await session.flush()
        _audit(session, ctx, "resend", loaded, before, _inviting_org(loaded))
        mail = await _mail_context(session, ctx, loaded)
        if grant.initiated_by is Side.PARTNER:
            to = grant.invitee_email
            if to is None:  # bound at invite to a known client: write to its representatives
                await _notify(
                    session,
                    grant.client_id,
                    "grant_invitation_to_client",
                    {**mail, "accept_url": _accept_url(ctx, token)},
                )
            else:
                emit_email(
                    session,
                    to=to,
                    template="grant_invitation_to_client",
                    context={
                        **mail,
                        "accept_url": _accept_url(ctx, token),
                    },
                )
        else:
            await _notify(
                session,
                loaded.partner_organization_id,
                "grant_invitation_to_partner",
                mail,
            )
        return grant

    return await _Run(ctx)(body)


def _inviting_org(loaded: LoadedGrant) -> int | None:
    if loaded.grant.initiated_by is Side.PARTNER:
        return loaded.partner_organization_id
    return loaded.grant.client_id


def _invited_org(loaded: LoadedGrant) -> int | None:
    if loaded.grant.initiated_by is Side.PARTNER:
        return loaded.grant.client_id
    return loaded.partner_organization_id


async def cancel_invitation(ctx: RequestContext, *, grant_id: int) -> Grant:
    require_writer(ctx)

    async def body(session: AsyncSession) -> Grant:
        loaded = _visible(ctx, await _load_for_update(session, grant_id))
        before = loaded.snapshot()
        grant = loaded.grant
        grant.status = _transition(ctx, loaded, GrantAction.CANCEL)
        grant.ended_at = ctx.now()
        grant.ended_by_user_id = ctx.viewer.user_id
        grant.invitation_token_hash = None
        await session.flush()
        _audit(session, ctx, "cancel", loaded, before, _inviting_org(loaded))
        mail = await _mail_context(session, ctx, loaded)
        if grant.client_id is None and grant.invitee_email:
            emit_email(session, to=grant.invitee_email, template="grant_cancelled", context=mail)
        else:
            await _notify(session, _invited_org(loaded), "grant_cancelled", mail)
        return grant

    return await _Run(ctx)(body)


async def edit_access(ctx: RequestContext, *, grant_id: int, access: Access) -> Grant:
    require_writer(ctx)

    async def body(session: AsyncSession) -> Grant:
        loaded = _visible(ctx, await _load_for_update(session, grant_id))
        before = loaded.snapshot()
        grant = loaded.grant
        grant.status = _transition(ctx, loaded, GrantAction.EDIT_ACCESS)
        assert grant.client_id is not None
        validate_access(
            access,
            proposed_by=Side.CLIENT,
            client_product_ids=await _client_product_ids(session, grant.client_id),
        )
        grant.level = access.level
        grant.payment_methods = access.payment_methods
        await _set_products(session, grant, access.product_ids)
        loaded.product_ids = access.product_ids
        await session.flush()
        _audit(session, ctx, "edit_access", loaded, before, grant.client_id)
        mail = await _mail_context(session, ctx, loaded)
        await _notify(session, loaded.partner_organization_id, "grant_access_changed", mail)
        return grant

    return await _Run(ctx)(body)


async def change_payment_methods(
    ctx: RequestContext, *, grant_id: int, payment_methods: Any
) -> Grant:
    require_writer(ctx)

    async def body(session: AsyncSession) -> Grant:
        loaded = _visible(ctx, await _load_for_update(session, grant_id))
        before = loaded.snapshot()
        grant = loaded.grant
        grant.status = _transition(ctx, loaded, GrantAction.CHANGE_PAYMENT_METHODS)
        if grant.level is not AccessLevel.FULL:
            raise GrantError(
                "NOT_FULL_ACCESS",
                "Payment methods are chosen only under a FULL access.",
                "paymentMethods",
            )
        grant.payment_methods = payment_methods
        await session.flush()
        _audit(session, ctx, "change_payment_methods", loaded, before, grant.client_id)
        await _notify(
            session,
            loaded.partner_organization_id,
            "grant_payment_methods_changed",
            await _mail_context(session, ctx, loaded),
        )
        return grant

    return await _Run(ctx)(body)


async def stop_collaboration(ctx: RequestContext, *, grant_id: int, password: str) -> Grant:
    require_writer(ctx)

    async def body(session: AsyncSession) -> Grant:
        loaded = _visible(ctx, await _load_for_update(session, grant_id))
        before = loaded.snapshot()
        grant = loaded.grant
        side, _ = _actor(ctx, loaded, GrantAction.STOP)
        new_status = _transition(ctx, loaded, GrantAction.STOP)
        await check_password(ctx, session, password)
        grant.status = new_status
        grant.ended_at = ctx.now()
        grant.ended_by_user_id = ctx.viewer.user_id
        await session.flush()
        acting = loaded.partner_organization_id if side is Side.PARTNER else grant.client_id
        _audit(session, ctx, "stop", loaded, before, acting)
        other = grant.client_id if side is Side.PARTNER else loaded.partner_organization_id
        mail = await _mail_context(session, ctx, loaded)
        await _notify(session, other, "grant_stopped", mail)
        return grant

    return await _Run(ctx)(body)


__all__ = [
    "InviteTarget",
    "accept",
    "cancel_invitation",
    "change_payment_methods",
    "edit_access",
    "invite",
    "other_side",
    "refuse",
    "resend_invitation",
    "stop_collaboration",
]


async def expire_invitations(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime | None = None
) -> list[int]:
    """Record EXPIRED on pending invitations past their expiry; return their ids.

    Reads and actions already treat them as expired (`effective_status`); this makes it
    durable and audited, and frees the pair for a new invitation. Idempotent.
    """
    moment = now or utcnow()
    async with transaction(sessionmaker) as session:
        due = list(
            await session.scalars(
                select(Grant)
                .where(
                    Grant.status == GrantStatus.PENDING,
                    Grant.invitation_expires_at <= moment,
                )
                .order_by(Grant.id)
                .with_for_update(skip_locked=True)
            )
        )
        for grant in due:
            before = {"status": grant.status.value}
            grant.status = next_status(
                GrantAction.EXPIRE,
                grant.status,
                initiated_by=grant.initiated_by,
                actor_side=None,
                actor_role=None,
            )
            grant.ended_at = moment
            grant.invitation_token_hash = None
            record_audit(
                session,
                action="grant.expire",
                subject_type="Grant",
                subject_id=grant.id,
                actor_user_id=None,
                before=before,
                after={"status": grant.status.value},
            )
    return [grant.id for grant in due]
