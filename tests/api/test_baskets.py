"""Baskets through the API: `quote` and `placeOrder` with several lines (one order, one
invoice), the enums that name kinds, families and currencies, and the deprecated
single-product fields that still work.

Every test runs on SQLite and PostgreSQL (`api` fixture) in the demo world: Favre
(`rep@full.example`) has a FULL grant with PARTNER payment methods, so when it orders for
itself it pays the public price and its partner earns the cashback.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Invoice, InvoiceLine, Order, OrderLine, OutboxMessage, Product
from resolvers.demo import FULL_CLIENT
from tests.conftest import Api, gid, login

SessionMaker = async_sessionmaker[AsyncSession]

STEPS = "unitListPrice { amount } listTotal { amount } decreasingRate publicPrice { amount } "
STEPS += "partnerDiscountRate afterPartnerDiscount { amount } partnerPrice { amount } "
STEPS += "cashback { amount } amountDue { amount currency }"

QUOTE = f"""
query($i: QuoteInput!) {{ quote(input: $i) {{
  userErrors {{ field code message }}
  quote {{
    lines {{ productKind productFamily quantity {STEPS} }}
    currency listTotal {{ amount }} publicPrice {{ amount }} partnerPrice {{ amount }}
    cashback {{ amount }} amountDue {{ amount currency }} cashbackDue {{ amount }} payer
  }}
}} }}
"""
LEGACY_QUOTE = f"""
query($i: QuoteInput!) {{ quote(input: $i) {{
  userErrors {{ field code message }}
  quote {{ productKind productFamily quantity {STEPS} }}
}} }}
"""
PLACE = """
mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
  userErrors { field code message }
  replayed
  order {
    id productKind quantity product { name }
    lines { productKind productFamily quantity product { id name productKind family }
            amounts { listTotal { amount } publicPrice { amount } amountDue { amount } } }
    amounts { listTotal { amount } publicPrice { amount } amountDue { amount } }
  }
  invoice { total { amount currency } lines { description amount { amount } } }
} }
"""

BASKET = [("WEB_HOSTING", 35), ("DOMAIN_CH", 3), ("MAIL_HOSTING", 12)]


def org(world: Any, name: str) -> str:
    return gid("Organization", world.organizations[name])


def lines(basket: list[tuple[str, int]], **extra: Any) -> list[dict[str, Any]]:
    return [{"productKind": kind, "quantity": quantity, **extra} for kind, quantity in basket]


def amount(value: dict[str, Any]) -> Decimal:
    return Decimal(value["amount"])


async def counts(sessionmaker: SessionMaker) -> dict[str, int]:
    async with sessionmaker() as session:
        return {
            model.__tablename__: int(
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
            for model in (Order, OrderLine, Invoice, InvoiceLine, Product, OutboxMessage)
        }


async def test_a_basket_is_priced_line_by_line_as_single_products_are(api: Api, world: Any) -> None:
    token = await login(api, "rep@full.example")
    acting = org(world, FULL_CLIENT)
    data = await api.ok(QUOTE, {"i": {"organizationId": acting, "lines": lines(BASKET)}}, token)
    assert data["quote"]["userErrors"] == []
    quote = data["quote"]["quote"]
    assert [(line["productKind"], line["quantity"]) for line in quote["lines"]] == BASKET
    assert [line["productFamily"] for line in quote["lines"]] == [
        "WEB_HOSTING",
        "DOMAINS",
        "MAIL_HOSTING",
    ]
    # Each line is exactly the quote of that product alone (the deprecated fields).
    for line, (kind, quantity) in zip(quote["lines"], BASKET, strict=True):
        alone = await api.ok(
            LEGACY_QUOTE,
            {"i": {"organizationId": acting, "productKind": kind.lower(), "quantity": quantity}},
            token,
        )
        single = alone["quote"]["quote"]
        assert single["productKind"] == kind.lower()
        assert {k: v for k, v in line.items() if k != "productKind"} == {
            k: v for k, v in single.items() if k != "productKind"
        }
    # The guides' example is the first line: 35 web hostings, 25 % decreasing rate.
    assert quote["lines"][0]["publicPrice"] == {"amount": "260.40"}
    for total in ("listTotal", "publicPrice", "partnerPrice", "cashback", "amountDue"):
        assert amount(quote[total]) == sum(amount(line[total]) for line in quote["lines"])
    assert amount(quote["cashback"]) == amount(quote["publicPrice"]) - amount(quote["partnerPrice"])
    # The client pays the public price; its partner earns the whole basket's cashback.
    assert quote["payer"] == "CLIENT"
    assert quote["amountDue"] == {"amount": quote["publicPrice"]["amount"], "currency": "CHF"}
    assert quote["cashbackDue"] == quote["cashback"]


async def test_a_basket_is_one_order_and_one_invoice(
    api: Api, world: Any, sessionmaker: SessionMaker
) -> None:
    token = await login(api, "rep@full.example")
    acting = org(world, FULL_CLIENT)
    quoted = await api.ok(QUOTE, {"i": {"organizationId": acting, "lines": lines(BASKET)}}, token)
    due = quoted["quote"]["quote"]["amountDue"]["amount"]
    before = await counts(sessionmaker)

    named = lines(BASKET)
    named[1]["productName"] = "favre-chocolatier.ch"
    data = await api.ok(
        PLACE, {"i": {"organizationId": acting, "lines": named, "expectedAmountDue": due}}, token
    )
    placed = data["placeOrder"]
    assert placed["userErrors"] == []
    order = placed["order"]
    assert [(line["productKind"], line["quantity"]) for line in order["lines"]] == BASKET
    assert [line["product"]["name"] for line in order["lines"]] == [
        "web_hosting",
        "favre-chocolatier.ch",
        "mail_hosting",
    ]
    assert [line["product"]["productKind"] for line in order["lines"]] == [k for k, _ in BASKET]
    assert len({line["product"]["id"] for line in order["lines"]}) == 3
    # The deprecated single-product fields answer with the first line.
    assert (order["productKind"], order["quantity"]) == ("web_hosting", 35)
    assert order["product"] == {"name": "web_hosting"}
    # One invoice for the whole basket; the lines' amounts sum to the order's.
    assert placed["invoice"]["total"] == {"amount": due, "currency": "CHF"}
    assert sum(amount(line["amount"]) for line in placed["invoice"]["lines"]) == Decimal(due)
    assert amount(order["amounts"]["amountDue"]) == Decimal(due)
    for total in ("listTotal", "publicPrice", "amountDue"):
        assert amount(order["amounts"][total]) == sum(
            amount(line["amounts"][total]) for line in order["lines"]
        )

    after = await counts(sessionmaker)
    assert after["orders"] - before["orders"] == 1
    assert after["order_lines"] - before["order_lines"] == 3
    assert after["invoices"] - before["invoices"] == 1
    assert after["products"] - before["products"] == 3
    # One cashback credit for the order: the basket's cashback, in minor units.
    async with sessionmaker() as session:
        credits = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.actor_name == "credit_cashback")
            )
        )
    assert len(credits) == 1
    cashback = quoted["quote"]["quote"]["cashbackDue"]["amount"]
    assert credits[0].payload["amount_minor"] == int(Decimal(cashback) * 100)


BAD_BASKETS: list[tuple[dict[str, Any], str, list[str]]] = [
    ({"lines": []}, "INVALID_BASKET", ["lines"]),
    ({"lines": lines([("KDRIVE", 1)] * 51)}, "INVALID_BASKET", ["lines"]),
    ({}, "INVALID_BASKET", ["lines"]),
    (
        {"lines": lines([("KDRIVE", 1)]), "productKind": "kdrive", "quantity": 1},
        "INVALID_BASKET",
        ["lines"],
    ),
    (
        {"lines": lines([("KDRIVE", 1), ("WEB_HOSTING", 0)])},
        "INVALID_QUANTITY",
        ["lines", "1", "quantity"],
    ),
    (
        {"lines": lines([("KDRIVE", 1), ("SWISS_BACKUP", 1001)])},
        "INVALID_QUANTITY",
        ["lines", "1", "quantity"],
    ),
    (
        {"lines": [{"productKind": "KDRIVE", "quantity": 1, "productName": " "}]},
        "INVALID_INPUT",
        ["lines", "0", "productName"],
    ),
    ({"lines": lines([("KDRIVE", 1)]), "currency": "EUR"}, "CURRENCY_MISMATCH", ["currency"]),
    ({"productKind": "kdrivez", "quantity": 1}, "UNKNOWN_PRODUCT_KIND", ["productKind"]),
]


@pytest.mark.parametrize(("fields", "code", "field"), BAD_BASKETS)
async def test_a_bad_basket_is_refused_and_writes_nothing(
    api: Api,
    world: Any,
    sessionmaker: SessionMaker,
    fields: dict[str, Any],
    code: str,
    field: list[str],
) -> None:
    token = await login(api, "rep@full.example")
    before = await counts(sessionmaker)
    data = await api.ok(PLACE, {"i": {"organizationId": org(world, FULL_CLIENT), **fields}}, token)
    assert data["placeOrder"]["order"] is None
    assert [(e["code"], e["field"]) for e in data["placeOrder"]["userErrors"]] == [(code, field)]
    assert await counts(sessionmaker) == before
    if "productName" not in str(fields):
        quoted = await api.ok(
            QUOTE, {"i": {"organizationId": org(world, FULL_CLIENT), **fields}}, token
        )
        assert [(e["code"], e["field"]) for e in quoted["quote"]["userErrors"]] == [(code, field)]


async def test_a_key_replays_the_same_basket_only(
    api: Api, world: Any, sessionmaker: SessionMaker
) -> None:
    token = await login(api, "rep@full.example")
    fields = {
        "organizationId": org(world, FULL_CLIENT),
        "lines": lines(BASKET),
        "idempotencyKey": "basket-1",
    }
    first = (await api.ok(PLACE, {"i": fields}, token))["placeOrder"]
    assert first["userErrors"] == []
    after_first = await counts(sessionmaker)
    again = (await api.ok(PLACE, {"i": fields}, token))["placeOrder"]
    assert again["replayed"] is True
    assert again["order"]["id"] == first["order"]["id"]
    for other in (
        lines(BASKET[::-1]),
        lines(BASKET[:2]),
        lines([*BASKET[:2], ("MAIL_HOSTING", 13)]),
    ):
        reused = (await api.ok(PLACE, {"i": fields | {"lines": other}}, token))["placeOrder"]
        assert [e["code"] for e in reused["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert await counts(sessionmaker) == after_first


DIRECTORY = (
    "query($f: [ProductFamily!]) { directory(productFamilies: $f, first: 1) { totalCount } }"
)


@pytest.mark.parametrize(
    ("query", "variables", "enum", "value"),
    [
        (QUOTE, {"lines": lines([("WEB_HOSTINGZ", 1)])}, "ProductKind", "WEB_HOSTINGZ"),
        # The API names kinds in capitals; the stored string is not a value.
        (QUOTE, {"lines": lines([("web_hosting", 1)])}, "ProductKind", "web_hosting"),
        (QUOTE, {"lines": lines([("KDRIVE", 1)]), "currency": "USD"}, "Currency", "USD"),
        (DIRECTORY, {"f": ["VPS"]}, "ProductFamily", "VPS"),
    ],
)
async def test_enums_refuse_unknown_values_by_name(
    api: Api, world: Any, query: str, variables: dict[str, Any], enum: str, value: str
) -> None:
    token = await login(api, "rep@full.example")
    if query is QUOTE:
        variables = {"i": {"organizationId": org(world, FULL_CLIENT), **variables}}
    result = await api.gql(query, variables, token)
    assert result.data is None
    [error] = result.errors
    assert f"Value '{value}' does not exist in '{enum}' enum" in error["message"], error


async def test_the_migration_gives_each_earlier_order_its_one_line(
    api: Api, world: Any, sessionmaker: SessionMaker
) -> None:
    """The order_lines migration's backfill, run on orders placed the single-product way:
    each gets the one line the API would have written."""
    import importlib

    from sqlalchemy import delete, text

    migration = importlib.import_module("db.migrations.versions.20261203_d4e5f6a7b8c9_order_lines")
    token = await login(api, "rep@full.example")
    acting = org(world, FULL_CLIENT)
    for kind, quantity in (("web_hosting", 35), ("kdrive", 2)):
        data = await api.ok(
            PLACE,
            {"i": {"organizationId": acting, "productKind": kind, "quantity": quantity}},
            token,
        )
        assert data["placeOrder"]["userErrors"] == []

    def columns(line: OrderLine) -> tuple[Any, ...]:
        return tuple(getattr(line, c.key) for c in OrderLine.__table__.columns if c.key != "id")

    async with sessionmaker() as session, session.begin():
        written = [columns(line) for line in await session.scalars(select(OrderLine))]
        await session.execute(delete(OrderLine))
        await session.execute(text(migration.BACKFILL))
    async with sessionmaker() as session:
        backfilled = [columns(line) for line in await session.scalars(select(OrderLine))]
    assert len(written) == 2
    assert sorted(backfilled) == sorted(written)
