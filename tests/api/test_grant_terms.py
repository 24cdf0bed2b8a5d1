"""Time-bound grants: the client sets an end (and renewal) at invite, accept or
editAccess; both sides are warned 7 days and 1 day before; past its end a grant is
EXPIRED at once, before the job records it; the job expires or renews it. The clock the
job reads is the test's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.relay import GlobalID

from db.models import IntegrationEvent, OutboxMessage
from domain.enums import GrantStatus
from resolvers.grants.terms import end_grant_terms
from tests.api.spine_support import (
    ACCEPT,
    EDIT_ACCESS,
    INVITE,
    grant_row,
    session_tokens,
    update_grant,
    user_errors,
)
from tests.conftest import Api, gid

Maker = async_sessionmaker[AsyncSession]
PARTNER, LAC = "Alpine Web Partners", "Lac Leman Yachts"
STATUS = "query($id: ID!) { node(id: $id) { ... on Grant { status endsAt renewsAutomatically } } }"


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def ending_emails(sm: Maker) -> list[tuple[str, str]]:
    async with sm() as session:
        rows = await session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.actor_name == "send_email")
        )
        return sorted(
            (p["to"], p["context"]["days"]) for p in rows if p["template"] == "grant_ending"
        )


async def kinds(sm: Maker, kind: str) -> list[int]:
    async with sm() as session:
        rows = await session.scalars(
            select(IntegrationEvent.organization_id).where(IntegrationEvent.kind == kind)
        )
        return sorted(rows)


async def bounded_grant(
    api: Api, world: Any, sm: Maker, ends_at: datetime, *, renews: bool = False
) -> tuple[str, int, dict[str, str]]:
    tokens = await session_tokens(sm, ["rep@partner.example", "rep@new.example"])
    invited = await api.ok(
        INVITE,
        {
            "i": {
                "organizationId": gid("Organization", world.organizations[PARTNER]),
                "clientEmail": "rep@new.example",
                "access": {"level": "FULL", "paymentMethods": "CLIENT"},
            }
        },
        token=tokens["rep@partner.example"],
    )
    grant = invited["invite"]["grant"]["id"]
    accepted = await api.ok(
        ACCEPT,
        {"i": {"grantId": grant, "endsAt": iso(ends_at), "renewsAutomatically": renews}},
        token=tokens["rep@new.example"],
    )
    assert user_errors(accepted, "accept") == []
    return grant, int(GlobalID.from_id(grant).node_id), tokens


async def test_warned_7_days_and_1_day_before_then_expired(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    now = datetime.now(UTC)
    ends = now + timedelta(days=10)
    grant, grant_id, tokens = await bounded_grant(api, world, sessionmaker, ends)
    seen = await api.ok(STATUS, {"id": grant}, token=tokens["rep@partner.example"])
    assert seen["node"]["status"] == "ACTIVE"
    assert datetime.fromisoformat(seen["node"]["endsAt"]) == ends
    both = sorted([world.organizations[PARTNER], world.organizations[LAC]])

    assert (await end_grant_terms(sessionmaker, now=now + timedelta(days=2))).warned == []
    run = await end_grant_terms(sessionmaker, now=now + timedelta(days=3, hours=1))
    assert run.warned == [(grant_id, 7)]
    assert await ending_emails(sessionmaker) == [
        ("rep@new.example", "7"),
        ("rep@partner.example", "7"),
    ]
    assert await kinds(sessionmaker, "GRANT_EXPIRING") == both
    # Once per warning, however often the job runs.
    assert (await end_grant_terms(sessionmaker, now=now + timedelta(days=5))).warned == []
    assert (await end_grant_terms(sessionmaker, now=now + timedelta(days=9, hours=1))).warned == [
        (grant_id, 1)
    ]
    assert len(await ending_emails(sessionmaker)) == 4

    run = await end_grant_terms(sessionmaker, now=ends + timedelta(minutes=1))
    assert run.expired == [grant_id]
    row = await grant_row(sessionmaker, grant_id)
    assert row.status is GrantStatus.EXPIRED
    assert await kinds(sessionmaker, "GRANT_EXPIRED") == both
    assert (await end_grant_terms(sessionmaker, now=ends + timedelta(minutes=2))).expired == []


async def test_a_grant_past_its_end_is_expired_at_once(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    now = datetime.now(UTC)
    grant, grant_id, tokens = await bounded_grant(api, world, sessionmaker, now + timedelta(days=1))
    await update_grant(sessionmaker, grant_id, ends_at=now - timedelta(seconds=1))
    # Before any job: the grant reads EXPIRED, the partner no longer sees the client, and
    # the client cannot edit it.
    seen = await api.ok(STATUS, {"id": grant}, token=tokens["rep@partner.example"])
    assert seen["node"]["status"] == "EXPIRED"
    clients = await api.ok(
        "query($id: ID!) { node(id: $id) { ... on Organization { partner {"
        " clients(first: 50) { edges { node { name } } } } } } }",
        {"id": gid("Organization", world.organizations[PARTNER])},
        token=tokens["rep@partner.example"],
    )
    names = [e["node"]["name"] for e in clients["node"]["partner"]["clients"]["edges"]]
    assert LAC not in names
    edited = await api.ok(
        EDIT_ACCESS,
        {"i": {"grantId": grant, "access": {"level": "FULL", "paymentMethods": "PARTNER"}}},
        token=tokens["rep@new.example"],
    )
    assert [e["code"] for e in user_errors(edited, "editAccess")] == ["INVALID_STATE"]


async def test_a_renewing_grant_renews_for_the_same_length(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    now = datetime.now(UTC)
    ends = now + timedelta(days=30)
    grant, grant_id, tokens = await bounded_grant(api, world, sessionmaker, ends, renews=True)
    # Renewing: no warnings; past the end it stays active, and the job rolls it forward.
    assert (await end_grant_terms(sessionmaker, now=ends - timedelta(hours=1))).warned == []
    run = await end_grant_terms(sessionmaker, now=ends + timedelta(minutes=1))
    assert run.renewed == [grant_id]
    row = await grant_row(sessionmaker, grant_id)
    assert row.status is GrantStatus.ACTIVE
    assert row.ends_at is not None
    assert abs(row.ends_at - (ends + timedelta(days=30))) < timedelta(seconds=5)
    # The client stops the renewal and moves the end with editAccess.
    new_end = now + timedelta(days=3)
    edited = await api.ok(
        EDIT_ACCESS,
        {
            "i": {
                "grantId": grant,
                "access": {"level": "FULL", "paymentMethods": "CLIENT"},
                "endsAt": iso(new_end),
                "renewsAutomatically": False,
            }
        },
        token=tokens["rep@new.example"],
    )
    assert user_errors(edited, "editAccess") == []
    seen = await api.ok(STATUS, {"id": grant}, token=tokens["rep@new.example"])
    assert seen["node"]["renewsAutomatically"] is False
    assert datetime.fromisoformat(seen["node"]["endsAt"]) == new_end
    # Omitting both keeps them; null removes the end.
    kept = await api.ok(
        EDIT_ACCESS,
        {"i": {"grantId": grant, "access": {"level": "FULL", "paymentMethods": "CLIENT"}}},
        token=tokens["rep@new.example"],
    )
    assert user_errors(kept, "editAccess") == []
    assert (await grant_row(sessionmaker, grant_id)).ends_at is not None
    cleared = await api.ok(
        EDIT_ACCESS,
        {
            "i": {
                "grantId": grant,
                "access": {"level": "FULL", "paymentMethods": "CLIENT"},
                "endsAt": None,
            }
        },
        token=tokens["rep@new.example"],
    )
    assert user_errors(cleared, "editAccess") == []
    assert (await grant_row(sessionmaker, grant_id)).ends_at is None


async def test_only_the_client_sets_an_end_in_the_future(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    tokens = await session_tokens(sessionmaker, ["rep@partner.example", "rep@new.example"])
    by_partner = await api.ok(
        INVITE,
        {
            "i": {
                "organizationId": gid("Organization", world.organizations[PARTNER]),
                "clientEmail": "rep@new.example",
                "access": {"level": "FULL", "paymentMethods": "CLIENT"},
                "endsAt": iso(datetime.now(UTC) + timedelta(days=5)),
            }
        },
        token=tokens["rep@partner.example"],
    )
    assert [e["code"] for e in user_errors(by_partner, "invite")] == ["TERM_SET_BY_CLIENT"]
    invited = await api.ok(
        INVITE,
        {
            "i": {
                "organizationId": gid("Organization", world.organizations[PARTNER]),
                "clientEmail": "rep@new.example",
                "access": {"level": "FULL", "paymentMethods": "CLIENT"},
            }
        },
        token=tokens["rep@partner.example"],
    )
    grant = invited["invite"]["grant"]["id"]
    past = await api.ok(
        ACCEPT,
        {"i": {"grantId": grant, "endsAt": iso(datetime.now(UTC) - timedelta(days=1))}},
        token=tokens["rep@new.example"],
    )
    assert [e["code"] for e in user_errors(past, "accept")] == ["END_IN_PAST"]
    renewing = await api.ok(
        ACCEPT,
        {"i": {"grantId": grant, "renewsAutomatically": True}},
        token=tokens["rep@new.example"],
    )
    assert [e["code"] for e in user_errors(renewing, "accept")] == ["END_REQUIRED"]
