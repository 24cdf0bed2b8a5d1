"""Grant use cases over a grant's life: resend and cancel an invitation, stop a
collaboration, and expire overdue invitations. Each runs in one transaction with its
audit event and its emails."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Grant, utcnow
from db.session import transaction
from domain.enums import GrantStatus, Side
from domain.grants import GrantAction, next_status
from domain.integration_events import EventKind
from resolvers.auth import check_password, require_writer
from resolvers.context import RequestContext
from resolvers.events import emit_email, record_audit
from resolvers.grants.common import (
    LoadedGrant,
    _actor,
    _audit,
    _event,
    _invitation,
    _load,
    _load_for_update,
    _Run,
    _transition,
    _visible,
)
from resolvers.grants.emails import _accept_url, _mail_context, _notify
from resolvers.program.collaborators import end_collaborator_rights


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
        if grant.client_id is not None:
            await end_collaborator_rights(
                session,
                partner_organization_id=loaded.partner_organization_id,
                client_id=grant.client_id,
            )
        _audit(session, ctx, "cancel", loaded, before, _inviting_org(loaded))
        await _event(session, ctx.now(), EventKind.GRANT_CANCELLED, loaded)
        mail = await _mail_context(session, ctx, loaded)
        if grant.client_id is None and grant.invitee_email:
            emit_email(session, to=grant.invitee_email, template="grant_cancelled", context=mail)
        else:
            await _notify(session, _invited_org(loaded), "grant_cancelled", mail)
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
        if grant.client_id is not None:  # collaborators' rights on the client end with it
            await end_collaborator_rights(
                session,
                partner_organization_id=loaded.partner_organization_id,
                client_id=grant.client_id,
            )
        acting = loaded.partner_organization_id if side is Side.PARTNER else grant.client_id
        _audit(session, ctx, "stop", loaded, before, acting)
        await _event(session, ctx.now(), EventKind.GRANT_STOPPED, loaded)
        other = grant.client_id if side is Side.PARTNER else loaded.partner_organization_id
        mail = await _mail_context(session, ctx, loaded)
        await _notify(session, other, "grant_stopped", mail)
        return grant

    return await _Run(ctx)(body)


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
            loaded = await _load(session, grant)
            assert loaded is not None
            if grant.client_id is not None:
                await end_collaborator_rights(
                    session,
                    partner_organization_id=loaded.partner_organization_id,
                    client_id=grant.client_id,
                )
            record_audit(
                session,
                action="grant.expire",
                subject_type="Grant",
                subject_id=grant.id,
                actor_user_id=None,
                before=before,
                after={"status": grant.status.value},
            )
            await _event(session, moment, EventKind.GRANT_EXPIRED, loaded)
    return [grant.id for grant in due]
