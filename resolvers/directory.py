"""The public partner directory: a partner edits its listing; anyone searches it.

Search: `search_text LIKE '%term%'` (lower-cased name, description and website; a
pg_trgm GIN index on PostgreSQL), filters as semi-joins on `directory_listing_tags`
(any of the values within a kind, every kind given), keyset pages on the listing id.
Shown: published listings of ACTIVE partners. `verified`: the partner was admitted
through an accepted application (registration number and website checked).

The listing's languages, regions and product families are also the partner's profile for
bids (``resolvers.bids`` matches bids on them), whether or not the listing is published:
publication only decides what the public directory shows. The region rule is the same on
both sides (``domain.program.region_search_values``: a listing serving ``CH`` is found by,
and receives bids for, ``CH-VD``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    DirectoryListing,
    DirectoryListingTag,
    Organization,
    Partner,
    PartnerApplication,
)
from db.session import transaction
from domain.access import Viewer
from domain.enums import PartnerStatus
from domain.program import (
    MAX_DESCRIPTION,
    ApplicationStatus,
    DirectoryTagKind,
    Reason,
    clean_families,
    clean_languages,
    clean_regions,
    like_pattern,
    listing_search_text,
    normalize_website,
    region_search_values,
)
from resolvers.auth import require_user
from resolvers.context import RequestContext
from resolvers.errors import UseCaseError, not_found
from resolvers.events import record_audit
from resolvers.grants import KNOWN_FAMILIES
from resolvers.pagination import Page, PageRequest, fetch_page
from resolvers.program import require_legal_representative
from resolvers.validation import clean_text

MAX_FILTER_VALUES = 20


@dataclass
class ListingView:
    listing: DirectoryListing
    partner_organization_id: int
    verified: bool
    tags: dict[DirectoryTagKind, list[str]] = field(default_factory=dict)

    def values(self, kind: DirectoryTagKind) -> list[str]:
        return list(self.tags.get(kind, []))


@dataclass
class ListingChanges:
    """What `updateDirectoryListing` changes; None leaves a field as it is."""

    published: bool | None = None
    description: str | None = None
    website: str | None = None
    languages: list[str] | None = None
    regions: list[str] | None = None
    product_families: list[str] | None = None


async def _views(session: AsyncSession, listings: Sequence[DirectoryListing]) -> list[ListingView]:
    """Tags, partner organization and verified flag of listings: three queries."""
    if not listings:
        return []
    ids = [listing.id for listing in listings]
    partner_ids = {listing.partner_id for listing in listings}
    tags: dict[int, dict[DirectoryTagKind, list[str]]] = defaultdict(lambda: defaultdict(list))
    for listing_id, kind, value in await session.execute(
        select(DirectoryListingTag.listing_id, DirectoryListingTag.kind, DirectoryListingTag.value)
        .where(DirectoryListingTag.listing_id.in_(ids))
        .order_by(
            DirectoryListingTag.listing_id, DirectoryListingTag.kind, DirectoryListingTag.value
        )
    ):
        tags[listing_id][kind].append(value)
    orgs: dict[int, int] = {
        partner_id: org_id
        for partner_id, org_id in await session.execute(
            select(Partner.id, Partner.organization_id).where(Partner.id.in_(partner_ids))
        )
    }
    verified = set(
        await session.scalars(
            select(PartnerApplication.partner_id).where(
                PartnerApplication.partner_id.in_(partner_ids),
                PartnerApplication.status == ApplicationStatus.ACCEPTED,
            )
        )
    )
    return [
        ListingView(
            listing=listing,
            partner_organization_id=orgs[listing.partner_id],
            verified=listing.partner_id in verified,
            tags={k: list(v) for k, v in tags.get(listing.id, {}).items()},
        )
        for listing in listings
    ]


def _filter_values(values: Sequence[str] | None, field_name: str) -> Sequence[str]:
    if values is None:
        return ()
    if len(values) > MAX_FILTER_VALUES:
        raise UseCaseError(
            "TOO_MANY_VALUES", f"Filter on at most {MAX_FILTER_VALUES} values.", field_name
        )
    return values


def directory_statement(
    *,
    search: str | None = None,
    languages: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
    product_families: Sequence[str] | None = None,
) -> Select[Any]:
    """The directory query before paging (also printed by bench/directory_search.py)."""
    stmt = (
        select(DirectoryListing)
        .join(Partner, Partner.id == DirectoryListing.partner_id)
        # Bare column: matches the partial indexes' predicate (`WHERE published`).
        .where(DirectoryListing.published, Partner.status == PartnerStatus.ACTIVE)
    )
    pattern = like_pattern(search)
    if pattern is not None:
        stmt = stmt.where(DirectoryListing.search_text.like(pattern, escape="\\"))
    filters: list[tuple[DirectoryTagKind, Sequence[str]]] = [
        (
            DirectoryTagKind.LANGUAGE,
            clean_languages(_filter_values(languages, "languages"), "languages"),
        ),
        (
            DirectoryTagKind.REGION,
            region_search_values(clean_regions(_filter_values(regions, "regions"), "regions")),
        ),
        (
            DirectoryTagKind.PRODUCT_FAMILY,
            clean_families(
                _filter_values(product_families, "productFamilies"),
                KNOWN_FAMILIES,
                "productFamilies",
            ),
        ),
    ]
    for kind, values in filters:
        if values:
            stmt = stmt.where(
                DirectoryListing.id.in_(
                    select(DirectoryListingTag.listing_id).where(
                        DirectoryListingTag.kind == kind, DirectoryListingTag.value.in_(values)
                    )
                )
            )
    return stmt


async def search_directory(
    ctx: RequestContext,
    request: PageRequest,
    *,
    search: str | None = None,
    languages: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
    product_families: Sequence[str] | None = None,
) -> Page[ListingView]:
    """One page of the public directory; no authentication needed."""
    stmt = directory_statement(
        search=search, languages=languages, regions=regions, product_families=product_families
    )
    async with ctx.services.sessionmaker() as session:
        page = await fetch_page(session, stmt, DirectoryListing.id, request)
        views = await _views(session, page.items)
    return page.replace(views)


def visible_listing(viewer: Viewer, view: ListingView, partner_status: PartnerStatus) -> bool:
    """Published listings of active partners to anyone; its own listing to the partner."""
    if viewer.is_member(view.partner_organization_id):
        return True
    return view.listing.published and partner_status is PartnerStatus.ACTIVE


async def load_listings(ctx: RequestContext, ids: Sequence[int]) -> dict[int, ListingView]:
    """Listings by ID that the viewer may see (for `node(id:)`)."""
    if not ids:
        return {}
    async with ctx.services.sessionmaker() as session:
        rows = list(
            await session.scalars(select(DirectoryListing).where(DirectoryListing.id.in_(ids)))
        )
        views = await _views(session, rows)
        statuses: dict[int, PartnerStatus] = {
            partner_id: status
            for partner_id, status in await session.execute(
                select(Partner.id, Partner.status).where(
                    Partner.id.in_({r.partner_id for r in rows})
                )
            )
        }
    return {
        v.listing.id: v
        for v in views
        if visible_listing(ctx.viewer, v, statuses[v.listing.partner_id])
    }


def _snapshot(listing: DirectoryListing, tags: dict[DirectoryTagKind, list[str]]) -> dict[str, Any]:
    return {
        "published": listing.published,
        "description": listing.description,
        "website": listing.website,
        "languages": tags.get(DirectoryTagKind.LANGUAGE, []),
        "regions": tags.get(DirectoryTagKind.REGION, []),
        "product_families": tags.get(DirectoryTagKind.PRODUCT_FAMILY, []),
    }


async def update_directory_listing(
    ctx: RequestContext, *, partner_id: int, changes: ListingChanges
) -> ListingView:
    """A partner's legal representative creates or edits its listing and opts in or out.

    The languages, regions and product families saved here are also what the partner
    receives bids for, published or not (``published`` only controls the directory).
    """
    user_id = require_user(ctx)
    # Validate everything before opening the transaction: a bad field writes nothing.
    description = (
        None
        if changes.description is None
        else clean_text(
            changes.description, "description", max_length=MAX_DESCRIPTION, required=False
        )
    )
    website: str | None = None
    if changes.website is not None and changes.website.strip():
        normalized = normalize_website(changes.website)
        if isinstance(normalized, Reason):
            raise UseCaseError(normalized.code, normalized.message, normalized.field)
        website = normalized
    new_tags: dict[DirectoryTagKind, tuple[str, ...]] = {}
    if changes.languages is not None:
        new_tags[DirectoryTagKind.LANGUAGE] = clean_languages(changes.languages)
    if changes.regions is not None:
        new_tags[DirectoryTagKind.REGION] = clean_regions(changes.regions)
    if changes.product_families is not None:
        new_tags[DirectoryTagKind.PRODUCT_FAMILY] = clean_families(
            changes.product_families, KNOWN_FAMILIES
        )
    try:
        async with transaction(ctx.services.sessionmaker) as session:
            partner = await session.get(Partner, partner_id)
            if partner is None:
                raise not_found("partnerId")
            require_legal_representative(ctx, partner.organization_id)
            if partner.status is not PartnerStatus.ACTIVE:
                raise UseCaseError(
                    "PARTNER_NOT_ACTIVE", "A suspended partner cannot edit its listing.", None
                )
            org = await session.get(Organization, partner.organization_id)
            assert org is not None
            listing = await session.scalar(
                select(DirectoryListing)
                .where(DirectoryListing.partner_id == partner_id)
                .with_for_update()
            )
            created = listing is None
            if listing is None:
                listing = DirectoryListing(
                    partner_id=partner_id,
                    published=False,
                    name=org.name,
                    description="",
                    website=org.website,
                    search_text="",
                    created_at=ctx.now(),
                    updated_at=ctx.now(),
                )
                session.add(listing)
                await session.flush()
            views = await _views(session, [listing])
            tags = views[0].tags
            before = None if created else _snapshot(listing, tags)
            if changes.published is not None:
                listing.published = changes.published
            if description is not None:
                listing.description = description
            if changes.website is not None:
                listing.website = website
            for kind, values in new_tags.items():
                await session.execute(
                    delete(DirectoryListingTag).where(
                        DirectoryListingTag.listing_id == listing.id,
                        DirectoryListingTag.kind == kind,
                    )
                )
                session.add_all(
                    DirectoryListingTag(
                        listing_id=listing.id, partner_id=listing.partner_id, kind=kind, value=v
                    )
                    for v in values
                )
                tags[kind] = sorted(values)
            listing.name = org.name
            listing.search_text = listing_search_text(
                listing.name, listing.description, listing.website
            )
            listing.updated_at = ctx.now()
            await session.flush()
            record_audit(
                session,
                action="directory_listing." + ("create" if created else "update"),
                subject_type="DirectoryListing",
                subject_id=listing.id,
                actor_user_id=user_id,
                organization_id=partner.organization_id,
                before=before,
                after=_snapshot(listing, tags),
            )
            view = (await _views(session, [listing]))[0]
    except IntegrityError as exc:  # two first edits at once
        raise UseCaseError(
            "CONFLICT", "The listing changed at the same time; try again.", None
        ) from exc
    return view
