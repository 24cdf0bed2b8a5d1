"""A login of the viewer (an auth session), listed in `Viewer.sessions`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from db import models
from resolvers.accounts import sessions
from schema.context import Info
from schema.ids import primary_keys


@strawberry.type(description="A login of the viewer: a bearer token in use somewhere.")
class Session(relay.Node):
    id: relay.NodeID[int]
    created_at: datetime = strawberry.field(description="When it was opened.")
    last_used_at: datetime | None = strawberry.field(
        description="Its last request (to within a few minutes)."
    )
    expires_at: datetime = strawberry.field(description="When it ends by itself.")
    current: bool = strawberry.field(description="The session of this request.")

    @classmethod
    def of(cls, row: models.AuthSession, current_id: int | None) -> Session:
        return cls(
            id=row.id,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            current=row.id == current_id,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Session | None]:
        if info.context.viewer.user_id is None:
            return [None for _ in node_ids]
        live = {row.id: row for row in await sessions.live_sessions(info.context)}
        current = info.context.viewer.session_id
        return [cls.of(live[pk], current) if pk in live else None for pk in primary_keys(node_ids)]


async def viewer_sessions(info: Info) -> list[Session]:
    """`Viewer.sessions`: the viewer's live logins, newest first."""
    if info.context.viewer.user_id is None or info.context.viewer.api_token_id is not None:
        return []
    current = info.context.viewer.session_id
    return [Session.of(row, current) for row in await sessions.live_sessions(info.context)]
