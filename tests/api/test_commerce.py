"""Commerce through the API: quotes, orders, renewals, invoices, cashback events, export.

Every test runs on SQLite and PostgreSQL (`api` fixture). The demo world has one partner
(Alpine Web Partners, CHF) and three clients: Favre (FULL grant, PARTNER payment methods),
Bergbahn (LIMITED: its web and mail hosting granted, not its kDrive) and Lac Leman (EUR,
no grant). Tests set other grant situations directly in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import Settings
from db.models import (
    AuditEvent,
    Grant,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Order,
    OutboxMessage,
    Partner,
    Product,
    utcnow,
)
from domain.enums import AccessLevel, GrantStatus, PaymentMethods, Side
from resolvers import exports
from resolvers.demo import FULL_CLIENT, LIMITED_CLIENT, NEW_CLIENT, PARTNER
from tests.conftest import Api, gid, login

SessionMaker = async_sessionmaker[AsyncSession]

QUOTE = """
query($i: QuoteInput!) { quote(input: $i) {
  userErrors { field code message }
  quote {
    productKind productFamily quantity currency
    unitListPrice { amount currency } listTotal { amount currency }
    decreasingRate publicPrice { amount } partnerDiscountRate
    afterPartnerDiscount { amount } partnerPrice { amount } cashback { amount }
    partnerDiscountApplies amountDue { amount currency }
    orderer payer partnerEarnsCashback cashbackDue { amount currency }
  }
} }
"""

ORDER_FIELDS = """
  userErrors { field code message }
  replayed
  order { id kind productKind quantity currency orderedBy payer clientName
          product { id name quantity } }
  invoice { id number total { amount currency } lines { description quantity amount { amount } } }
