"""Grant use cases: accept and refuse, by the invited side or the invitee holding the
emailed token. Each runs in one transaction with its audit event and its emails."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Grant
from domain.enums import AccessLevel, Role, Side
from domain.grants import (
    NO_TERM,
    Access,
    GrantAction,
    Term,
    next_status,
    validate_access,
    validate_term,
)
from domain.integration_events import EventKind
from resolvers.auth import require_writer
from resolvers.context import RequestContext
from resolvers.errors import UseCaseError
from resolvers.grants.common import (
    GRANT_EXISTS,
    LoadedGrant,
    _acting_role,
    _apply_term,
    _audit,
    _client_product_ids,
    _event,
    _is_invitee,
    _live_grant_exists,
    _load,
    _load_for_update,
    _Run,
    _set_products,
    _transition,
    _visible,
    grant_status,
)
from resolvers.grants.emails import _mail_context, _notify
from resolvers.program import absorb_external_memberships
from resolvers.program.collaborators import end_collaborator_rights
from resolvers.tokens import digest


async def accept(
    ctx: RequestContext,
    *,
    grant_id: int | None,
    token: str | None,
    organization_id: int | None,
    access: Access | None,
    term: Term = NO_TERM,
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
        # Only the client bounds the grant in time: here when it accepts a partner's request.
        validate_term(
            term,
            set_by=Side.CLIENT if grant.initiated_by is Side.PARTNER else Side.PARTNER,
            now=ctx.now(),
        )
        if term != NO_TERM:
            _apply_term(grant, term, ctx.now())
        grant.status = new_status
        grant.level = granted.level
        grant.payment_methods = granted.payment_methods
        grant.accepted_at = ctx.now()
        grant.invitation_token_hash = None
        await _set_products(session, grant, granted.product_ids)
        loaded.product_ids = granted.product_ids
        await session.flush()
        _audit(session, ctx, "accept", loaded, before, grant.client_id)
        await _event(session, ctx.now(), EventKind.GRANT_ACCEPTED, loaded)
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
            status = grant_status(grant, ctx.now())
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
        if grant.client_id is not None:  # collaborators' rights on the client end with it
            await end_collaborator_rights(
                session,
                partner_organization_id=loaded.partner_organization_id,
                client_id=grant.client_id,
            )
        _audit(session, ctx, "refuse", loaded, before, grant.client_id)
        await _event(session, ctx.now(), EventKind.GRANT_REFUSED, loaded)
        inviting = (
            loaded.partner_organization_id
            if grant.initiated_by is Side.PARTNER
            else grant.client_id
        )
        await _notify(session, inviting, "grant_refused", await _mail_context(session, ctx, loaded))
        return grant

    return await _Run(ctx)(body)
