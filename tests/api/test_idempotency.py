"""Idempotency-Key on mutations: the first answer again within 24 h (marked), another
input refused, two at once run once, nothing kept when nothing ran."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AuditEvent, Grant, IdempotencyKey, Order, utcnow
from tests.api.spine_support import INVITE, session_tokens
from tests.conftest import Api, gid

Maker = async_sessionmaker[AsyncSession]
PARTNER = "Alpine Web Partners"
PLACE = (
    "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { userErrors { code } order { id } } }"
)


async def post(
    api: Api, token: str, key: str | None, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"}
    if key is not None:
        headers["idempotency-key"] = key
    response = await api.client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def invitation(world: Any, email: str) -> dict[str, Any]:
    return {
        "i": {
            "organizationId": gid("Organization", world.organizations[PARTNER]),
            "clientEmail": email,
            "access": {"level": "FULL", "paymentMethods": "CLIENT"},
        }
    }


async def count(sm: Maker, model: Any) -> int:
    async with sm() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_retry_answers_the_first_response_marked_in_extensions(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    token = (await session_tokens(sessionmaker, ["rep@partner.example"]))["rep@partner.example"]
    audits = await count(sessionmaker, AuditEvent)
    first = await post(api, token, "k-1", INVITE, invitation(world, "a@shop.example"))
    again = await post(api, token, "k-1", INVITE, invitation(world, "a@shop.example"))
    assert first["data"]["invite"]["userErrors"] == []
    assert first["extensions"]["idempotency"] == {"key": "k-1", "replayed": False}
    assert again["extensions"]["idempotency"] == {"key": "k-1", "replayed": True}
    assert again["data"] == first["data"]
    assert await count(sessionmaker, Grant) == len(world.grants) + 1
    assert await count(sessionmaker, AuditEvent) == audits + 1
    # Without the header the same mutation runs again (and is refused: the grant exists).
    plain = await post(api, token, None, INVITE, invitation(world, "a@shop.example"))
    assert [e["code"] for e in plain["data"]["invite"]["userErrors"]] == ["GRANT_EXISTS"]
    assert "extensions" not in plain or "idempotency" not in plain["extensions"]


async def test_the_same_key_with_another_input_is_refused(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    token = (await session_tokens(sessionmaker, ["rep@partner.example"]))["rep@partner.example"]
    await post(api, token, "k-2", INVITE, invitation(world, "a@shop.example"))
    other = await post(api, token, "k-2", INVITE, invitation(world, "b@shop.example"))
    assert other["data"] is None
    assert [e["extensions"]["code"] for e in other["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert await count(sessionmaker, Grant) == len(world.grants) + 1


async def test_keys_belong_to_their_principal_and_last_24_hours(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    tokens = await session_tokens(sessionmaker, ["rep@partner.example", "admin@partner.example"])
    rep = tokens["rep@partner.example"]
    await post(api, rep, "k-3", INVITE, invitation(world, "a@shop.example"))
    # Another person's key of the same name is its own: its request runs (and is refused).
    theirs = await post(
        api, tokens["admin@partner.example"], "k-3", INVITE, invitation(world, "a@shop.example")
    )
    assert theirs["extensions"]["idempotency"]["replayed"] is False
    assert theirs["data"]["invite"]["userErrors"][0]["code"] in {"GRANT_EXISTS", "ROLE_NOT_ALLOWED"}
    # 24 hours later the key is forgotten: the same request runs again.
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    later = await post(api, rep, "k-3", INVITE, invitation(world, "a@shop.example"))
    assert later["extensions"]["idempotency"]["replayed"] is False
    assert [e["code"] for e in later["data"]["invite"]["userErrors"]] == ["GRANT_EXISTS"]


async def test_two_at_once_run_once(api: Api, world: Any, sessionmaker: Maker) -> None:
    token = (await session_tokens(sessionmaker, ["rep@partner.example"]))["rep@partner.example"]
    answers = await asyncio.gather(
        *(
            post(api, token, "k-race", INVITE, invitation(world, "race@shop.example"))
            for _ in range(5)
        )
    )
    assert len({repr(a["data"]) for a in answers}) == 1
    assert answers[0]["data"]["invite"]["userErrors"] == []
    assert (
        sorted(a["extensions"]["idempotency"]["replayed"] for a in answers) == [False] + [True] * 4
    )
    assert await count(sessionmaker, Grant) == len(world.grants) + 1


async def test_orders_keep_the_header_key_as_their_idempotency_key(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    token = (await session_tokens(sessionmaker, ["rep@full.example"]))["rep@full.example"]
    order = {
        "i": {
            "organizationId": gid("Organization", world.organizations["Favre Chocolatier"]),
            "productKind": "web_hosting",
            "quantity": 2,
        }
    }
    first = await post(api, token, "order-1", PLACE, order)
    again = await post(api, token, "order-1", PLACE, order)
    assert first["data"]["placeOrder"]["userErrors"] == []
    assert again["data"] == first["data"]
    async with sessionmaker() as session:
        keys = list(await session.scalars(select(Order.idempotency_key)))
    assert keys.count("order-1") == 1
    # The deprecated input field still works the same way.
    legacy = {"i": {**order["i"], "idempotencyKey": "legacy-1"}}
    one = await post(api, token, None, PLACE, legacy)
    two = await post(api, token, None, PLACE, legacy)
    assert one["data"]["placeOrder"]["order"]["id"] == two["data"]["placeOrder"]["order"]["id"]


async def test_queries_and_anonymous_requests_are_not_keyed(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    token = (await session_tokens(sessionmaker, ["rep@partner.example"]))["rep@partner.example"]
    read = await post(api, token, "k-q", "{ viewer { email } }", {})
    assert "idempotency" not in (read.get("extensions") or {})
    assert await count(sessionmaker, IdempotencyKey) == 0


async def test_expired_keys_are_purged(api: Api, world: Any, sessionmaker: Maker) -> None:
    from resolvers.idempotency import purge_expired

    token = (await session_tokens(sessionmaker, ["rep@partner.example"]))["rep@partner.example"]
    await post(api, token, "k-old", INVITE, invitation(world, "a@shop.example"))
    assert await purge_expired(sessionmaker, utcnow()) == 0
    assert await purge_expired(sessionmaker, utcnow() + timedelta(hours=24, seconds=1)) == 1
    assert await count(sessionmaker, IdempotencyKey) == 0