"""
PLACE = f"mutation($i: PlaceOrderInput!) {{ placeOrder(input: $i) {{ {ORDER_FIELDS} }} }}"
RENEW = f"mutation($i: RenewProductInput!) {{ renewProduct(input: $i) {{ {ORDER_FIELDS} }} }}"


def org(world: Any, name: str) -> str:
    return gid("Organization", world.organizations[name])


async def place(api: Api, token: str, **fields: Any) -> dict[str, Any]:
    data = await api.ok(PLACE, {"i": fields}, token=token)
    return dict(data["placeOrder"])


async def renew(api: Api, token: str, **fields: Any) -> dict[str, Any]:
    data = await api.ok(RENEW, {"i": fields}, token=token)
    return dict(data["renewProduct"])


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def set_grant(
    sessionmaker: SessionMaker,
    grant_id: int,
    *,
    level: AccessLevel | None = None,
    payment_methods: PaymentMethods | None = None,
    status: GrantStatus | None = None,
) -> None:
    values: dict[str, Any] = {}
    if level is not None:
        values["level"] = level
        values["payment_methods"] = payment_methods
    elif payment_methods is not None:
        values["payment_methods"] = payment_methods
    if status is not None:
        values["status"] = status
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Grant).where(Grant.id == grant_id).values(**values))


async def add_grant(
    sessionmaker: SessionMaker, world: Any, client: str, payment_methods: PaymentMethods
) -> int:
    async with sessionmaker() as session, session.begin():
        grant = Grant(
            partner_id=world.partner_id,
            client_id=world.organizations[client],
            initiated_by=Side.CLIENT,
            status=GrantStatus.ACTIVE,
            requested_level=AccessLevel.FULL,
            requested_payment_methods=payment_methods,
            level=AccessLevel.FULL,
            payment_methods=payment_methods,
            invited_by_user_id=world.users["rep@new.example"],
            accepted_at=utcnow(),
        )
        session.add(grant)
        await session.flush()
        return grant.id


COUNTED = (Order, Invoice, InvoiceLine, Product, OutboxMessage, AuditEvent, InvoiceCounter)


async def counts(sessionmaker: SessionMaker) -> dict[str, int]:
    async with sessionmaker() as session:
        return {
            model.__tablename__: int(
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
            for model in COUNTED
        }


async def outbox(sessionmaker: SessionMaker, actor: str) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.actor_name == actor)
            .order_by(OutboxMessage.id)
        )
        return list(rows)


async def load_order(sessionmaker: SessionMaker, global_id: str) -> tuple[Order, Invoice]:
    from strawberry import relay

    pk = int(relay.GlobalID.from_id(global_id).node_id)
    async with sessionmaker() as session:
        order = await session.get(Order, pk)
        assert order is not None
        invoice = await session.get(Invoice, order.invoice_id)
        assert invoice is not None
        return order, invoice


async def invoice_lines(sessionmaker: SessionMaker, invoice_id: int) -> list[InvoiceLine]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == invoice_id)
            .order_by(InvoiceLine.position)
        )
        return list(rows)


async def max_sequence(sessionmaker: SessionMaker, organization_id: int) -> int:
    async with sessionmaker() as session:
        return int(
            await session.scalar(
                select(func.coalesce(func.max(Invoice.sequence), 0)).where(
                    Invoice.organization_id == organization_id
                )
            )
            or 0
        )


# ------------------------------------------------------------------------------- quote


async def test_quote_shows_the_guides_example_in_chf_and_eur(
    api: Api, world: Any, sessionmaker: SessionMaker
) -> None:
    partner = await login(api, "rep@partner.example")
    # Favre: FULL grant, PARTNER payment methods: the partner pays the partner price.
    data = await api.ok(
        QUOTE,
        {
            "i": {
                "organizationId": org(world, PARTNER),
                "clientId": gid("Client", world.grants[FULL_CLIENT]),
                "productKind": "web_hosting",
                "quantity": 35,
            }
        },
        token=partner,
    )
    assert data["quote"]["userErrors"] == []
    q = data["quote"]["quote"]
    assert q["currency"] == "CHF"
    assert q["unitListPrice"] == {"amount": "9.92", "currency": "CHF"}
    assert q["listTotal"] == {"amount": "347.20", "currency": "CHF"}
    assert q["partnerDiscountRate"] == "0.20"
    assert q["afterPartnerDiscount"] == {"amount": "277.76"}
    assert q["decreasingRate"] == "0.25"
    assert q["partnerPrice"] == {"amount": "208.32"}
    assert q["publicPrice"] == {"amount": "260.40"}
    assert q["cashback"] == {"amount": "52.08"}
    assert q["partnerDiscountApplies"] is True
    assert q["amountDue"] == {"amount": "208.32", "currency": "CHF"}
    assert (q["orderer"], q["payer"], q["partnerEarnsCashback"]) == ("PARTNER", "PARTNER", False)
    assert q["cashbackDue"] == {"amount": "0.00", "currency": "CHF"}

    # Lac Leman buys in EUR; give it a FULL grant with PARTNER payment methods.
    grant_id = await add_grant(sessionmaker, world, NEW_CLIENT, PaymentMethods.PARTNER)
    data = await api.ok(
        QUOTE,
        {
            "i": {
                "organizationId": org(world, PARTNER),
                "clientId": gid("Client", grant_id),
                "productKind": "web_hosting",
                "quantity": 35,
                "currency": "EUR",
            }
        },
        token=partner,
    )
    q = data["quote"]["quote"]
    assert q["listTotal"] == {"amount": "201.25", "currency": "EUR"}
    assert q["afterPartnerDiscount"] == {"amount": "161.00"}
    assert q["partnerPrice"] == {"amount": "120.75"}
    assert q["amountDue"] == {"amount": "120.75", "currency": "EUR"}


async def test_quote_for_a_client_itself_shows_public_price_and_cashback(
    api: Api, world: Any
) -> None:
    client = await login(api, "rep@full.example")
    data = await api.ok(
        QUOTE,
        {
            "i": {
                "organizationId": org(world, FULL_CLIENT),
                "productKind": "web_hosting",
                "quantity": 35,
            }
        },
        token=client,
    )
    q = data["quote"]["quote"]
    assert q["amountDue"] == {"amount": "260.40", "currency": "CHF"}
    assert (q["orderer"], q["payer"], q["partnerEarnsCashback"]) == ("CLIENT", "CLIENT", True)
    assert q["cashbackDue"] == {"amount": "52.08", "currency": "CHF"}
    assert q["partnerPrice"] == {"amount": "208.32"}  # every step shown


QUOTE_BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"productKind": "web_hostingz"}, "UNKNOWN_PRODUCT_KIND", "productKind"),
    ({"quantity": 0}, "INVALID_QUANTITY", "quantity"),
    ({"quantity": 1001}, "INVALID_QUANTITY", "quantity"),
    ({"currency": "EUR"}, "CURRENCY_MISMATCH", "currency"),
]


async def test_quote_bad_input(api: Api, world: Any) -> None:
    client = await login(api, "rep@full.example")
    for fields, code, field in QUOTE_BAD:
        data = await api.ok(
            QUOTE,
            {
                "i": {
                    "organizationId": org(world, FULL_CLIENT),
                    "productKind": "web_hosting",
                    "quantity": 35,
                    **fields,
                }
            },
            token=client,
        )
        assert data["quote"]["quote"] is None, fields
        errors = [(e["code"], e["field"]) for e in data["quote"]["userErrors"]]
        assert errors == [(code, [field])], fields


async def test_quote_needs_authentication(api: Api, world: Any) -> None:
    result = await api.gql(
        QUOTE,
        {
            "i": {
                "organizationId": org(world, FULL_CLIENT),
                "productKind": "web_hosting",
                "quantity": 1,
            }
        },
    )
    assert result.error_codes() == ["UNAUTHENTICATED"]


# ------------------------------------------------------------------ SPEC's cashback table


@dataclass(frozen=True)
class Row:
    """One row of SPEC's cashback table, as an order or a renewal."""

    name: str
    client: str
    orderer_email: str
    by_partner: bool
    action: str  # "order" or "renew"
    product_index: int | None  # the client's demo product renewed
    level: AccessLevel | None  # None: no active grant
    payment_methods: PaymentMethods | None
    payer: str
    amount_due: str
    cashback_minor: int | None  # None: no credit_cashback event
    list_total: str = "347.20"
    kind: str = "web_hosting"
    currency: str = "CHF"


