"""Bid matching: the SQL of ``domain.bids.matches`` (which active partners receive a bid).

The partner's profile
    A partner receives bids for the languages, regions and product families of its
    directory listing (``directory_listing_tags``, edited by ``updateDirectoryListing``),
    whether or not the listing is published: publication only decides what the public
    directory shows. There is no separate bid profile. The tags carry the listing's
    ``partner_id`` (kept equal by a composite foreign key) so that the candidates come from
    ``ix_directory_listing_tags_kind_value_partner (kind, value, partner_id, listing_id)``
    alone, in partner id order: an index-only range scan for the plan and for each chunk.
    (Joining ``directory_listings`` for the partner id instead would make every chunk
    either scan all of the language's candidates or walk the listings by partner id
    including those not taking the language: its work would no longer be bounded by
    ``chunk_size``.) Languages are lower-case ISO 639-1 codes, regions upper-case ISO 3166
    codes, families catalog families on both sides (``domain.program`` cleans them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Bid, DirectoryListingTag, Membership, Partner
from domain.bids import BidCriteria, region_keys
from domain.enums import PartnerStatus
from domain.program import DirectoryTagKind

Tag = DirectoryListingTag


def _has(kind: DirectoryTagKind, values: Sequence[str]) -> Any:
    """The partner's listing names one of ``values`` (published or not): a probe of
    ``(kind, value, partner_id)``."""
    return exists().where(Tag.partner_id == Partner.id, Tag.kind == kind, Tag.value.in_(values))


def matching_partners(criteria: BidCriteria, author_user_id: int | None) -> Select[Any]:
    """The ids of the active partners that receive a bid with these criteria.

    The profile is the partner's directory listing, published or not. A partner the
    author is a member of never receives the author's own bid.
    """
    stmt = select(Partner.id).where(
        Partner.status == PartnerStatus.ACTIVE,
        _has(DirectoryTagKind.LANGUAGE, [criteria.language]),
        _has(DirectoryTagKind.REGION, region_keys(criteria.region)),
        _has(DirectoryTagKind.PRODUCT_FAMILY, sorted(criteria.families)),
    )
    if author_user_id is not None:
        stmt = stmt.where(
            ~exists().where(
                Membership.organization_id == Partner.organization_id,
                Membership.user_id == author_user_id,
            )
        )
    return stmt


def criteria_of(bid: Bid) -> BidCriteria:
    return BidCriteria(bid.language, bid.region, frozenset(bid.product_families))


async def count_matching(
    session: AsyncSession, criteria: BidCriteria, author_user_id: int | None
) -> int:
    inner = matching_partners(criteria, author_user_id).subquery()
    return int(await session.scalar(select(func.count()).select_from(inner)) or 0)
