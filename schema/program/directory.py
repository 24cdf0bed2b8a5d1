"""The partner directory and a partner's listing in it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from domain.program import DirectoryTagKind
from resolvers import directory as directory_cases
from resolvers.directory import ListingView
from schema.base import ProductFamily, UserError, product_families
from schema.context import Info
from schema.ids import primary_keys
from schema.types import Partner


@strawberry.type(
    description="A partner's entry in the partner directory. Its languages, regions and "
    "product families are also what the partner receives bids for, published or not."
)
class DirectoryEntry(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="The partner's name.")
    description: str = strawberry.field(description="What the partner offers.")
    website: str | None = strawberry.field(description="The partner's website.")
    languages: list[str] = strawberry.field(description="ISO 639-1 codes, e.g. fr, de.")
    regions: list[str] = strawberry.field(description="ISO 3166 codes, e.g. CH, CH-VD.")
    product_families: list[ProductFamily] = strawberry.field(description="What it sells.")
    verified: bool = strawberry.field(
        description="Admitted through an accepted application (registration number and "
        "website checked)."
    )
    published: bool = strawberry.field(
        description="Shown in the public directory (bids are matched on the listing either way)."
    )
    updated_at: datetime = strawberry.field(description="Last edited.")
    partner_id: strawberry.Private[int]

    @classmethod
    def of(cls, view: ListingView) -> DirectoryEntry:
        row = view.listing
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            website=row.website,
            languages=view.values(DirectoryTagKind.LANGUAGE),
            regions=view.values(DirectoryTagKind.REGION),
            product_families=product_families(view.values(DirectoryTagKind.PRODUCT_FAMILY)),
            verified=view.verified,
            published=row.published,
            updated_at=row.updated_at,
            partner_id=row.partner_id,
        )

    @strawberry.field(
        description="The partner; a client invites it with `invite(input: {partnerId})`."
    )
    async def partner(self, info: Info) -> Partner:
        row = await info.context.loaders.partner.load(self.partner_id)
        return Partner.of(row)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[DirectoryEntry | None]:
        ids = primary_keys(node_ids)
        views = await directory_cases.load_listings(info.context, [i for i in ids if i is not None])
        return [cls.of(views[i]) if i is not None and i in views else None for i in ids]


@strawberry.input(description="Edit the partner's directory listing; omitted fields stay.")
class UpdateDirectoryListingInput:
    partner_id: relay.GlobalID = strawberry.field(description="The partner.")
    published: bool | None = strawberry.field(
        default=None,
        description="Opt in (true) or out (false) of the public directory; bids are matched "
        "on the languages, regions and product families either way.",
    )
    description: str | None = strawberry.field(default=None, description="At most 2000 chars.")
    website: str | None = strawberry.field(default=None, description="Empty string: none.")
    languages: list[str] | None = strawberry.field(default=None, description="ISO 639-1.")
    regions: list[str] | None = strawberry.field(
        default=None,
        description="ISO 3166 countries or subdivisions; a country covers its subdivisions "
        "(CH: found by, and receives bids for, CH-VD).",
    )
    product_families: list[ProductFamily] | None = strawberry.field(
        default=None, description="The catalog families it sells."
    )


@strawberry.type(description="The listing after the change, or why nothing changed.")
class UpdateDirectoryListingPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    entry: DirectoryEntry | None = strawberry.field(default=None, description="The listing.")