ROWS = [
    *[
        Row(
            f"full-client-methods/client/{a}",
            FULL_CLIENT,
            "rep@full.example",
            False,
            a,
            0 if a == "renew" else None,
            AccessLevel.FULL,
            PaymentMethods.CLIENT,
            "CLIENT",
            "260.40",
            5208,
        )
        for a in ("order", "renew")
    ],
    *[
        Row(
            f"full-client-methods/partner/{a}",
            FULL_CLIENT,
            "rep@partner.example",
            True,
            a,
            0 if a == "renew" else None,
            AccessLevel.FULL,
            PaymentMethods.CLIENT,
            "CLIENT",
            "260.40",
            5208,
        )
        for a in ("order", "renew")
    ],
    *[
        Row(
            f"full-partner-methods/client/{a}",
            FULL_CLIENT,
            "rep@full.example",
            False,
            a,
            0 if a == "renew" else None,
            AccessLevel.FULL,
            PaymentMethods.PARTNER,
            "CLIENT",
            "260.40",
            5208,
        )
        for a in ("order", "renew")
    ],
    *[
        Row(
            f"full-partner-methods/partner/{a}",
            FULL_CLIENT,
            "rep@partner.example",
            True,
            a,
            0 if a == "renew" else None,
            AccessLevel.FULL,
            PaymentMethods.PARTNER,
            "PARTNER",
            "208.32",
            None,
        )
        for a in ("order", "renew")
    ],
    Row(
        "limited/client/managed-product/renew",
        LIMITED_CLIENT,
        "rep@limited.example",
        False,
        "renew",
        0,
        AccessLevel.LIMITED,
        None,
        "CLIENT",
        "260.40",
        5208,
    ),
    Row(
        "limited/client/other-product/renew",
        LIMITED_CLIENT,
        "rep@limited.example",
        False,
        "renew",
        2,
        AccessLevel.LIMITED,
        None,
        "CLIENT",
        "175.00",
        None,
        list_total="175.00",
        kind="kdrive",
    ),
    Row(
        "limited/client/new-product/order",
        LIMITED_CLIENT,
        "rep@limited.example",
        False,
        "order",
        None,
        AccessLevel.LIMITED,
        None,
        "CLIENT",
        "260.40",
        None,
    ),
    *[
        Row(
            f"no-grant/client/{a}",
            NEW_CLIENT,
            "rep@new.example",
            False,
            a,
            0 if a == "renew" else None,
            None,
            None,
            "CLIENT",
            "150.94",
            None,
            list_total="201.25",
            currency="EUR",
        )
        for a in ("order", "renew")
    ],
]


@contextlib.contextmanager
def case(name: str) -> Iterator[None]:
    """Name the table row in a failure (rows share one world to keep the file fast)."""
    try:
        yield
    except BaseException as exc:
        exc.add_note(f"in case {name!r}")
        raise


async def test_cashback_table(api: Api, world: Any, sessionmaker: SessionMaker) -> None:
    """Every row of SPEC's cashback table, as an order and (where it applies) a renewal."""
    tokens = {email: await login(api, email) for email in {r.orderer_email for r in ROWS}}
    for row in ROWS:
        with case(row.name):
            await check_row(api, world, sessionmaker, tokens[row.orderer_email], row)


