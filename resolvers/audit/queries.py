"""The audit trail, newest first, filtered by kind, actor, grant and period; each event as
the viewer may read it (`domain.audit`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ApiToken, AuditEvent, Grant, Partner, User
from domain.access import Viewer
from domain.audit import may_read_grant_trail, may_read_trail, visible_states
from resolvers.context import RequestContext, Services
from resolvers.errors import UseCaseError
from resolvers.pagination import Page, PageRequest, fetch_page

GRANT = "Grant"


@dataclass(frozen=True)
class AuditFilter:
    kinds: frozenset[str] = frozenset()
    actor_user_id: int | None = None
    grant_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def check(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise UseCaseError("INVALID_PERIOD", "`since` must not be after `until`.", "since")


@dataclass(frozen=True)
class AuditEventView:
    id: int
    occurred_at: datetime
    kind: str
    actor_kind: str  # USER, API_TOKEN or SYSTEM
    actor_name: str | None
    actor_user_id: int | None
    organization_id: int | None
    subject_type: str
    subject_id: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    extra: dict[str, Any] = field(default_factory=dict)


def _grants_of(organization_id: int) -> Select[Any]:
    return (
        select(Grant.id)
        .join(Partner, Partner.id == Grant.partner_id)
        .where(or_(Grant.client_id == organization_id, Partner.organization_id == organization_id))
    )


def _filtered(stmt: Select[Any], audit_filter: AuditFilter) -> Select[Any]:
    if audit_filter.kinds:
        stmt = stmt.where(AuditEvent.action.in_(sorted(audit_filter.kinds)))
    if audit_filter.actor_user_id is not None:
        stmt = stmt.where(AuditEvent.actor_user_id == audit_filter.actor_user_id)
    if audit_filter.grant_id is not None:
        stmt = stmt.where(
            AuditEvent.subject_type == GRANT, AuditEvent.subject_id == audit_filter.grant_id
        )
    if audit_filter.since is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= audit_filter.since)
    if audit_filter.until is not None:
        stmt = stmt.where(AuditEvent.occurred_at < audit_filter.until)
    return stmt


def organization_trail(organization_id: int, audit_filter: AuditFilter) -> Select[Any]:
    """The events that concern the organization: its own, and its grants' (both sides)."""
    concerns = or_(
        AuditEvent.organization_id == organization_id,
        and_(
            AuditEvent.subject_type == GRANT, AuditEvent.subject_id.in_(_grants_of(organization_id))
        ),
    )
    return _filtered(select(AuditEvent).where(concerns), audit_filter)


def grant_trail(grant_id: int, audit_filter: AuditFilter) -> Select[Any]:
    stmt = select(AuditEvent).where(
        AuditEvent.subject_type == GRANT, AuditEvent.subject_id == grant_id
    )
    return _filtered(stmt, audit_filter)


async def _views(
    session: AsyncSession, viewer: Viewer, events: Sequence[AuditEvent]
) -> list[AuditEventView]:
    user_ids = {e.actor_user_id for e in events if e.actor_user_id is not None}
    token_ids = {e.actor_api_token_id for e in events if e.actor_api_token_id is not None}
    users = (
        dict(
            (
                await session.execute(select(User.id, User.full_name).where(User.id.in_(user_ids)))
            ).all()
        )
        if user_ids
        else {}
    )
    tokens = (
        dict(
            (
                await session.execute(
                    select(ApiToken.id, ApiToken.name).where(ApiToken.id.in_(token_ids))
                )
            ).all()
        )
        if token_ids
        else {}
    )
    views = []
    for event in events:
        before, after = visible_states(viewer, event.before, event.after)
        if event.actor_api_token_id is not None:
            kind, name = "API_TOKEN", tokens.get(event.actor_api_token_id)
        elif event.actor_user_id is not None:
            kind, name = "USER", users.get(event.actor_user_id)
        else:
            kind, name = "SYSTEM", None
        views.append(
            AuditEventView(
                id=event.id,
                occurred_at=event.occurred_at,
                kind=event.action,
                actor_kind=kind,
                actor_name=name,
                actor_user_id=event.actor_user_id,
                organization_id=event.organization_id,
                subject_type=event.subject_type,
                subject_id=event.subject_id,
                before=before,
                after=after,
            )
        )
    return views


async def _newest_first(
    session: AsyncSession, viewer: Viewer, stmt: Select[Any], request: PageRequest
) -> Page[AuditEventView]:
    page = await fetch_page(session, stmt, AuditEvent.id, request, descending=True)
    return page.replace(await _views(session, viewer, page.items))


async def organization_events(
    ctx: RequestContext, organization_id: int, audit_filter: AuditFilter, request: PageRequest
) -> Page[AuditEventView]:
    """Legal representatives and administrators only (others get an empty page; the
    schema answers them FORBIDDEN before this runs)."""
    audit_filter.check()
    if not may_read_trail(ctx.viewer.role_in(organization_id)):
        return Page.empty()
    async with ctx.services.sessionmaker() as session:
        return await _newest_first(
            session, ctx.viewer, organization_trail(organization_id, audit_filter), request
        )


async def grant_events(
    ctx: RequestContext,
    grant_id: int,
    partner_organization_id: int,
    client_organization_id: int | None,
    audit_filter: AuditFilter,
    request: PageRequest,
) -> Page[AuditEventView]:
    audit_filter.check()
    if not may_read_grant_trail(ctx.viewer, partner_organization_id, client_organization_id):
        return Page.empty()
    async with ctx.services.sessionmaker() as session:
        return await _newest_first(
            session, ctx.viewer, grant_trail(grant_id, audit_filter), request
        )


async def stream_organization_events(
    services: Services, viewer: Viewer, organization_id: int, *, batch: int = 500
) -> AsyncIterator[list[AuditEventView]]:
    """Every event of the organization's trail the viewer reads, newest first, in batches
    (one short session each, so a long export holds no connection between batches)."""
    before_id: int | None = None
    while True:
        async with services.sessionmaker() as session:
            stmt = organization_trail(organization_id, AuditFilter())
            if before_id is not None:
                stmt = stmt.where(AuditEvent.id < before_id)
            rows = list(
                (await session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(batch))).all()
            )
            views = await _views(session, viewer, rows)
        if not views:
            return
        yield views
        before_id = views[-1].id
        if len(rows) < batch:
            return
