"""Live subscriptions over graphql-transport-ws, with two API processes sharing Redis:
an event committed through one reaches the subscribers of the other, only those who may
read it; typed subscriptions; revoking the session ends its subscriptions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from resolvers.demo import seed_demo
from tests.api.spine_support import ACCEPT, INVITE, session_tokens
from tests.conftest import RedisSpace, gid
from tests.integration.api_servers import api_processes

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
Maker = async_sessionmaker[AsyncSession]
PARTNER, LAC, BERGBAHN = "Alpine Web Partners", "Lac Leman Yachts", "Bergbahn AG"
EVENTS = "subscription($k: [EventKind!]) { events(kinds: $k) { id kind organizationId payload } }"
WAIT = 15.0


class Live:
    """One graphql-transport-ws connection."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, base: str, token: str | None) -> Live:
        ws = await websockets.connect(
            base.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"]
        )
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        return cls(ws)

    async def acked(self) -> None:
        message = json.loads(await asyncio.wait_for(self.ws.recv(), WAIT))
        assert message["type"] == "connection_ack", message

    async def subscribe(
        self, query: str, variables: dict[str, Any] | None = None, op: str = "1"
    ) -> None:
        await self.ws.send(
            json.dumps(
                {
                    "id": op,
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables or {}},
                }
            )
        )

    async def next(self, wait: float = WAIT) -> dict[str, Any]:
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), wait))
            if message["type"] != "ping":
                return dict(message)


@pytest.fixture
async def world_db(pg_url: str, sm: Maker) -> AsyncIterator[tuple[str, Any]]:
    from sqlalchemy import text

    from db.models import Base

    async with sm() as session, session.begin():
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        await session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return pg_url, await seed_demo(sm)


@pytest.fixture
def servers(world_db: tuple[str, Any], redis_space: RedisSpace) -> Iterator[list[str]]:
    with api_processes(2, world_db[0], redis_space) as urls:
        yield urls


async def gql(base: str, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"authorization": f"Bearer {token}"},
        )
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body
    return body


async def test_events_cross_processes_to_who_may_read_them(
    servers: list[str], world_db: tuple[str, Any], sm: Maker
) -> None:
    first, second = servers
    world = world_db[1]
    tokens = await session_tokens(
        sm, ["rep@partner.example", "rep@new.example", "rep@limited.example"]
    )
    partner = await Live.open(second, tokens["rep@partner.example"])
    outsider = await Live.open(second, tokens["rep@limited.example"])
    client = await Live.open(first, tokens["rep@new.example"])
    for live in (partner, outsider, client):
        await live.acked()
    await partner.subscribe(EVENTS)
    await outsider.subscribe(EVENTS)
    await client.subscribe(EVENTS, {"k": ["GRANT_ACCEPTED"]})
    await asyncio.sleep(0.5)  # the subscriptions are registered on the bus

    invited = await gql(
        first,
        tokens["rep@partner.example"],
        INVITE,
        {
            "i": {
                "organizationId": gid("Organization", world.organizations[PARTNER]),
                "clientEmail": "rep@new.example",
                "access": {"level": "FULL", "paymentMethods": "CLIENT"},
            }
        },
    )
    grant = invited["data"]["invite"]["grant"]["id"]
    got = await partner.next()
    assert got["type"] == "next", got
    event = got["payload"]["data"]["events"]
    assert event["kind"] == "GRANT_INVITED"
    assert event["payload"]["data"]["id"] == grant
    assert event["organizationId"] == gid("Organization", world.organizations[PARTNER])

    # The client asked only for acceptances: it gets the acceptance, not the invitation.
    await gql(second, tokens["rep@new.example"], ACCEPT, {"i": {"grantId": grant}})
    accepted = (await client.next())["payload"]["data"]["events"]
    assert accepted["kind"] == "GRANT_ACCEPTED"
    assert accepted["organizationId"] == gid("Organization", world.organizations[LAC])
    assert (await partner.next())["payload"]["data"]["events"]["kind"] == "GRANT_ACCEPTED"
    # Another organization's subscriber received none of it.
    with pytest.raises(TimeoutError):
        await outsider.next(wait=1.5)
    for live in (partner, outsider, client):
        await live.ws.close()


async def test_typed_subscriptions_and_revocation(
    servers: list[str], world_db: tuple[str, Any], sm: Maker
) -> None:
    first, second = servers
    world = world_db[1]
    tokens = await session_tokens(sm, ["rep@partner.example", "rep@new.example"])
    invited = await gql(
        first,
        tokens["rep@partner.example"],
        INVITE,
        {
            "i": {
                "organizationId": gid("Organization", world.organizations[PARTNER]),
                "clientEmail": "rep@new.example",
                "access": {"level": "FULL", "paymentMethods": "CLIENT"},
            }
        },
    )
    grant = invited["data"]["invite"]["grant"]["id"]

    watcher = await Live.open(first, tokens["rep@partner.example"])
    await watcher.acked()
    await watcher.subscribe(
        "subscription($g: ID!) { grantChanged(grantId: $g) { id status } }", {"g": grant}
    )
    await asyncio.sleep(0.5)
    await gql(second, tokens["rep@new.example"], ACCEPT, {"i": {"grantId": grant}})
    changed = await watcher.next()
    assert changed["payload"]["data"]["grantChanged"] == {"id": grant, "status": "ACTIVE"}

    # A grant the subscriber may not see answers as missing.
    stranger = await Live.open(second, tokens["rep@new.example"])
    await stranger.acked()
    await stranger.subscribe(
        "subscription($g: ID!) { grantChanged(grantId: $g) { id } }",
        {"g": gid("Grant", world.grants[BERGBAHN])},
    )
    refused = await stranger.next()
    assert refused["type"] in {"error", "next"}
    errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["NOT_FOUND"]

    # Logging out ends the session's subscriptions, on the other process too.
    await gql(
        second,
        tokens["rep@partner.example"],
        "mutation { logout(input: {everywhere: false}) { userErrors { code } } }",
        {},
    )
    ended = await watcher.next()
    assert ended["type"] in {"next", "error", "complete"}
    if ended["type"] != "complete":
        payload = ended["payload"]
        errors = payload if isinstance(payload, list) else payload["errors"]
        assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"]

    # A connection without a valid token is refused.
    anonymous = await Live.open(first, None)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await anonymous.next()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403
    await watcher.ws.close()
    await stranger.ws.close()