async def check_row(api: Api, world: Any, sessionmaker: SessionMaker, token: str, row: Row) -> None:
    if row.client == FULL_CLIENT:
        await set_grant(
            sessionmaker, world.grants[FULL_CLIENT], payment_methods=row.payment_methods
        )
    client_org = world.organizations[row.client]
    partner_org = world.organizations[PARTNER]
    payer_org = partner_org if row.payer == "PARTNER" else client_org
    acting = PARTNER if row.by_partner else row.client
    sequence_before = await max_sequence(sessionmaker, payer_org)
    credits_before = len(await outbox(sessionmaker, "credit_cashback"))
    mails_before = len(await outbox(sessionmaker, "send_email"))

    if row.action == "order":
        fields: dict[str, Any] = {
            "organizationId": org(world, acting),
            "productKind": row.kind,
            "quantity": 35,
            "productName": "new site",
        }
        if row.by_partner:
            fields["clientId"] = gid("Client", world.grants[row.client])
        payload = await place(api, token, **fields)
    else:
        assert row.product_index is not None
        product_id = world.products[row.client][row.product_index]
        payload = await renew(
            api,
            token,
            organizationId=org(world, acting),
            productId=gid("Product", product_id),
            quantity=35,
        )
    assert payload["userErrors"] == []
    order = payload["order"]
    assert order["kind"] == ("ORDER" if row.action == "order" else "RENEWAL")
    assert order["orderedBy"] == ("PARTNER" if row.by_partner else "CLIENT")
    assert order["payer"] == row.payer
    assert order["currency"] == row.currency
    assert order["quantity"] == 35
    assert order["product"]["quantity"] == 35
    assert order["clientName"] == row.client

    db_order, invoice = await load_order(sessionmaker, order["id"])
    # The product lives in the client; the invoice in the paying organization.
    async with sessionmaker() as session:
        product = await session.get(Product, db_order.product_id)
    assert product is not None
    assert product.organization_id == client_org
    assert invoice.organization_id == payer_org
    assert invoice.client_id == client_org
    assert invoice.sequence == sequence_before + 1
    assert invoice.number == f"{payer_org:04d}-{invoice.sequence:06d}"
    assert str(invoice.total_amount) == row.amount_due
    assert invoice.currency.value == row.currency
    assert str(db_order.amount_due) == row.amount_due
    assert str(db_order.public_price) != ""
    assert str(db_order.list_total) == row.list_total
    lines = await invoice_lines(sessionmaker, invoice.id)
    assert sum((line.amount for line in lines), Decimal(0)) == Decimal(row.amount_due)
    assert str(lines[0].amount) == row.list_total
    assert lines[0].quantity == 35
    if row.payer == "PARTNER":
        assert [(ln.description, str(ln.amount)) for ln in lines[1:]] == [
            ("Partner discount 20 %", "-69.44"),
            ("Decreasing rate 25 % for 35 units", "-69.44"),
        ]
    elif row.kind == "web_hosting":
        assert [ln.description for ln in lines[1:]] == ["Decreasing rate 25 % for 35 units"]
    else:
        assert len(lines) == 1  # storage: no quantity tiers

    # The payload shows the invoice only to the payer's billing members.
    viewer_pays = (row.payer == "PARTNER") == row.by_partner
    if viewer_pays:
        assert payload["invoice"]["number"] == invoice.number
        assert payload["invoice"]["total"] == {"amount": row.amount_due, "currency": row.currency}
    else:
        assert payload["invoice"] is None

    credits = (await outbox(sessionmaker, "credit_cashback"))[credits_before:]
    if row.cashback_minor is None:
        assert credits == []
        assert db_order.cashback_due is False
    else:
        assert len(credits) == 1
        assert credits[0].dedupe_key == f"cashback:order:{db_order.id}"
        assert credits[0].payload["order_id"] == db_order.id
        assert credits[0].payload["partner_id"] == world.partner_id
        assert credits[0].payload["amount_minor"] == row.cashback_minor
        assert credits[0].payload["currency"] == row.currency
        assert isinstance(credits[0].payload["amount_minor"], int)
        assert db_order.cashback_due is True

    mails = [
        m
        for m in (await outbox(sessionmaker, "send_email"))[mails_before:]
        if m.payload["template"] == "order_confirmation"
    ]
    payer_rep = "rep@partner.example" if row.payer == "PARTNER" else row.orderer_email
    if row.by_partner and row.payer == "CLIENT":
        payer_rep = "rep@full.example"
    assert [m.payload["to"] for m in mails] == [payer_rep]
    assert "208.32" not in str(mails[0].payload)
    assert "260.40" not in str(mails[0].payload)


async def test_order_confirmation_renders(
    api: Api, world: Any, sessionmaker: SessionMaker, settings: Settings
) -> None:
    from workers.email import render_email

    token = await login(api, "rep@full.example")
    payload = await place(
        api,
        token,
        organizationId=org(world, FULL_CLIENT),
        productKind="web_hosting",
        quantity=2,
        productName="shop.favre.ch",
    )
    assert payload["userErrors"] == []
    (mail,) = await outbox(sessionmaker, "send_email")
    message = render_email(
        mail.payload["template"],
        mail.payload["context"],
        to=mail.payload["to"],
        outbox_id=mail.id,
        settings=settings,
    )
    assert message["Subject"] == f"Order confirmed for {FULL_CLIENT}"
    assert "shop.favre.ch" in message.as_string()


async def test_partner_collaborator_orders_only_for_its_clients(
    api: Api, world: Any, sessionmaker: SessionMaker
) -> None:
    collab = await login(api, "collab@partner.example")
    ok = await place(
        api,
        collab,
        organizationId=org(world, PARTNER),
        clientId=gid("Client", world.grants[FULL_CLIENT]),
        productKind="domain_ch",
        quantity=3,
    )
    assert ok["userErrors"] == []
    assert ok["order"]["payer"] == "PARTNER"
    assert ok["invoice"] is None  # a collaborator has no billing rights
    await set_grant(
        sessionmaker,
        world.grants[LIMITED_CLIENT],
        level=AccessLevel.FULL,
        payment_methods=PaymentMethods.CLIENT,
    )
    refused = await place(
        api,
        collab,
        organizationId=org(world, PARTNER),
        clientId=gid("Client", world.grants[LIMITED_CLIENT]),
        productKind="domain_ch",
        quantity=3,
    )
    assert codes(refused) == ["PARTNER_MAY_NOT_ORDER"]


# --------------------------------------------------------------------------- bad input


@dataclass(frozen=True)
class Bad:
    name: str
    email: str
    action: str
    fields: dict[str, Any]
    code: str
    setup: str = ""


