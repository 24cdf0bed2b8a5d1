"""The prepaid ledger on SQLite: credits once per order, balances are sums, entries immutable."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    Base,
    Invoice,
    JournalEntry,
    LedgerAccount,
    LedgerPosting,
    Order,
    OrderKind,
    Organization,
    OutboxMessage,
    Partner,
    User,
)
from db.models.ledger import ImmutableLedgerError, JournalEntryKind
from db.session import make_engine, make_sessionmaker, transaction
from domain.enums import Side
from domain.money import Currency, Money
from resolvers import ledger
from resolvers.errors import UseCaseError
from resolvers.events import emit
from resolvers.pagination import PageRequest
from workers.cashback import BadCashbackMessage, credit_cashback_handler, parse_payload
from workers.outbox import process_once

SM = async_sessionmaker[AsyncSession]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def sm(tmp_path: Path) -> AsyncIterator[SM]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _organization(session: AsyncSession, name: str, currency: Currency) -> int:
    org = Organization(name=name, currency=currency, support_code=name[:16])
    session.add(org)
    await session.flush()
    return org.id


async def make_partner(sm: SM, name: str = "Alpine") -> tuple[int, int]:
    """(partners.id, organizations.id) of a new partner."""
    async with transaction(sm) as session:
        org_id = await _organization(session, name, Currency.CHF)
        partner = Partner(organization_id=org_id)
        session.add(partner)
        await session.flush()
        return partner.id, org_id


async def make_client(sm: SM, name: str) -> int:
    async with transaction(sm) as session:
        return await _organization(session, name, Currency.CHF)


async def credit(sm: SM, order_id: int, partner_id: int, minor: int, currency: str = "CHF") -> Any:
    async with transaction(sm) as session:
        return await ledger.credit_cashback(session, order_id, partner_id, minor, currency)


async def add(sm: SM, row: Any) -> None:
    async with transaction(sm) as session:
        session.add(row)


async def count(sm: SM, model: Any) -> int:
    async with sm() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def balance(sm: SM, org_id: int, currency: str = "CHF") -> Money:
    async with sm() as session:
        return await ledger.prepaid_balance(session, org_id, currency)


async def posting_sum(sm: SM, org_id: int, currency: str) -> Decimal:
    """Computed independently of resolvers.ledger: minus the account's postings."""
    async with sm() as session:
        rows = await session.scalars(
            select(LedgerPosting.amount)
            .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
            .where(
                LedgerAccount.organization_id == org_id,
                LedgerAccount.currency == Currency(currency),
            )
        )
        return -sum(rows, Decimal("0"))


async def entries(sm: SM, org_id: int, currency: str = "CHF", **filters: Any) -> list[Any]:
    async with sm() as session:
        page = await ledger.list_prepaid_entries(
            session, org_id, currency, PageRequest(first=100, after=None), **filters
        )
    return page.items


# -- credit once ----------------------------------------------------------------------------


async def test_crediting_the_same_order_twice_writes_one_entry(sm: SM) -> None:
    partner_id, org_id = await make_partner(sm)

    first = await credit(sm, 1001, partner_id, 6944)
    second = await credit(sm, 1001, partner_id, 6944)

    assert first.created is True
    assert second.created is False
    assert second.entry_id == first.entry_id
    assert await count(sm, JournalEntry) == 1
    assert await count(sm, LedgerPosting) == 2
    assert await balance(sm, org_id) == Money.of("69.44", "CHF")


async def test_a_duplicate_in_the_same_transaction_is_a_no_op(sm: SM) -> None:
    partner_id, org_id = await make_partner(sm)
    async with transaction(sm) as session:
        a = await ledger.credit_cashback(session, 7, partner_id, 100, Currency.CHF)
        b = await ledger.credit_cashback(session, 7, partner_id, 100, Currency.CHF)
    assert (a.created, b.created, a.entry_id == b.entry_id) == (True, False, True)
    assert await balance(sm, org_id) == Money.of("1.00", "CHF")


