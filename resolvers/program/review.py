"""Program use cases: the yearly review of the partners' managed volume.

Each partner is reviewed in its own transaction with its audit event and its emails
(outbox); rules are in `domain.program`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Grant, GrantProduct, Organization, Partner, PartnerReview, Product, utcnow
from db.queries import legal_representative_emails
from db.session import transaction
from domain.enums import AccessLevel, GrantStatus, PartnerStatus, ProductStatus
from domain.pricing import Catalog, default_catalog
from domain.program import ManagedProduct, review_volume
from resolvers.events import emit_email, record_audit

logger = logging.getLogger(__name__)


REVIEW_CHUNK = 500


@dataclass
class ReviewSummary:
    year: int
    reviewed: int = 0
    flagged: int = 0
    already_reviewed: int = 0
    flagged_partner_ids: list[int] = field(default_factory=list)


async def _managed_products(
    session: AsyncSession, partner_ids: Sequence[int]
) -> dict[int, list[ManagedProduct]]:
    """Active products each partner manages under its ACTIVE grants."""
    found: dict[int, list[ManagedProduct]] = defaultdict(list)
    full = (
        select(Grant.partner_id, Product.kind, Product.quantity)
        .join(Product, Product.organization_id == Grant.client_id)
        .where(
            Grant.partner_id.in_(partner_ids),
            Grant.status == GrantStatus.ACTIVE,
            Grant.level == AccessLevel.FULL,
            Product.status == ProductStatus.ACTIVE,
        )
    )
    limited = (
        select(Grant.partner_id, Product.kind, Product.quantity)
        .join(GrantProduct, GrantProduct.grant_id == Grant.id)
        .join(Product, Product.id == GrantProduct.product_id)
        .where(
            Grant.partner_id.in_(partner_ids),
            Grant.status == GrantStatus.ACTIVE,
            Grant.level == AccessLevel.LIMITED,
            Product.status == ProductStatus.ACTIVE,
        )
    )
    for stmt in (full, limited):
        for partner_id, kind, quantity in await session.execute(stmt):
            found[partner_id].append(ManagedProduct(kind=kind, quantity=quantity))
    return found


async def _review_one(
    sessionmaker: async_sessionmaker[AsyncSession],
    partner_id: int,
    organization_id: int,
    year: int,
    now: datetime,
    catalog: Catalog,
) -> bool | None:
    """Review one partner in its own transaction: True flagged, False fine, None done."""
    try:
        async with transaction(sessionmaker) as session:
            if (
                await session.scalar(
                    select(PartnerReview.id).where(
                        PartnerReview.partner_id == partner_id, PartnerReview.year == year
                    )
                )
                is not None
            ):
                return None
            org = await session.get(Organization, organization_id)
            assert org is not None
            products = (await _managed_products(session, [partner_id])).get(partner_id, [])
            result = review_volume(products, org.currency, catalog)
            below = result.below_minimum
            emails = await legal_representative_emails(session, organization_id) if below else []
            review = PartnerReview(
                partner_id=partner_id,
                year=year,
                currency=org.currency,
                managed_volume=result.volume.amount,
                minimum_volume=result.minimum.amount,
                flagged_below_minimum_at=now if below else None,
                notified_emails=emails,
                created_at=now,
            )
            session.add(review)
            await session.flush()
            if below:
                record_audit(
                    session,
                    action="partner.review_flagged",
                    subject_type="PartnerReview",
                    subject_id=review.id,
                    actor_user_id=None,
                    organization_id=organization_id,
                    after={
                        "partner_id": partner_id,
                        "year": year,
                        "managed_volume_minor": result.volume.to_minor_units(),
                        "minimum_minor": result.minimum.to_minor_units(),
                        "currency": org.currency.value,
                    },
                )
                for address in emails:
                    emit_email(
                        session,
                        to=address,
                        template="partner_review_below_minimum",
                        context={
                            "organization_name": org.name,
                            "year": str(year),
                            "managed_volume": str(result.volume),
                            "minimum_volume": str(result.minimum),
                        },
                        dedupe_key=f"partner_review:{partner_id}:{year}:{address}",
                    )
            if result.unpriced_kinds:
                logger.warning(
                    "partner %s review: products without a list price: %s",
                    partner_id,
                    ", ".join(result.unpriced_kinds),
                )
            return below
    except IntegrityError:  # a concurrent run reviewed it first
        return None


async def run_yearly_review(
    sessionmaker: async_sessionmaker[AsyncSession],
    year: int,
    *,
    now: datetime | None = None,
    catalog: Catalog | None = None,
    after_commit: Callable[[], None] | None = None,
) -> ReviewSummary:
    """Review every ACTIVE partner once for `year`: store its managed volume, flag and
    notify (email its legal representatives) those below CHF 2000 / EUR 1800. Deletes
    and suspends nothing.

    Idempotent per (partner, year): a partner already reviewed is skipped, a concurrent
    run loses on the unique key, emails carry a dedupe key. Each partner commits alone,
    so a crash resumes where it stopped. The volume is a snapshot at run time (see
    `domain.program`).
    """
    moment = now or utcnow()
    prices = catalog or default_catalog()
    summary = ReviewSummary(year=year)
    last_id = 0
    while True:
        async with sessionmaker() as session:
            rows = (
                await session.execute(
                    select(Partner.id, Partner.organization_id)
                    .where(Partner.status == PartnerStatus.ACTIVE, Partner.id > last_id)
                    .order_by(Partner.id)
                    .limit(REVIEW_CHUNK)
                )
            ).all()
        if not rows:
            break
        last_id = rows[-1][0]
        for partner_id, organization_id in rows:
            outcome = await _review_one(
                sessionmaker, partner_id, organization_id, year, moment, prices
            )
            if outcome is None:
                summary.already_reviewed += 1
                continue
            summary.reviewed += 1
            if outcome:
                summary.flagged += 1
                summary.flagged_partner_ids.append(partner_id)
        if after_commit is not None:
            after_commit()
    return summary