def _bad_cases() -> list[Bad]:
    partner_for = {"by": "partner"}
    return [
        Bad(
            "unknown-kind",
            "rep@full.example",
            "order",
            {"productKind": "hosting"},
            "UNKNOWN_PRODUCT_KIND",
        ),
        Bad("quantity-zero", "rep@full.example", "order", {"quantity": 0}, "INVALID_QUANTITY"),
        Bad("quantity-negative", "rep@full.example", "order", {"quantity": -5}, "INVALID_QUANTITY"),
        Bad(
            "quantity-absurd",
            "rep@full.example",
            "order",
            {"quantity": 1_000_000},
            "INVALID_QUANTITY",
        ),
        Bad(
            "renew-quantity-zero", "rep@full.example", "renew", {"quantity": 0}, "INVALID_QUANTITY"
        ),
        Bad(
            "currency-not-the-clients",
            "rep@full.example",
            "order",
            {"currency": "EUR"},
            "CURRENCY_MISMATCH",
        ),
        Bad(
            "renew-product-of-another-org",
            "rep@new.example",
            "renew",
            {"organizationId": NEW_CLIENT},
            "NOT_FOUND",
        ),
        Bad(
            "partner-orders-under-limited",
            "rep@partner.example",
            "order",
            {**partner_for, "client": LIMITED_CLIENT},
            "PARTNER_MAY_NOT_ORDER",
        ),
        Bad(
            "partner-renews-under-limited",
            "rep@partner.example",
            "renew",
            {**partner_for, "client": LIMITED_CLIENT},
            "PARTNER_MAY_NOT_ORDER",
        ),
        Bad(
            "partner-orders-without-grant",
            "rep@partner.example",
            "order",
            {**partner_for, "client": NEW_CLIENT},
            "PARTNER_MAY_NOT_ORDER",
        ),
        Bad(
            "partner-renews-without-grant",
            "rep@partner.example",
            "renew",
            {**partner_for, "client": NEW_CLIENT},
            "NOT_FOUND",
        ),
        Bad(
            "partner-orders-after-stop",
            "rep@partner.example",
            "order",
            {**partner_for, "client": FULL_CLIENT},
            "PARTNER_MAY_NOT_ORDER",
            setup="stop",
        ),
        Bad(
            "partner-pays-under-client-methods",
            "rep@partner.example",
            "order",
            {**partner_for, "client": FULL_CLIENT, "payer": "PARTNER"},
            "PAYER_NOT_ALLOWED",
            setup="client-methods",
        ),
        Bad(
            "client-pays-under-partner-methods",
            "rep@partner.example",
            "renew",
            {**partner_for, "client": FULL_CLIENT, "payer": "CLIENT"},
            "PAYER_NOT_ALLOWED",
        ),
        Bad(
            "amount-three-decimals",
            "rep@full.example",
            "order",
            {"expectedAmountDue": "260.401"},
            "INVALID_AMOUNT",
        ),
        Bad(
            "amount-not-a-number",
            "rep@full.example",
            "order",
            {"expectedAmountDue": "lots"},
            "INVALID_AMOUNT",
        ),
        Bad(
            "amount-negative",
            "rep@full.example",
            "renew",
            {"expectedAmountDue": "-1.00"},
            "INVALID_AMOUNT",
        ),
        Bad(
            "amount-not-the-quote",
            "rep@full.example",
            "order",
            {"expectedAmountDue": "208.32"},
            "AMOUNT_MISMATCH",
        ),
        Bad(
            "idempotency-key-too-long",
            "rep@full.example",
            "order",
            {"idempotencyKey": "k" * 101},
            "INVALID_IDEMPOTENCY_KEY",
        ),
        Bad(
            "not-a-member-of-acting-org",
            "rep@new.example",
            "order",
            {"organizationId": FULL_CLIENT},
            "NOT_FOUND",
        ),
        Bad(
            "client-id-of-another-type",
            "rep@full.example",
            "order",
            {"clientId": gid("Product", 1)},
            "INVALID_ID",
        ),
    ]


BAD = _bad_cases()


async def test_bad_input_writes_nothing(api: Api, world: Any, sessionmaker: SessionMaker) -> None:
    """Each bad input: one userErrors code, no row written anywhere, no cashback event."""
    tokens = {email: await login(api, email) for email in {b.email for b in BAD}}
    for bad in BAD:
        with case(bad.name):
            await check_bad(api, world, sessionmaker, tokens[bad.email], bad)
        # Restore the demo grant some cases change.
        await set_grant(
            sessionmaker,
            world.grants[FULL_CLIENT],
            payment_methods=PaymentMethods.PARTNER,
            status=GrantStatus.ACTIVE,
        )


async def check_bad(api: Api, world: Any, sessionmaker: SessionMaker, token: str, bad: Bad) -> None:
    if bad.setup == "stop":
        await set_grant(sessionmaker, world.grants[FULL_CLIENT], status=GrantStatus.STOPPED)
    if bad.setup == "client-methods":
        await set_grant(
            sessionmaker, world.grants[FULL_CLIENT], payment_methods=PaymentMethods.CLIENT
        )
    fields = dict(bad.fields)
    by_partner = fields.pop("by", None) == "partner"
    client = fields.pop("client", FULL_CLIENT)
    acting = PARTNER if by_partner else fields.pop("organizationId", FULL_CLIENT)
    before = await counts(sessionmaker)
    inputs: dict[str, Any] = {"organizationId": org(world, acting)}
    if bad.action == "order":
        inputs |= {"productKind": "web_hosting", "quantity": 35}
        if by_partner:
            inputs["clientId"] = org(world, client)
        payload = await place(api, token, **(inputs | fields))
    else:
        inputs |= {"productId": gid("Product", world.products[client][0])}
        payload = await renew(api, token, **(inputs | fields))
    assert codes(payload) == [bad.code], payload
    assert payload["order"] is None
    assert await counts(sessionmaker) == before