async def test_the_database_refuses_a_second_cashback_entry_for_an_order(sm: SM) -> None:
    """Bypassing the use case (another idempotency key) still cannot credit twice."""
    partner_id, _ = await make_partner(sm)
    await credit(sm, 55, partner_id, 500)
    with pytest.raises(IntegrityError, match="UNIQUE"):
        async with transaction(sm) as session:
            session.add(
                JournalEntry(
                    kind=JournalEntryKind.CASHBACK,
                    currency=Currency.CHF,
                    order_id=55,
                    idempotency_key="another-key-for-order-55",
                )
            )
    assert await count(sm, JournalEntry) == 1


async def test_a_posting_cannot_be_in_another_currency_than_its_account(sm: SM) -> None:
    partner_id, _ = await make_partner(sm)
    result = await credit(sm, 56, partner_id, 500)
    async with sm() as session:
        account_id = await session.scalar(select(LedgerAccount.id).limit(1))
    euro = LedgerPosting(
        entry_id=result.entry_id, account_id=account_id, amount=Decimal("1.00"), currency="EUR"
    )
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        await add(sm, euro)


async def test_the_same_order_with_another_amount_is_a_conflict_and_the_first_stands(
    sm: SM,
) -> None:
    partner_id, org_id = await make_partner(sm)
    other_partner, _ = await make_partner(sm, "Other")
    await credit(sm, 9, partner_id, 1000)

    for args in [(9, partner_id, 999), (9, other_partner, 1000)]:
        with pytest.raises(UseCaseError) as caught:
            await credit(sm, *args)
        assert caught.value.code == ledger.CASHBACK_CONFLICT
    assert await count(sm, JournalEntry) == 1
    assert await balance(sm, org_id) == Money.of("10.00", "CHF")


@pytest.mark.parametrize(
    ("order_id", "minor", "currency", "code_field"),
    [
        (0, 100, "CHF", "orderId"),
        (-3, 100, "CHF", "orderId"),
        (True, 100, "CHF", "orderId"),
        (1, -1, "CHF", "amountMinor"),
        (1, 1.5, "CHF", "amountMinor"),
        (1, "150", "CHF", "amountMinor"),
        (1, 10**13, "CHF", "amountMinor"),
        (1, 100, "USD", "currency"),
    ],
)
async def test_bad_input_writes_nothing(
    sm: SM, order_id: Any, minor: Any, currency: str, code_field: str
) -> None:
    partner_id, _ = await make_partner(sm)
    with pytest.raises(UseCaseError) as caught:
        await credit(sm, order_id, partner_id, minor, currency)
    assert caught.value.field == code_field
    assert await count(sm, JournalEntry) == 0
    assert await count(sm, LedgerAccount) == 0


async def test_unknown_partner_and_zero_cashback_write_nothing(sm: SM) -> None:
    partner_id, _ = await make_partner(sm)
    with pytest.raises(UseCaseError) as caught:
        await credit(sm, 1, partner_id + 100, 100)
    assert caught.value.code == "NOT_FOUND"
    zero = await credit(sm, 2, partner_id, 0)
    assert (zero.entry_id, zero.created) == (None, False)
    assert await count(sm, JournalEntry) == 0


# -- balances are sums ----------------------------------------------------------------------


async def test_balance_equals_the_sum_of_postings_per_partner_and_currency(sm: SM) -> None:
    alpine, alpine_org = await make_partner(sm, "Alpine")
    lakes, lakes_org = await make_partner(sm, "Lakes")
    credits = [
        (1, alpine, 6944, "CHF"),
        (2, alpine, 1, "CHF"),
        (3, alpine, 4025, "EUR"),
        (4, lakes, 12345, "CHF"),
        (5, alpine, 99, "CHF"),
        (1, alpine, 6944, "CHF"),  # a duplicate delivery
    ]
    for order_id, partner_id, minor, currency in credits:
        await credit(sm, order_id, partner_id, minor, currency)

    expected = {
        (alpine_org, "CHF"): Decimal("70.44"),
        (alpine_org, "EUR"): Decimal("40.25"),
        (lakes_org, "CHF"): Decimal("123.45"),
        (lakes_org, "EUR"): Decimal("0.00"),
    }
    for (org_id, currency), amount in expected.items():
        assert await balance(sm, org_id, currency) == Money(amount, Currency(currency))
        assert await posting_sum(sm, org_id, currency) == amount
        listed = await entries(sm, org_id, currency)
        assert sum((e.amount.amount for e in listed), Decimal("0")) == amount

    # Double entry: every entry balances, so the whole ledger sums to zero.
    async with sm() as session:
        per_entry = (
            await session.execute(
                select(LedgerPosting.entry_id, func.sum(LedgerPosting.amount)).group_by(
                    LedgerPosting.entry_id
                )
            )
        ).all()
    assert len(per_entry) == 5
    assert all(total == 0 for _, total in per_entry)


