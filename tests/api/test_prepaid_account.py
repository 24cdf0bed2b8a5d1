"""A partner's prepaid account over GraphQL: billing members only, entries with filters."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import OutboxMessage
from db.session import transaction
from resolvers import ledger
from tests.conftest import Api, gid, login
from workers.cashback import credit_cashback_handler
from workers.outbox import process_once

PARTNER = "Alpine Web Partners"
FAVRE = "Favre Chocolatier"
BERGBAHN = "Bergbahn AG"

ACCOUNT = """
query($org: ID!, $client: ID, $from: DateTime, $to: DateTime, $first: Int, $after: String) {
  prepaidAccount(organizationId: $org) {
    currency
    currencies
    balance { amount currency }
    entries(clientId: $client, from: $from, to: $to, first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node {
        id kind createdAt memo orderId clientName correctsEntryId
        amount { amount currency }
      } }
    }
  }
}
"""


async def seed_credits(sm: async_sessionmaker[AsyncSession], world: Any) -> dict[str, int]:
    """Cashback for orders 501 (Favre), 502 (Bergbahn), 503 (Favre); 502 is corrected."""
    orgs = world.organizations
    ids: dict[str, int] = {}
    async with transaction(sm) as session:
        for order_id, client, minor in [(501, FAVRE, 6944), (502, BERGBAHN, 1000), (503, FAVRE, 5)]:
            result = await ledger.credit_cashback(
                session,
                order_id,
                world.partner_id,
                minor,
                "CHF",
                client_organization_id=orgs[client],
            )
            assert result.entry_id is not None
            ids[str(order_id)] = result.entry_id
    async with transaction(sm) as session:
        ids["correction"] = await ledger.correct_entry(session, ids["502"])
    return ids


def nodes(data: Any) -> list[dict[str, Any]]:
    return [e["node"] for e in data["prepaidAccount"]["entries"]["edges"]]


async def test_billing_members_see_the_balance_and_every_entry(
    api: Api, world: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await seed_credits(sessionmaker, world)
    org = gid("Organization", world.organizations[PARTNER])
    for email in ["rep@partner.example", "admin@partner.example"]:
        token = await login(api, email)
        data = await api.ok(ACCOUNT, {"org": org}, token=token)
        account = data["prepaidAccount"]
        assert account["currency"] == "CHF"
        assert account["currencies"] == ["CHF"]
        # 69.44 + 10.00 + 0.05 - 10.00: the sum of the entries.
        assert account["balance"] == {"amount": "69.49", "currency": "CHF"}
        listed = nodes(data)
        assert sum(Decimal(n["amount"]["amount"]) for n in listed) == Decimal("69.49")
        assert [
            (n["kind"], n["orderId"], n["clientName"], n["amount"]["amount"]) for n in listed
        ] == [
            ("CASHBACK", gid("Order", 501), FAVRE, "69.44"),
            ("CASHBACK", gid("Order", 502), BERGBAHN, "10.00"),
            ("CASHBACK", gid("Order", 503), FAVRE, "0.05"),
            ("CORRECTION", gid("Order", 502), BERGBAHN, "-10.00"),
        ]
        assert listed[3]["correctsEntryId"] == gid("LedgerEntry", ids["502"])
        assert listed[0]["id"] == gid("LedgerEntry", ids["501"])


async def test_entries_filter_by_client_and_period_and_paginate(
    api: Api, world: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await seed_credits(sessionmaker, world)
    token = await login(api, "rep@partner.example")
    org = gid("Organization", world.organizations[PARTNER])

    favre = gid("Client", world.grants[FAVRE])
    data = await api.ok(ACCOUNT, {"org": org, "client": favre}, token=token)
    assert [n["orderId"] for n in nodes(data)] == [gid("Order", 501), gid("Order", 503)]

    every = nodes(await api.ok(ACCOUNT, {"org": org}, token=token))
    middle = every[1]["createdAt"]
    later = nodes(await api.ok(ACCOUNT, {"org": org, "from": middle}, token=token))
    earlier = nodes(await api.ok(ACCOUNT, {"org": org, "to": middle}, token=token))
    assert [n["id"] for n in earlier + later] == [n["id"] for n in every]
    assert later[0]["id"] == every[1]["id"]

    page1 = await api.ok(ACCOUNT, {"org": org, "first": 3}, token=token)
    info = page1["prepaidAccount"]["entries"]["pageInfo"]
    assert info["hasNextPage"] is True
    page2 = await api.ok(ACCOUNT, {"org": org, "first": 3, "after": info["endCursor"]}, token=token)
    assert [n["id"] for n in nodes(page1) + nodes(page2)] == [n["id"] for n in every]
    assert page2["prepaidAccount"]["entries"]["pageInfo"]["hasNextPage"] is False


async def test_others_are_forbidden_and_bad_filters_are_errors(
    api: Api, world: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await seed_credits(sessionmaker, world)
    org = gid("Organization", world.organizations[PARTNER])

    for email in ["collab@partner.example", "rep@full.example"]:
        token = await login(api, email)
        result = await api.gql(ACCOUNT, {"org": org}, token=token)
        assert result.data == {"prepaidAccount": None}
        assert result.error_codes() == ["FORBIDDEN"]
        node = await api.ok(
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": gid("LedgerEntry", ids["501"])},
            token=token,
        )
        assert node == {"node": None}

    anonymous = await api.gql(ACCOUNT, {"org": org})
    assert anonymous.data == {"prepaidAccount": None}
    assert anonymous.error_codes() == ["UNAUTHENTICATED"]

    # A client's own (non-partner) organization has no prepaid account.
    client = await login(api, "rep@full.example")
    own = gid("Organization", world.organizations[FAVRE])
    assert await api.ok(ACCOUNT, {"org": own}, token=client) == {"prepaidAccount": None}

    rep = await login(api, "rep@partner.example")
    seen = await api.ok(
        "query($id: ID!) { node(id: $id) { ... on LedgerEntry { memo amount { amount } } } }",
        {"id": gid("LedgerEntry", ids["501"])},
        token=rep,
    )
    assert seen["node"] == {"memo": "Cashback for order 501", "amount": {"amount": "69.44"}}
    for client_id, code in [
        (gid("Client", 999_999), "NOT_FOUND"),
        (gid("Organization", world.organizations[FAVRE]), "INVALID_ID"),
    ]:
        result = await api.gql(ACCOUNT, {"org": org, "client": client_id}, token=rep)
        assert result.error_codes() == [code]
        assert result.data == {"prepaidAccount": None} or result.data is None


PLACE = """mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
  userErrors { code } order { id } } }"""


async def run_cashback_worker(sm: async_sessionmaker[AsyncSession]) -> list[bool]:
    """What the worker does with every credit_cashback row, each delivered twice."""
    async with sm() as session:
        ids = list(
            await session.scalars(
                select(OutboxMessage.id).where(OutboxMessage.actor_name == "credit_cashback")
            )
        )
    return [
        await process_once(outbox_id, credit_cashback_handler, sessionmaker=sm)
        for outbox_id in ids + ids
    ]


async def test_an_order_through_the_api_and_the_worker_lands_on_the_prepaid_account(
    api: Api, world: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The client orders 35 web hostings (SPEC: public price, the partner gets cashback);
    the partner, ordering for that client under FULL + PARTNER methods, gets nothing."""
    client = await login(api, "rep@full.example")
    rep = await login(api, "rep@partner.example")
    order = {"productKind": "web_hosting", "quantity": 35, "productName": "shop"}
    by_client = await api.ok(
        PLACE,
        {"i": {**order, "organizationId": gid("Organization", world.organizations[FAVRE])}},
        token=client,
    )
    by_partner = await api.ok(
        PLACE,
        {
            "i": {
                **order,
                "organizationId": gid("Organization", world.organizations[PARTNER]),
                "clientId": gid("Client", world.grants[FAVRE]),
            }
        },
        token=rep,
    )
    assert by_client["placeOrder"]["userErrors"] == []
    assert by_partner["placeOrder"]["userErrors"] == []

    assert await run_cashback_worker(sessionmaker) == [True, False]  # one event, once

    data = await api.ok(
        ACCOUNT, {"org": gid("Organization", world.organizations[PARTNER])}, token=rep
    )
    assert data["prepaidAccount"]["balance"] == {"amount": "52.08", "currency": "CHF"}
    [entry] = nodes(data)
    assert entry["orderId"] == by_client["placeOrder"]["order"]["id"]
    assert entry["clientName"] == FAVRE
    assert entry["amount"] == {"amount": "52.08", "currency": "CHF"}