async def test_read_only_token_cannot_order(
    api: Api, world: Any, sessionmaker: SessionMaker
) -> None:
    rep = await login(api, "rep@full.example")
    data = await api.ok(
        """mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) {
             secret userErrors { code } } }""",
        {"i": {"organizationId": org(world, FULL_CLIENT), "name": "ro", "access": "READ"}},
        token=rep,
    )
    secret = data["createApiToken"]["secret"]
    before = await counts(sessionmaker)
    payload = await place(
        api,
        secret,
        organizationId=org(world, FULL_CLIENT),
        productKind="web_hosting",
        quantity=1,
    )
    assert codes(payload) == ["READ_ONLY_TOKEN"]
    assert await counts(sessionmaker) == before


# ------------------------------------------------------------- numbering, idempotency


async def test_invoice_numbers_are_sequential_per_organization(
    api: Api, world: Any, sessionmaker: SessionMaker
) -> None:
    partner = await login(api, "rep@partner.example")
    client = await login(api, "rep@full.example")
    partner_org = world.organizations[PARTNER]
    client_org = world.organizations[FULL_CLIENT]
    partner_start = await max_sequence(sessionmaker, partner_org)
    client_start = await max_sequence(sessionmaker, client_org)
    numbers: list[tuple[str, str]] = []
    for i in range(3):
        p = await place(
            api,
            partner,
            organizationId=org(world, PARTNER),
            clientId=gid("Client", world.grants[FULL_CLIENT]),
            productKind="mail_hosting",
            quantity=5 + i,
        )
        c = await place(
            api,
            client,
            organizationId=org(world, FULL_CLIENT),
            productKind="kdrive",
            quantity=1 + i,
        )
        numbers.append((p["invoice"]["number"], c["invoice"]["number"]))
    assert [n for n, _ in numbers] == [
        f"{partner_org:04d}-{partner_start + i:06d}" for i in (1, 2, 3)
    ]
    assert [n for _, n in numbers] == [
        f"{client_org:04d}-{client_start + i:06d}" for i in (1, 2, 3)
    ]


async def test_concurrent_orders_get_consecutive_numbers(
    api: Api, world: Any, sessionmaker: SessionMaker
) -> None:
    client = await login(api, "rep@full.example")
    client_org = world.organizations[FULL_CLIENT]
    start = await max_sequence(sessionmaker, client_org)
    payloads = await asyncio.gather(
        *[
            place(
                api,
                client,
                organizationId=org(world, FULL_CLIENT),
                productKind="domain_ch",
                quantity=1,
            )
            for _ in range(6)
        ]
    )
    assert [p["userErrors"] for p in payloads] == [[]] * 6
    async with sessionmaker() as session:
        sequences = sorted(
            await session.scalars(
                select(Invoice.sequence).where(Invoice.organization_id == client_org)
            )
        )
    assert sequences == list(range(1, start + 7))


async def test_idempotency_key_returns_the_same_order(
    api: Api, world: Any, sessionmaker: SessionMaker
) -> None:
    client = await login(api, "rep@full.example")
    fields = {
        "organizationId": org(world, FULL_CLIENT),
        "productKind": "web_hosting",
        "quantity": 35,
        "idempotencyKey": "order-2026-0001",
    }
    first = await place(api, client, **fields)
    assert first["userErrors"] == []
    assert first["replayed"] is False
    after_first = await counts(sessionmaker)
    again = await place(api, client, **fields)
    assert again["userErrors"] == []
    assert again["replayed"] is True
    assert again["order"]["id"] == first["order"]["id"]
    assert again["invoice"]["number"] == first["invoice"]["number"]
    assert await counts(sessionmaker) == after_first
    assert len(await outbox(sessionmaker, "credit_cashback")) == 1

    reused = await place(api, client, **(fields | {"quantity": 36}))
    assert codes(reused) == ["IDEMPOTENCY_KEY_REUSED"]
    assert await counts(sessionmaker) == after_first

    # Keys are per acting organization: another organization's equal key is its own.
    other = await login(api, "rep@new.example")
    mine = await place(api, other, **(fields | {"organizationId": org(world, NEW_CLIENT)}))
    assert mine["userErrors"] == []
    assert mine["order"]["id"] != first["order"]["id"]

    # Renewals too.
    renewal = {
        "organizationId": org(world, FULL_CLIENT),
        "productId": gid("Product", world.products[FULL_CLIENT][0]),
        "idempotencyKey": "renew-1",
    }
    r1 = await renew(api, client, **renewal)
    r2 = await renew(api, client, **renewal)
    assert r1["userErrors"] == []
    assert r2["replayed"] is True
    assert r1["order"]["id"] == r2["order"]["id"]


async def test_concurrent_retries_with_one_key_order_once(
    api: Api, world: Any, sessionmaker: SessionMaker
) -> None:
    client = await login(api, "rep@full.example")
    fields = {
        "organizationId": org(world, FULL_CLIENT),
        "productKind": "web_hosting",
        "quantity": 35,
        "idempotencyKey": "same-key",
    }
    payloads = await asyncio.gather(*[place(api, client, **fields) for _ in range(4)])
    assert all(p["userErrors"] == [] for p in payloads)
    assert len({p["order"]["id"] for p in payloads}) == 1
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 1
    assert len(await outbox(sessionmaker, "credit_cashback")) == 1