# -- corrections ----------------------------------------------------------------------------


async def test_a_correction_is_a_new_entry_that_nets_the_original_to_zero(sm: SM) -> None:
    partner_id, org_id = await make_partner(sm)
    kept = await credit(sm, 1, partner_id, 2500)
    wrong = await credit(sm, 2, partner_id, 1000)

    async with transaction(sm) as session:
        correction_id = await ledger.correct_entry(session, wrong.entry_id, memo="wrong order")
    async with transaction(sm) as session:  # idempotent
        assert await ledger.correct_entry(session, wrong.entry_id) == correction_id

    assert await balance(sm, org_id) == Money.of("25.00", "CHF")
    listed = await entries(sm, org_id)
    assert [(e.entry_id, e.kind, e.amount) for e in listed] == [
        (kept.entry_id, JournalEntryKind.CASHBACK, Money.of("25.00", "CHF")),
        (wrong.entry_id, JournalEntryKind.CASHBACK, Money.of("10.00", "CHF")),
        (correction_id, JournalEntryKind.CORRECTION, Money.of("-10.00", "CHF")),
    ]
    assert listed[2].corrects_entry_id == wrong.entry_id
    assert listed[2].order_id == 2
    assert listed[2].memo == "wrong order"
    async with sm() as session:
        pair = await session.execute(
            select(LedgerPosting.account_id, func.sum(LedgerPosting.amount))
            .where(LedgerPosting.entry_id.in_([wrong.entry_id, correction_id]))
            .group_by(LedgerPosting.account_id)
        )
        assert all(total == 0 for _, total in pair)  # per account, not only overall
    # The original is untouched, and the order still cannot be credited a second time.
    assert (await credit(sm, 2, partner_id, 1000)).created is False
    with pytest.raises(UseCaseError) as caught:
        async with transaction(sm) as session:
            await ledger.correct_entry(session, correction_id)
    assert caught.value.code == "CORRECTION_OF_CORRECTION"


# -- immutability ---------------------------------------------------------------------------


@pytest.mark.parametrize("model", [JournalEntry, LedgerPosting, LedgerAccount])
async def test_the_orm_refuses_to_update_or_delete_ledger_rows(sm: SM, model: Any) -> None:
    partner_id, org_id = await make_partner(sm)
    await credit(sm, 1, partner_id, 2500)

    edits = {
        JournalEntry: ("memo", "edited"),
        LedgerPosting: ("amount", Decimal("-1000.00")),
        LedgerAccount: ("code", "partner:0:prepaid"),
    }

    async def edit() -> None:
        async with transaction(sm) as session:
            setattr(await session.scalar(select(model).limit(1)), *edits[model])

    async def remove() -> None:
        async with transaction(sm) as session:
            await session.delete(await session.scalar(select(model).limit(1)))

    with pytest.raises(ImmutableLedgerError):
        await edit()
    with pytest.raises(ImmutableLedgerError):
        await remove()
    assert await balance(sm, org_id) == Money.of("25.00", "CHF")
    assert (await entries(sm, org_id))[0].memo == "Cashback for order 1"


LEDGER_NAMES = {"JournalEntry", "LedgerPosting", "LedgerAccount"}
LEDGER_TABLES = ("journal_entries", "ledger_postings", "ledger_accounts")


