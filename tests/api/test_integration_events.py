"""Integration events through the API: recorded with the change, to exactly the
organizations that may read it, each with its own view of the object (global IDs)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.relay import GlobalID

from db.models import IntegrationEvent, OutboxMessage
from tests.api.spine_support import ACCEPT, INVITE, session_tokens, user_errors
from tests.conftest import Api, gid
from workers.cashback import credit_cashback_handler
from workers.outbox import process_once

Maker = async_sessionmaker[AsyncSession]
PARTNER, FAVRE, BERGBAHN, LAC = (
    "Alpine Web Partners",
    "Favre Chocolatier",
    "Bergbahn AG",
    "Lac Leman Yachts",
)
PLACE = (
    "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { userErrors { code } order { id } } }"
)


async def received(sm: Maker) -> dict[str, dict[int, list[dict[str, Any]]]]:
    """kind -> organization -> payloads."""
    found: dict[str, dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    async with sm() as session:
        for event in await session.scalars(select(IntegrationEvent).order_by(IntegrationEvent.id)):
            found[event.kind][event.organization_id].append(event.payload)
    return found


async def test_each_change_reaches_exactly_who_may_read_it(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    orgs = world.organizations
    tokens = await session_tokens(
        sessionmaker, ["rep@partner.example", "rep@new.example", "rep@full.example"]
    )
    invited = await api.ok(
        INVITE,
        {
            "i": {
                "organizationId": gid("Organization", orgs[PARTNER]),
                "clientEmail": "rep@new.example",
                "access": {"level": "FULL", "paymentMethods": "CLIENT"},
            }
        },
        token=tokens["rep@partner.example"],
    )
    assert user_errors(invited, "invite") == []
    grant_gid = invited["invite"]["grant"]["id"]
    accepted = await api.ok(ACCEPT, {"i": {"grantId": grant_gid}}, token=tokens["rep@new.example"])
    assert user_errors(accepted, "accept") == []
    # Favre (FULL grant, PARTNER methods) orders itself: it pays; the partner sees the order
    # and earns cashback; the invoice is Favre's alone.
    placed = await api.ok(
        PLACE,
        {
            "i": {
                "organizationId": gid("Organization", orgs[FAVRE]),
                "productKind": "web_hosting",
                "quantity": 35,
            }
        },
        token=tokens["rep@full.example"],
    )
    assert placed["placeOrder"]["userErrors"] == []
    async with sessionmaker() as session:
        cashback_rows = list(
            await session.scalars(
                select(OutboxMessage.id).where(OutboxMessage.actor_name == "credit_cashback")
            )
        )
    for outbox_id in cashback_rows + cashback_rows:  # a duplicate delivery: no second event
        await process_once(outbox_id, credit_cashback_handler, sessionmaker=sessionmaker)

    events = await received(sessionmaker)
    expected = {
        "GRANT_INVITED": {orgs[PARTNER], orgs[LAC]},
        "GRANT_ACCEPTED": {orgs[PARTNER], orgs[LAC]},
        "ORDER_PLACED": {orgs[FAVRE], orgs[PARTNER]},
        "INVOICE_ISSUED": {orgs[FAVRE]},
        "CASHBACK_CREDITED": {orgs[PARTNER]},
    }
    assert {kind: set(by_org) for kind, by_org in events.items()} == expected
    assert all(len(payloads) == 1 for by_org in events.values() for payloads in by_org.values())

    # Each organization's view: the same event id, its own object; amounts and the
    # invoice only to the payer.
    [partner_order] = events["ORDER_PLACED"][orgs[PARTNER]]
    [client_order] = events["ORDER_PLACED"][orgs[FAVRE]]
    assert partner_order["id"] == client_order["id"]
    assert partner_order["type"] == "order.placed"
    assert partner_order["data"]["id"] == placed["placeOrder"]["order"]["id"]
    assert "invoice" not in partner_order["data"]
    assert GlobalID.from_id(client_order["data"]["invoice"]["id"]).type_name == "Invoice"
    [invoice] = events["INVOICE_ISSUED"][orgs[FAVRE]]
    assert invoice["data"]["total"]["currency"] == "CHF"
    assert set(invoice) == {"id", "type", "timestamp", "data"}
    [grant_event] = events["GRANT_ACCEPTED"][orgs[LAC]]
    assert grant_event["data"]["id"] == grant_gid
    assert grant_event["data"]["status"] == "ACTIVE"
    assert GlobalID.from_id(grant_event["data"]["partner"]["id"]).type_name == "Partner"
    [cashback] = events["CASHBACK_CREDITED"][orgs[PARTNER]]
    assert cashback["data"]["amount"] == {"amount": "52.08", "currency": "CHF"}


async def test_an_invitation_to_an_unknown_email_reaches_only_the_partner(
    api: Api, world: Any, sessionmaker: Maker
) -> None:
    tokens = await session_tokens(sessionmaker, ["rep@partner.example"])
    data = await api.ok(
        INVITE,
        {
            "i": {
                "organizationId": gid("Organization", world.organizations[PARTNER]),
                "clientEmail": "nobody@shop.example",
                "access": {"level": "LIMITED", "productFamilies": ["WEB_HOSTING"]},
            }
        },
        token=tokens["rep@partner.example"],
    )
    assert user_errors(data, "invite") == []
    events = await received(sessionmaker)
    assert {k: set(v) for k, v in events.items()} == {
        "GRANT_INVITED": {world.organizations[PARTNER]}
    }


async def test_a_refused_change_records_no_event(api: Api, world: Any, sessionmaker: Maker) -> None:
    tokens = await session_tokens(sessionmaker, ["rep@partner.example"])
    data = await api.ok(
        INVITE,
        {
            "i": {
                "organizationId": gid("Organization", world.organizations[PARTNER]),
                "clientEmail": "rep@full.example",  # a live grant already links them
                "access": {"level": "FULL", "paymentMethods": "CLIENT"},
            }
        },
        token=tokens["rep@partner.example"],
    )
    assert [e["code"] for e in user_errors(data, "invite")] == ["GRANT_EXISTS"]
    assert await received(sessionmaker) == {}
