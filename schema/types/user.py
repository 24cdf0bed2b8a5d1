"""A person with an account."""

from __future__ import annotations

from collections.abc import Iterable

import strawberry
from strawberry import relay

from db import models
from schema.context import Info
from schema.types.loading import _load_visible


@strawberry.type(description="A person with an account.")
class User(relay.Node):
    id: relay.NodeID[int]
    email: str = strawberry.field(description="The login email, lower-cased.")
    full_name: str = strawberry.field(description="The person's name.")

    @classmethod
    def of(cls, row: models.User) -> User:
        return cls(id=row.id, email=row.email, full_name=row.full_name)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[User | None]:
        async def visible(info: Info, row: models.User) -> User | None:
            return cls.of(row) if row.id == info.context.viewer.user_id else None

        return await _load_visible(info, info.context.loaders.user, node_ids, visible)