def test_no_code_path_updates_or_deletes_ledger_rows() -> None:
    """No `update(...)`/`delete(...)` of a ledger model, no SQL UPDATE/DELETE of its tables."""
    offenders = []
    for package in ("app", "db", "domain", "resolvers", "schema", "workers"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    func_name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                    first = node.args[0] if node.args else None
                    if (
                        func_name in {"update", "delete"}
                        and isinstance(first, ast.Name)
                        and first.id in LEDGER_NAMES
                    ):
                        offenders.append(f"{path}:{node.lineno}")
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    sql = " ".join(node.value.lower().split())
                    for table in LEDGER_TABLES:
                        # Not a query: looking for one in the source text.
                        if f"update {table}" in sql or f"delete from {table}" in sql:  # noqa: S608
                            offenders.append(f"{path}:{node.lineno}")
    assert offenders == []


# -- client, order and filters --------------------------------------------------------------


async def make_order(
    sm: SM, *, client_id: int, partner_id: int, cashback: str, due: bool = True
) -> int:
    """An order row as commerce writes it (prices frozen), for the ledger's checks."""
    async with transaction(sm) as session:
        user = User(
            email=f"orderer{client_id}-{cashback}@example.com", full_name="O", password_hash="x"
        )
        invoice = Invoice(
            organization_id=client_id,
            client_id=client_id,
            sequence=int(Decimal(cashback) * 100) + 1,
            number=f"N-{cashback}",
            currency=Currency.CHF,
            total_amount=Decimal("260.40"),
        )
        session.add_all([user, invoice])
        await session.flush()
        order = Order(
            kind=OrderKind.ORDER,
            client_id=client_id,
            product_kind="web_hosting",
            product_family="WEB_HOSTING",
            quantity=35,
            currency=Currency.CHF,
            ordered_by_user_id=user.id,
            acting_organization_id=client_id,
            orderer_side=Side.CLIENT,
            partner_id=partner_id,
            payer_id=client_id,
            payer_side=Side.CLIENT,
            list_total=Decimal("347.20"),
            decreasing_rate=Decimal("0.25"),
            public_price=Decimal("260.40"),
            partner_discount_rate=Decimal("0.20"),
            partner_price=Decimal("260.40") - Decimal(cashback),
            cashback=Decimal(cashback),
            amount_due=Decimal("260.40"),
            partner_discount_applied=False,
            cashback_due=due,
            invoice_id=invoice.id,
        )
        session.add(order)
        await session.flush()
        return order.id


async def test_the_client_comes_from_the_order_and_the_credit_must_match_it(sm: SM) -> None:
    partner_id, org_id = await make_partner(sm)
    client = await make_client(sm, "Favre Chocolatier")
    order_id = await make_order(sm, client_id=client, partner_id=partner_id, cashback="52.08")

    with pytest.raises(UseCaseError) as caught:  # not the order's cashback
        await credit(sm, order_id, partner_id, 5209)
    assert caught.value.code == ledger.CASHBACK_CONFLICT
    assert (await credit(sm, order_id, partner_id, 5208)).created is True

    [entry] = await entries(sm, org_id)
    assert (entry.order_id, entry.client_organization_id, entry.client_name) == (
        order_id,
        client,
        "Favre Chocolatier",
    )

    no_cashback = await make_order(
        sm, client_id=client, partner_id=partner_id, cashback="0.00", due=False
    )
    with pytest.raises(UseCaseError):
        await credit(sm, no_cashback, partner_id, 100)


async def test_entries_filter_by_client_and_period_and_paginate(sm: SM) -> None:
    partner_id, org_id = await make_partner(sm)
    favre = await make_client(sm, "Favre")
    berg = await make_client(sm, "Bergbahn")
    for order_id, client in [(1, favre), (2, berg), (3, favre), (4, favre)]:
        async with transaction(sm) as session:
            await ledger.credit_cashback(
                session, order_id, partner_id, 100 * order_id, "CHF", client_organization_id=client
            )

    assert [e.order_id for e in await entries(sm, org_id, client_organization_id=favre)] == [
        1,
        3,
        4,
    ]
    every = await entries(sm, org_id)
    middle = every[1].created_at
    since = [e.order_id for e in await entries(sm, org_id, since=middle)]
    until = [e.order_id for e in await entries(sm, org_id, until=middle)]
    assert sorted(since + until) == [1, 2, 3, 4]
    assert 2 in since
    assert 2 not in until

    async with sm() as session:
        first = await ledger.list_prepaid_entries(session, org_id, "CHF", PageRequest(2, None))
        rest = await ledger.list_prepaid_entries(
            session, org_id, "CHF", PageRequest(2, first.keys[-1])
        )
    assert ([e.order_id for e in first.items], first.has_next) == ([1, 2], True)
    assert ([e.order_id for e in rest.items], rest.has_next, rest.has_previous) == (
        [3, 4],
        False,
        True,
    )


# -- the worker's handler -------------------------------------------------------------------


async def test_the_outbox_handler_credits_once_per_row_and_refuses_bad_payloads(sm: SM) -> None:
    partner_id, org_id = await make_partner(sm)
    payload = {"order_id": 77, "partner_id": partner_id, "amount_minor": 1234, "currency": "CHF"}
    async with transaction(sm) as session:
        row = emit(session, "credit_cashback", payload, dedupe_key=ledger.cashback_key(77))
        await session.flush()
        outbox_id = row.id

    assert await process_once(outbox_id, credit_cashback_handler, sessionmaker=sm) is True
    assert await process_once(outbox_id, credit_cashback_handler, sessionmaker=sm) is False
    assert await balance(sm, org_id) == Money.of("12.34", "CHF")

    async with transaction(sm) as session:
        bad = emit(session, "credit_cashback", {**payload, "order_id": 78, "amount_minor": 12.34})
        await session.flush()
        bad_id = bad.id
    with pytest.raises(BadCashbackMessage):
        await process_once(bad_id, credit_cashback_handler, sessionmaker=sm)
    async with sm() as session:
        failed = await session.get(OutboxMessage, bad_id)
        assert failed is not None
        assert failed.processed_at is None
        assert "permanent" in (failed.last_error or "")
    assert await count(sm, JournalEntry) == 1


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"order_id": 1, "partner_id": 1, "amount_minor": 1},
        {"order_id": 1, "partner_id": 1, "amount_minor": 1, "currency": "USD"},
        {"order_id": 1, "partner_id": 1, "amount_minor": 1, "currency": ["CHF"]},
        {"order_id": "1", "partner_id": 1, "amount_minor": 1, "currency": "CHF"},
        {"order_id": 1, "partner_id": 1, "amount_minor": 1.0, "currency": "CHF"},
        {"order_id": 1, "partner_id": False, "amount_minor": 1, "currency": "CHF"},
    ],
)
def test_payloads_are_read_strictly(payload: Any) -> None:
    with pytest.raises(BadCashbackMessage):
        parse_payload(payload)


