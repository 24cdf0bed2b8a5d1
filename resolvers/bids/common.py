"""Bid helpers shared by the use cases: who acts for a partner, locks, audit, emails.

Roles
    On the partner side, legal representatives and administrators see received bids and
    make offers; collaborators and external members do not. The profile is the listing's,
    edited by a legal representative (the directory's rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Bid, Membership, Organization, Partner, User
from db.queries import id_in
from db.session import is_sqlite
from domain.enums import Role
from domain.money import Currency, Money
from resolvers.context import RequestContext
from resolvers.errors import not_found
from resolvers.events import record_audit

#: Who acts for a partner on bids.
PARTNER_ROLES = frozenset({Role.LEGAL_REPRESENTATIVE, Role.ADMINISTRATOR})


def _insert(session: AsyncSession, table: Any) -> Any:
    """INSERT with ON CONFLICT support for the session's dialect."""
    return (sqlite.insert if is_sqlite(session) else postgresql.insert)(table)


async def _lock_bid(session: AsyncSession, bid_id: int) -> Bid | None:
    """The bid, locked for this transaction (two awards or an award and an offer serialize).

    SQLite: a first write takes the database write lock (a first read would let two
    transactions decide on the same snapshot); PostgreSQL: ``SELECT ... FOR UPDATE``.
    """
    if is_sqlite(session):
        await session.execute(
            update(Bid)
            .where(Bid.id == bid_id)
            .values(updated_at=Bid.updated_at)
            .execution_options(synchronize_session=False)
        )
    return await session.scalar(
        select(Bid)
        .where(Bid.id == bid_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _snapshot(bid: Bid) -> dict[str, Any]:
    return {
        "status": bid.status.value,
        "matching_partners": bid.matching_partners,
        "awarded_offer_id": bid.awarded_offer_id,
        "verified": bid.verified_at is not None,
    }


def _audit(
    session: AsyncSession,
    ctx: RequestContext | None,
    action: str,
    bid: Bid,
    before: dict[str, Any] | None,
    *,
    organization_id: int | None = None,
) -> None:
    record_audit(
        session,
        action=f"bid.{action}",
        subject_type="Bid",
        subject_id=bid.id,
        actor_user_id=ctx.viewer.user_id if ctx else None,
        actor_api_token_id=ctx.viewer.api_token_id if ctx else None,
        organization_id=organization_id,
        before=before,
        after=_snapshot(bid),
    )


def _money_text(amount: Decimal, currency: Currency) -> str:
    return str(Money(amount, currency).rounded())


def _is_person(ctx: RequestContext) -> bool:
    return ctx.viewer.user_id is not None and ctx.viewer.api_token_id is None


async def _acting_partner(session: AsyncSession, ctx: RequestContext, partner_id: int) -> Partner:
    """The partner the viewer acts for on bids (legal representative or administrator)."""
    partner = await session.get(Partner, partner_id)
    if partner is None or ctx.viewer.role_in(partner.organization_id) not in PARTNER_ROLES:
        raise not_found("partnerId")
    return partner


async def _representatives(
    session: AsyncSession, partner_ids: Sequence[int]
) -> dict[int, tuple[str, list[str]]]:
    """Partner id -> (organization name, legal representatives' emails)."""
    if not partner_ids:
        return {}
    # Plain rows (Core): a chunk reads a thousand partners' names and emails.
    connection = await session.connection()
    rows = await connection.execute(
        select(Partner.id, Organization.name, User.email)
        .join(Organization, Organization.id == Partner.organization_id)
        .join(Membership, Membership.organization_id == Partner.organization_id)
        .join(User, User.id == Membership.user_id)
        .where(
            id_in(session, Partner.id, partner_ids),
            Membership.role == Role.LEGAL_REPRESENTATIVE,
        )
        .order_by(Partner.id, User.email)
    )
    found: dict[int, tuple[str, list[str]]] = {}
    for partner_id, name, email in rows.all():
        found.setdefault(partner_id, (name, []))[1].append(email)
    return found