# ------------------------------------------------------------------- the Order node


ORDER_NODE = """
query($id: ID!) { node(id: $id) { ... on Order {
  id payer orderedBy amounts { amountDue { amount } publicPrice { amount } }
  invoice { number } cashback { amount }
} } }
"""


async def test_order_visibility_and_amounts(
    api: Api, world: Any, sessionmaker: SessionMaker
) -> None:
    partner = await login(api, "rep@partner.example")
    client = await login(api, "rep@full.example")
    stranger = await login(api, "rep@new.example")
    paid_by_partner = await place(
        api,
        partner,
        organizationId=org(world, PARTNER),
        clientId=gid("Client", world.grants[FULL_CLIENT]),
        productKind="web_hosting",
        quantity=35,
    )
    paid_by_client = await place(
        api,
        client,
        organizationId=org(world, FULL_CLIENT),
        productKind="web_hosting",
        quantity=35,
    )
    pp, pc = paid_by_partner["order"]["id"], paid_by_client["order"]["id"]

    seen = await api.gql(ORDER_NODE, {"id": pp}, token=partner)
    assert seen.errors == []
    assert seen.data["node"]["amounts"]["amountDue"] == {"amount": "208.32"}
    assert seen.data["node"]["cashback"] == {"amount": "0.00"}

    # The client sees the partner-paid order, never its amounts or invoice.
    seen = await api.gql(ORDER_NODE, {"id": pp}, token=client)
    assert seen.data["node"]["id"] == pp
    assert seen.data["node"]["amounts"] is None
    assert seen.data["node"]["invoice"] is None
    assert seen.error_codes() == ["FORBIDDEN"] * 3

    # The partner sees the client-paid order and its own cashback, not the amounts paid.
    seen = await api.gql(ORDER_NODE, {"id": pc}, token=partner)
    assert seen.data["node"]["payer"] == "CLIENT"
    assert seen.data["node"]["amounts"] is None
    assert seen.data["node"]["invoice"] is None
    assert seen.data["node"]["cashback"] == {"amount": "52.08"}
    assert seen.error_codes() == ["FORBIDDEN"] * 2

    seen = await api.gql(ORDER_NODE, {"id": pc}, token=client)
    assert seen.data["node"]["amounts"]["amountDue"] == {"amount": "260.40"}
    assert seen.data["node"]["invoice"] is not None

    for order_id in (pp, pc, gid("Order", 999_999)):
        seen = await api.gql(ORDER_NODE, {"id": order_id}, token=stranger)
        assert seen.data["node"] is None
        assert seen.errors == []


# --------------------------------------------------------------------------- CSV export


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def export(api: Api, path: str, token: str | None) -> tuple[int, str]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await api.client.get(path, headers=headers)
    return response.status_code, response.text


def path_of(url: str) -> str:
    return url[url.index("/exports/") :]


async def _orders_both_ways(api: Api, world: Any) -> tuple[str, str]:
    partner = await login(api, "rep@partner.example")
    client = await login(api, "rep@full.example")
    by_partner = await place(
        api,
        partner,
        organizationId=org(world, PARTNER),
        clientId=gid("Client", world.grants[FULL_CLIENT]),
        productKind="web_hosting",
        quantity=35,
        productName="=HYPERLINK(1)",
    )
    by_client = await place(
        api,
        client,
        organizationId=org(world, FULL_CLIENT),
        productKind="web_hosting",
        quantity=35,
    )
    return by_partner["order"]["id"], by_client["order"]["id"]


async def test_export_per_viewer(api: Api, world: Any, sessionmaker: SessionMaker) -> None:
    by_partner, by_client = await _orders_both_ways(api, world)
    partner = await login(api, "rep@partner.example")
    client = await login(api, "rep@full.example")
    collab = await login(api, "collab@partner.example")
    partner_org = world.organizations[PARTNER]
    client_org = world.organizations[FULL_CLIENT]
    async with sessionmaker() as session:
        invoices = {
            i.id: i
            for i in await session.scalars(select(Invoice).where(Invoice.client_id == client_org))
        }
    paid_by_partner = {
        gid("Invoice", i) for i, v in invoices.items() if v.organization_id == partner_org
    }
    paid_by_client = {
        gid("Invoice", i) for i, v in invoices.items() if v.organization_id == client_org
    }
    assert len(paid_by_partner) == 2
    assert len(paid_by_client) == 2

    # The partner follows the link on its Client.
    data = await api.ok(
        "query($id: ID!) { node(id: $id) { ... on Client { billingExportUrl } } }",
        {"id": gid("Client", world.grants[FULL_CLIENT])},
        token=partner,
    )
    status, text = await export(api, path_of(data["node"]["billingExportUrl"]), partner)
    assert status == 200
    rows = parse_csv(text)
    by_record: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_record.setdefault(r["record"], []).append(r)
    assert len(by_record["product"]) == 5
    assert {r["id"] for r in by_record["order"]} == {by_partner, by_client}
    assert {r["id"] for r in by_record["invoice"]} == paid_by_partner
    amounts = {r["id"]: r["amount"] for r in by_record["order"]}
    assert amounts == {by_partner: "208.32", by_client: ""}  # never the client's amount
    assert "'=HYPERLINK(1)" in {r["description"] for r in by_record["product"]}
    assert "260.40" not in text

    # The client's billing member, from its Organization.
    data = await api.ok(
        "query($id: ID!) { node(id: $id) { ... on Organization { billingExportUrl } } }",
        {"id": org(world, FULL_CLIENT)},
        token=client,
    )
    status, text = await export(api, path_of(data["node"]["billingExportUrl"]), client)
    assert status == 200
    rows = parse_csv(text)
    assert {r["id"] for r in rows if r["record"] == "invoice"} == paid_by_client
    amounts = {r["id"]: r["amount"] for r in rows if r["record"] == "order"}
    assert amounts == {by_partner: "", by_client: "260.40"}
    assert "208.32" not in text

    # A partner collaborator acting for the client: products and orders, no invoice.
    status, text = await export(
        api, f"/exports/clients/{gid('Client', world.grants[FULL_CLIENT])}/billing.csv", collab
    )
    assert status == 200
    rows = parse_csv(text)
    assert {r["record"] for r in rows} == {"product", "order"}
    assert all(r["amount"] == "" for r in rows)