def test_a_good_payload() -> None:
    parsed = parse_payload({"order_id": 1, "partner_id": 2, "amount_minor": 3, "currency": "EUR"})
    assert (parsed.order_id, parsed.partner_id, parsed.amount_minor, parsed.currency) == (
        1,
        2,
        3,
        Currency.EUR,
    )


async def test_the_partner_organization_sent_by_commerce_is_checked(sm: SM) -> None:
    partner_id, org_id = await make_partner(sm)
    with pytest.raises(UseCaseError) as caught:
        async with transaction(sm) as session:
            await ledger.credit_cashback(
                session, 5, partner_id, 100, "CHF", partner_organization_id=org_id + 1
            )
    assert caught.value.code == ledger.CASHBACK_CONFLICT
    async with transaction(sm) as session:
        done = await ledger.credit_cashback(
            session, 5, partner_id, 100, "CHF", partner_organization_id=org_id
        )
    assert done.created is True


def test_the_extras_commerce_sends_are_read_and_checked() -> None:
    base = {"order_id": 1, "partner_id": 2, "amount_minor": 3, "currency": "CHF"}
    parsed = parse_payload(base | {"client_organization_id": 7, "partner_organization_id": 8})
    assert (parsed.client_organization_id, parsed.partner_organization_id) == (7, 8)
    assert parse_payload(base).client_organization_id is None
    with pytest.raises(BadCashbackMessage):
        parse_payload(base | {"client_organization_id": 7.0})
