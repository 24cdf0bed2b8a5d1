"""The yearly review of a partner's managed volume."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import strawberry
from sqlalchemy import select
from strawberry import relay

from db import models
from resolvers import support as support_cases
from schema.base import Money
from schema.context import Info
from schema.ids import primary_keys


@strawberry.type(description="The yearly review of a partner's managed volume.")
class PartnerReview(relay.Node):
    id: relay.NodeID[int]
    year: int = strawberry.field(description="The review's year.")
    managed_volume: Money = strawberry.field(
        description="List price x quantity x 12 of the products managed under ACTIVE grants."
    )
    minimum_volume: Money = strawberry.field(description="CHF 2000 / EUR 1800 a year.")
    flagged_below_minimum_at: datetime | None = strawberry.field(
        description="Set when the volume was below the minimum; nothing is deleted."
    )

    @classmethod
    def of(cls, row: models.PartnerReview) -> PartnerReview:
        return cls(
            id=row.id,
            year=row.year,
            managed_volume=Money(amount=Decimal(row.managed_volume), currency=row.currency),
            minimum_volume=Money(amount=Decimal(row.minimum_volume), currency=row.currency),
            flagged_below_minimum_at=row.flagged_below_minimum_at,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[PartnerReview | None]:
        """Visible to the partner's legal representatives and administrators only."""
        ids = primary_keys(node_ids)
        async with info.context.services.sessionmaker() as session:
            rows = await session.execute(
                select(models.PartnerReview, models.Partner.organization_id)
                .join(models.Partner, models.Partner.id == models.PartnerReview.partner_id)
                .where(models.PartnerReview.id.in_([i for i in ids if i is not None]))
            )
            found = {
                review.id: review
                for review, organization_id in rows
                if support_cases.may_manage_support(info.context, organization_id)
            }
        return [cls.of(found[i]) if i in found else None for i in ids]