async def test_export_limited_partner_sees_granted_products_only(api: Api, world: Any) -> None:
    partner = await login(api, "rep@partner.example")
    status, text = await export(
        api,
        f"/exports/clients/{gid('Client', world.grants[LIMITED_CLIENT])}/billing.csv",
        partner,
    )
    assert status == 200
    products = [r for r in parse_csv(text) if r["record"] == "product"]
    assert {r["id"] for r in products} == {
        gid("Product", p) for p in world.products[LIMITED_CLIENT][:2]
    }
    assert all(r["record"] != "invoice" for r in parse_csv(text))


async def test_export_refuses_what_the_viewer_cannot_see(api: Api, world: Any) -> None:
    partner = await login(api, "rep@partner.example")
    stranger = await login(api, "rep@new.example")
    client_path = f"/exports/clients/{org(world, FULL_CLIENT)}/billing.csv"
    for path, token in [
        (f"/exports/clients/{org(world, NEW_CLIENT)}/billing.csv", partner),  # no grant
        (client_path, stranger),  # another organization
        (f"/exports/clients/{gid('Client', world.grants[FULL_CLIENT])}/billing.csv", stranger),
        (f"/exports/clients/{gid('Organization', 999_999)}/billing.csv", partner),
        (f"/exports/clients/{gid('Product', 1)}/billing.csv", partner),
        ("/exports/clients/not-an-id/billing.csv", partner),
    ]:
        status, _ = await export(api, path, token)
        assert status == 404, path
    status, _ = await export(api, client_path, None)
    assert status == 401
    status, _ = await export(api, client_path, "pgs_not-a-real-token")
    assert status == 401


async def test_export_pages_through_large_clients(
    api: Api, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "PAGE_SIZE", 2)  # several keyset pages per section
    client = await login(api, "rep@full.example")
    for quantity in (1, 2, 3):
        assert (
            await place(
                api,
                client,
                organizationId=org(world, FULL_CLIENT),
                productKind="kdrive",
                quantity=quantity,
            )
        )["userErrors"] == []
    status, text = await export(
        api, f"/exports/clients/{org(world, FULL_CLIENT)}/billing.csv", client
    )
    assert status == 200
    rows = parse_csv(text)
    assert sum(r["record"] == "product" for r in rows) == 6
    assert sum(r["record"] == "order" for r in rows) == 3
    assert sum(r["record"] == "invoice" for r in rows) == 4
    ids = [r["id"] for r in rows if r["record"] == "product"]
    assert len(set(ids)) == len(ids)


async def test_billing_export_url_is_forbidden_on_a_pending_client(
    api: Api, world: Any, sessionmaker: SessionMaker
) -> None:
    await set_grant(sessionmaker, world.grants[LIMITED_CLIENT], status=GrantStatus.PENDING)
    partner = await login(api, "rep@partner.example")
    result = await api.gql(
        "query($id: ID!) { node(id: $id) { ... on Client { billingExportUrl } } }",
        {"id": gid("Client", world.grants[LIMITED_CLIENT])},
        token=partner,
    )
    assert result.data["node"]["billingExportUrl"] is None
    assert result.error_codes() == ["FORBIDDEN"]


async def test_partner_row_is_recorded(api: Api, world: Any, sessionmaker: SessionMaker) -> None:
    """The order names the partner whose grant applied, also when no cashback is due."""
    client = await login(api, "rep@limited.example")
    payload = await place(
        api, client, organizationId=org(world, LIMITED_CLIENT), productKind="kdrive", quantity=1
    )
    order, _ = await load_order(sessionmaker, payload["order"]["id"])
    async with sessionmaker() as session:
        partner = await session.get(Partner, order.partner_id)
    assert partner is not None
    assert partner.organization_id == world.organizations[PARTNER]
    assert order.cashback_due is False
