"""The yearly review of a partner's managed volume."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.base import Money


@strawberry.type(description="The yearly review of a partner's managed volume.")
class PartnerReview:
    year: int = strawberry.field(description="The review's year.")
    managed_volume: Money = strawberry.field(
        description="List price x quantity x 12 of the products managed under ACTIVE grants."
    )
    minimum_volume: Money = strawberry.field(description="CHF 2000 / EUR 1800 a year.")
    flagged_below_minimum_at: datetime | None = strawberry.field(
        description="Set when the volume was below the minimum; nothing is deleted."
    )
