"""Time-bound grants (SPEC "Time-bound access"): warn both sides 7 days and 1 day before
the end, then expire the grant, or renew it for the same length when it renews itself.

Reads and actions already treat a grant past its end as EXPIRED
(``domain.grants.effective_status``, ``db.queries.grant_in_term``); this job makes it
durable and audited, ends the collaborators' rights, and sends the warnings and events.
Idempotent: each warning is sent once per term, each end recorded once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Grant
from db.queries import organization_name
from db.session import transaction
from domain.enums import GrantStatus
from domain.grants import END_WARNING_DAYS, renewed_end, warning_due
from domain.integration_events import EventKind
from resolvers.events import record_audit
from resolvers.grants.common import LoadedGrant, _event, _load
from resolvers.grants.emails import _notify
from resolvers.program.collaborators import end_collaborator_rights


@dataclass
class TermsRun:
    expired: list[int] = field(default_factory=list)
    renewed: list[int] = field(default_factory=list)
    warned: list[tuple[int, int]] = field(default_factory=list)


def _audit(grant: Grant, session: AsyncSession, action: str, before: dict[str, object]) -> None:
    record_audit(
        session,
        action=f"grant.{action}",
        subject_type="Grant",
        subject_id=grant.id,
        actor_user_id=None,
        organization_id=grant.client_id,
        before=before,
        after={
            "status": grant.status.value,
            "ends_at": grant.ends_at.isoformat() if grant.ends_at else None,
        },
    )


async def _warn(session: AsyncSession, loaded: LoadedGrant, days: int, now: datetime) -> None:
    grant = loaded.grant
    assert grant.ends_at is not None
    context = {
        "partner_name": await organization_name(session, loaded.partner_organization_id),
        "client_name": await organization_name(session, grant.client_id),
        "ends_at": grant.ends_at.strftime("%Y-%m-%d %H:%M UTC"),
        "days": str(days),
    }
    for organization_id in (loaded.partner_organization_id, grant.client_id):
        await _notify(session, organization_id, "grant_ending", context)
    grant.end_warning_days_sent = days
    await _event(session, now, EventKind.GRANT_EXPIRING, loaded)


async def _end(session: AsyncSession, loaded: LoadedGrant, now: datetime, run: TermsRun) -> None:
    grant = loaded.grant
    assert grant.ends_at is not None
    before: dict[str, object] = {"status": grant.status.value, "ends_at": grant.ends_at.isoformat()}
    if grant.renews_automatically:
        start = grant.term_started_at or grant.accepted_at or grant.created_at
        grant.term_started_at, grant.ends_at = renewed_end(grant.ends_at, start, now)
        grant.end_warning_days_sent = None
        _audit(grant, session, "renew", before)
        run.renewed.append(grant.id)
        return
    grant.status = GrantStatus.EXPIRED
    grant.ended_at = grant.ends_at
    if grant.client_id is not None:
        await end_collaborator_rights(
            session,
            partner_organization_id=loaded.partner_organization_id,
            client_id=grant.client_id,
        )
    _audit(grant, session, "expire", before)
    await _event(session, now, EventKind.GRANT_EXPIRED, loaded)
    run.expired.append(grant.id)


async def end_grant_terms(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime
) -> TermsRun:
    """Warn, expire and renew the active grants whose end is near or past."""
    run = TermsRun()
    horizon = now + timedelta(days=max(END_WARNING_DAYS))
    async with transaction(sessionmaker) as session:
        due = list(
            await session.scalars(
                select(Grant)
                .where(
                    Grant.status == GrantStatus.ACTIVE,
                    Grant.ends_at.is_not(None),
                    Grant.ends_at <= horizon,
                )
                .order_by(Grant.id)
                .with_for_update(skip_locked=True)
            )
        )
        for grant in due:
            loaded = await _load(session, grant)
            assert loaded is not None
            assert grant.ends_at is not None
            if grant.ends_at <= now:
                await _end(session, loaded, now, run)
                continue
            days = warning_due(
                grant.ends_at, grant.renews_automatically, grant.end_warning_days_sent, now
            )
            if days is not None:
                await _warn(session, loaded, days, now)
                run.warned.append((grant.id, days))
    return run
