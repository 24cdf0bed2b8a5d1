"""What every grant use case shares: the constants and errors, loading a grant with its
products, deciding who acts and what the state machine allows, auditing, and running
each use case in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from db.models import ApiToken, Grant, GrantProduct, Partner, Product
from db.session import transaction
from domain.access import GrantFacts, can_see_grant
from domain.enums import GrantStatus, Role, Side
from domain.grants import (
    LIVE_STATUSES,
    GrantAction,
    Term,
    effective_status,
    next_status,
    require_legal_representative,
    sides_allowed,
)
from domain.integration_events import EventFacts, EventKind
from domain.pricing import default_catalog
from resolvers.context import RequestContext
from resolvers.errors import UNAUTHENTICATED, UseCaseError, not_found
from resolvers.events import record_audit
from resolvers.integration_events import record_event
from resolvers.integration_events.views import grant_view
from resolvers.tokens import digest, new_secret

INVITATION_PREFIX = "pgi"
KNOWN_FAMILIES = frozenset(spec.family for spec in default_catalog().products.values())

GRANT_EXISTS = UseCaseError(
    "GRANT_EXISTS",
    "A pending or active partnership already links these organizations.",
    None,
)
CONFLICT = UseCaseError("CONFLICT", "The partnership changed at the same time; try again.", None)


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
            "ends_at": g.ends_at.isoformat() if g.ends_at else None,
            "renews_automatically": bool(g.renews_automatically),
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


def grant_status(grant: Grant, now: datetime) -> GrantStatus:
    """The grant's status in effect: expired once past its invitation's expiry or its end."""
    return effective_status(
        grant.status, grant.invitation_expires_at, now, grant.ends_at, grant.renews_automatically
    )


def _transition(ctx: RequestContext, loaded: LoadedGrant, action: GrantAction) -> GrantStatus:
    side, role = _actor(ctx, loaded, action)
    status = grant_status(loaded.grant, ctx.now())
    return next_status(
        action, status, initiated_by=loaded.grant.initiated_by, actor_side=side, actor_role=role
    )


async def _event(
    session: AsyncSession, now: datetime, kind: EventKind, loaded: LoadedGrant
) -> None:
    """The integration event of a grant change, to both sides (in the same transaction)."""
    facts = loaded.facts
    await record_event(
        session,
        kind,
        subject_type="Grant",
        subject_id=loaded.grant.id,
        facts=EventFacts(
            partner_organization_id=loaded.partner_organization_id,
            client_organization_id=loaded.grant.client_id,
        ),
        view=lambda org: grant_view(facts, loaded.grant, org),
        now=now,
    )


def _apply_term(grant: Grant, term: Term, now: datetime) -> None:
    """Set (or clear) the grant's end; a new term is warned about afresh."""
    grant.ends_at = term.ends_at
    grant.renews_automatically = term.renews_automatically
    grant.term_started_at = now if term.ends_at is not None else None
    grant.end_warning_days_sent = None


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
