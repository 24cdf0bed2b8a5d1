"""Pending invitations past their expiry: EXPIRED at once on read, recorded by the job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.relay import GlobalID

from db.models import utcnow
from resolvers.grants import expire_invitations
from tests.api.spine_support import (
    INVITE,
    audit_events,
    grant_row,
    session_token,
    update_grant,
    user_errors,
)
from tests.conftest import Api, gid

Maker = async_sessionmaker[AsyncSession]


async def test_expired_invitation_is_recorded_once_and_frees_the_pair(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    partner = await session_token(sessionmaker, "rep@partner.example")
    invite = {
        "i": {
            "organizationId": gid("Organization", world.organizations["Alpine Web Partners"]),
            "clientEmail": "rep@new.example",
            "access": {"level": "FULL", "paymentMethods": "CLIENT"},
        }
    }
    data = await api.ok(INVITE, invite, token=partner)
    assert user_errors(data, "invite") == []
    grant_id = int(GlobalID.from_id(data["invite"]["grant"]["id"]).node_id)

    # Not yet due: the job leaves it alone, and a second invitation is refused.
    assert await expire_invitations(sessionmaker) == []
    again = await api.ok(INVITE, invite, token=partner)
    assert [e["code"] for e in user_errors(again, "invite")] == ["GRANT_EXISTS"]

    await update_grant(
        sessionmaker, grant_id, invitation_expires_at=utcnow() - timedelta(seconds=1)
    )
    seen = await api.ok(
        "query($id: ID!) { node(id: $id) { ... on Grant { status } } }",
        {"id": gid("Grant", grant_id)},
        token=partner,
    )
    assert seen["node"]["status"] == "EXPIRED"  # before the job has run

    assert await expire_invitations(sessionmaker) == [grant_id]
    assert await expire_invitations(sessionmaker) == []
    row = await grant_row(sessionmaker, grant_id)
    assert row.status.value == "EXPIRED"
    assert row.invitation_token_hash is None
    expiries = [e for e in await audit_events(sessionmaker) if e.action == "grant.expire"]
    assert [(e.subject_id, e.before, e.after) for e in expiries] == [
        (grant_id, {"status": "PENDING"}, {"status": "EXPIRED"})
    ]

    fresh = await api.ok(INVITE, invite, token=partner)
    assert user_errors(fresh, "invite") == []
