"""The prepaid ledger's use cases: credit cashback once per order, correct, read balances.

Writes run inside the caller's transaction (``session``): the cashback worker calls
:func:`credit_cashback` inside ``workers.outbox.process_once``, so the credit and the
outbox row's ``processed_at`` commit together. Every entry is built and checked by
``domain.ledger`` (balanced, one currency, no zero, at most two decimals) before it is
written; the database then refuses a second CASHBACK entry for the same order
(``uq_journal_entries_cashback_order``), whatever the number of concurrent writers.

Amounts, seen from the partner: ``domain.ledger`` posts a cashback credit as a *credit*
(negative) on the partner's prepaid account, a liability of the provider. The prepaid
balance shown to a partner and each entry's ``amount`` here are the opposite of the
postings' signed sum: positive when the provider owes the partner.

Nothing here updates or deletes a ledger row (the ORM refuses it anyway, see
``db.models.ledger``); a correction is a new entry reversing the old one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import Grant, Order, Organization, Partner, utcnow
from db.models.ledger import (
    JournalEntry,
    JournalEntryKind,
    LedgerAccount,
    LedgerAccountKind,
    LedgerPosting,
)
from domain import ledger as books
from domain.access import has_billing_rights
from domain.money import CENT, Currency, Money, MoneyError
from resolvers.context import RequestContext
from resolvers.errors import INVALID_INPUT, UseCaseError, not_found
from resolvers.pagination import Page, PageRequest

logger = logging.getLogger(__name__)

#: The outbox actor that credits cashback (``workers.cashback``), and its payload keys.
CREDIT_CASHBACK = "credit_cashback"
#: The provider's cashback expense account, one per currency.
CASHBACK_EXPENSE_CODE = "program:cashback_expense"
#: Far above any real order (NUMERIC(14, 2) holds < 10**12): refuses absurd amounts early.
MAX_CREDIT_MINOR = 10**11

CASHBACK_CONFLICT = "CASHBACK_CONFLICT"


def prepaid_account_code(organization_id: int) -> str:
    """The code of a partner organization's prepaid account (one per currency)."""
    return f"partner:{organization_id}:prepaid"


def cashback_key(order_id: int) -> str:
    """The idempotency key of an order's cashback credit; also the outbox dedupe key."""
    return f"cashback:order:{order_id}"


def correction_key(entry_id: int) -> str:
    return f"correction:{entry_id}"


@dataclass(frozen=True)
class CashbackCredit:
    """What :func:`credit_cashback` did: ``created`` is False for a repeated delivery."""

    entry_id: int | None
    created: bool


@dataclass(frozen=True)
class PrepaidEntry:
    """One journal entry as seen from a partner's prepaid account."""

    entry_id: int
    organization_id: int  # the partner organization owning the account
    kind: JournalEntryKind
    created_at: datetime
    memo: str
    # Positive: credited to the partner (the provider owes it more).
    amount: Money
    order_id: int | None
    client_organization_id: int | None
    client_name: str | None
    corrects_entry_id: int | None


# -- helpers ------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _insert(session: AsyncSession, table: Any) -> Any:
    """An INSERT supporting ON CONFLICT DO NOTHING ... RETURNING on both backends."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@dataclass(frozen=True)
class _AccountSpec:
    code: str
    kind: LedgerAccountKind
    organization_id: int | None


async def _account_ids(
    session: AsyncSession, currency: Currency, specs: Sequence[_AccountSpec]
) -> dict[str, int]:
    """Code -> id of the accounts ``(spec.code, currency)``, created on first use.

    One SELECT when they exist (the usual case). A missing one is inserted with ``ON
    CONFLICT DO NOTHING`` then read: two transactions creating the same account at once
    do not fail; on PostgreSQL the second waits for the first and (READ COMMITTED) then
    reads its row.
    """
    codes = [spec.code for spec in specs]
    query = select(LedgerAccount.code, LedgerAccount.id).where(
        LedgerAccount.code.in_(codes), LedgerAccount.currency == currency
    )
    found = {code: account_id for code, account_id in await session.execute(query)}
    missing = [spec for spec in specs if spec.code not in found]
    if not missing:
        return found
    for spec in missing:
        await session.execute(
            _insert(session, LedgerAccount)
            .values(
                code=spec.code,
                currency=currency,
                kind=spec.kind,
                organization_id=spec.organization_id,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )
    found = {code: account_id for code, account_id in await session.execute(query)}
    assert set(found) == set(codes)
    return found


async def _write_entry(
    session: AsyncSession,
    entry: books.JournalEntry,
    *,
    kind: JournalEntryKind,
    idempotency_key: str,
    accounts: dict[str, int],
    order_id: int | None = None,
    client_organization_id: int | None = None,
    corrects_entry_id: int | None = None,
) -> int | None:
    """Insert a checked entry and its postings; ``None`` if its key was already written.

    The entry row goes first with ``ON CONFLICT DO NOTHING``: a duplicate (same
    idempotency key, same order's cashback, same corrected entry) inserts nothing and
    returns no id, even against a concurrent transaction (which it waits for).
    """
    entry_id: int | None = await session.scalar(
        _insert(session, JournalEntry)
        .values(
            kind=kind,
            memo=entry.memo[:300],
            currency=entry.currency,
            order_id=order_id,
            client_organization_id=client_organization_id,
            corrects_entry_id=corrects_entry_id,
            idempotency_key=idempotency_key,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(JournalEntry.id)
    )
    if entry_id is None:
        return None
    session.add_all(
        LedgerPosting(
            entry_id=entry_id,
            account_id=accounts[posting.account],
            amount=posting.amount.amount,
            currency=posting.amount.currency,
        )
        for posting in entry.postings
    )
    await session.flush()
    return entry_id


async def _entry_postings(session: AsyncSession, entry_id: int) -> books.JournalEntry:
    """A stored entry read back into ``domain.ledger`` form (accounts by code)."""
    entry = await session.get(JournalEntry, entry_id)
    if entry is None:
        raise not_found("entryId")
    rows = (
        await session.execute(
            select(LedgerAccount.code, LedgerPosting.amount, LedgerPosting.currency)
            .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
            .where(LedgerPosting.entry_id == entry_id)
            .order_by(LedgerPosting.id)
        )
    ).all()
    return books.JournalEntry(
        tuple(
            books.Posting(code, Money(Decimal(amount), currency)) for code, amount, currency in rows
        ),
        memo=entry.memo,
    )


# -- writes -------------------------------------------------------------------------------


async def credit_cashback(
    session: AsyncSession,
    order_id: int,
    partner_id: int,
    amount_minor: int,
    currency: Currency | str,
    *,
    client_organization_id: int | None = None,
    partner_organization_id: int | None = None,
    memo: str | None = None,
) -> CashbackCredit:
    """Credit ``amount_minor`` of cashback earned by order ``order_id`` to partner
    ``partner_id`` (``partners.id``), in the caller's transaction. Idempotent.

    A second call for the same order (a duplicate delivery, a retry after a crash, a
    concurrent worker) writes nothing and returns ``created=False`` with the existing
    entry's id. Zero cashback writes nothing (SPEC: nothing to credit). Bad input (not
    an integer, negative, absurd, unknown currency or partner) raises ``UseCaseError``:
    a retry cannot fix it. ``CASHBACK_CONFLICT`` (nothing written) when the credit
    disagrees with the order row (not due a cashback, another partner, amount or
    currency), with ``partner_organization_id``, or with an earlier credit of the same
    order (the first credit stands). ``client_organization_id`` is the client shown on
    the entry; it defaults to the order's client.
    """
    if not _is_int(order_id) or order_id <= 0:
        raise UseCaseError(INVALID_INPUT, "An order id is a positive integer.", "orderId")
    if not _is_int(partner_id) or partner_id <= 0:
        raise UseCaseError(INVALID_INPUT, "A partner id is a positive integer.", "partnerId")
    if not _is_int(amount_minor) or not 0 <= amount_minor <= MAX_CREDIT_MINOR:
        raise UseCaseError(
            INVALID_INPUT, "A cashback is a non-negative integer of minor units.", "amountMinor"
        )
    try:
        money = Money.from_minor_units(amount_minor, currency)
    except (MoneyError, ValueError) as exc:
        raise UseCaseError(INVALID_INPUT, "Unknown currency.", "currency") from exc
    if client_organization_id is not None and (
        not _is_int(client_organization_id) or client_organization_id <= 0
    ):
        raise UseCaseError(INVALID_INPUT, "A client id is a positive integer.", "clientId")

    # The partner and (if commerce wrote it) the order, in one query.
    row = (
        await session.execute(
            select(
                Partner.organization_id,
                Order.id,
                Order.client_id,
                Order.partner_id,
                Order.cashback,
                Order.currency,
                Order.cashback_due,
            )
            .select_from(Partner)
            .outerjoin(Order, Order.id == order_id)
            .where(Partner.id == partner_id)
        )
    ).first()
    if row is None:
        raise not_found("partnerId")
    if partner_organization_id is not None and partner_organization_id != row[0]:
        raise UseCaseError(
            CASHBACK_CONFLICT, f"Partner {partner_id} is not that organization.", "partnerId"
        )
    partner_org, found_order, order_client, order_partner, cashback, order_currency, due = row
    if amount_minor == 0:
        return CashbackCredit(entry_id=None, created=False)
    # The order row froze its quote: the credit must be for its partner, its cashback and
    # its currency, and the order must be due a cashback. An order that is not (or no
    # longer) there is not checked: the ledger does not depend on the commerce tables.
    if found_order is not None:
        if not due or order_partner != partner_id or Money(cashback, order_currency) != money:
            raise UseCaseError(
                CASHBACK_CONFLICT,
                f"Order {order_id} does not earn {money} of cashback for partner {partner_id}.",
                "orderId",
            )
        if client_organization_id is None:
            client_organization_id = order_client

    partner_code = prepaid_account_code(partner_org)
    entry = books.cashback_credit_entry(
        partner_code,
        CASHBACK_EXPENSE_CODE,
        money,
        memo=memo if memo is not None else f"Cashback for order {order_id}",
    )
    accounts = await _account_ids(
        session,
        money.currency,
        [
            _AccountSpec(partner_code, LedgerAccountKind.PARTNER_PREPAID, partner_org),
            _AccountSpec(CASHBACK_EXPENSE_CODE, LedgerAccountKind.CASHBACK_EXPENSE, None),
        ],
    )
    # No "already credited?" read first: the insert is the check (ON CONFLICT DO NOTHING
    # on the unique keys), which also holds against a concurrent transaction.
    key = cashback_key(order_id)
    entry_id = await _write_entry(
        session,
        entry,
        kind=JournalEntryKind.CASHBACK,
        idempotency_key=key,
        accounts=accounts,
        order_id=order_id,
        client_organization_id=client_organization_id,
    )
    if entry_id is not None:
        logger.info("cashback %s credited to partner %s (order %s)", money, partner_id, order_id)
        return CashbackCredit(entry_id=entry_id, created=True)
    existing = await _existing_credit(session, order_id)
    if existing is None:  # the conflict was on another key: never silently drop a credit
        raise UseCaseError(CASHBACK_CONFLICT, f"Key {key} is taken by another entry.", None)
    return _repeat(existing, entry, order_id)


async def _existing_credit(
    session: AsyncSession, order_id: int
) -> tuple[int, books.JournalEntry] | None:
    entry_id = await session.scalar(
        select(JournalEntry.id).where(
            JournalEntry.kind == JournalEntryKind.CASHBACK, JournalEntry.order_id == order_id
        )
    )
    if entry_id is None:
        return None
    return entry_id, await _entry_postings(session, entry_id)


def _shape(entry: books.JournalEntry) -> list[tuple[str, Decimal, str]]:
    return sorted((p.account, p.amount.amount, p.amount.currency.value) for p in entry.postings)


def _repeat(
    existing: tuple[int, books.JournalEntry], wanted: books.JournalEntry, order_id: int
) -> CashbackCredit:
    entry_id, stored = existing
    if _shape(stored) != _shape(wanted):
        raise UseCaseError(
            CASHBACK_CONFLICT,
            f"Order {order_id} was already credited differently (entry {entry_id}).",
            "orderId",
        )
    logger.info("order %s already credited (entry %s); nothing to do", order_id, entry_id)
    return CashbackCredit(entry_id=entry_id, created=False)


async def correct_entry(session: AsyncSession, entry_id: int, *, memo: str | None = None) -> int:
    """Reverse entry ``entry_id`` with a new CORRECTION entry; return its id. Idempotent.

    The correction posts the opposite amounts to the same accounts (``domain.ledger.
    correction_of``): the two net to zero. An entry is corrected at most once (a unique
    key); a second call returns the first correction. Corrections are not corrected.
    """
    original = await session.get(JournalEntry, entry_id)
    if original is None:
        raise not_found("entryId")
    if original.kind is JournalEntryKind.CORRECTION:
        raise UseCaseError(
            "CORRECTION_OF_CORRECTION", "A correction is not corrected; credit anew.", "entryId"
        )
    reversal = books.correction_of(await _entry_postings(session, entry_id), memo=memo)
    account_rows = await session.execute(
        select(LedgerAccount.code, LedgerAccount.id)
        .join(LedgerPosting, LedgerPosting.account_id == LedgerAccount.id)
        .where(LedgerPosting.entry_id == entry_id)
    )
    accounts = {code: account_id for code, account_id in account_rows}
    new_id = await _write_entry(
        session,
        reversal,
        kind=JournalEntryKind.CORRECTION,
        idempotency_key=correction_key(entry_id),
        accounts=accounts,
        order_id=original.order_id,
        client_organization_id=original.client_organization_id,
        corrects_entry_id=entry_id,
    )
    if new_id is None:
        found = await session.scalar(
            select(JournalEntry.id).where(JournalEntry.corrects_entry_id == entry_id)
        )
        assert found is not None
        return found
    return new_id


# -- reads --------------------------------------------------------------------------------


def _money(total: Decimal | int | None, currency: Currency) -> Money:
    return Money(Decimal(total or 0).quantize(CENT), currency)


async def prepaid_balance(
    session: AsyncSession, partner_org_id: int, currency: Currency | str
) -> Money:
    """The partner organization's prepaid balance: minus the sum of its account's postings.

    Computed from the postings on every call (never stored), so it always equals the sum
    of the ledger entries. Zero when the account does not exist yet.
    """
    currency = Currency(currency)
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerPosting.amount), 0))
        .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
        .where(
            LedgerAccount.code == prepaid_account_code(partner_org_id),
            LedgerAccount.currency == currency,
        )
    )
    return _money(-Decimal(total or 0), currency)


async def prepaid_currencies(session: AsyncSession, partner_org_id: int) -> list[Currency]:
    """The currencies in which the partner organization has a prepaid account."""
    rows = await session.scalars(
        select(LedgerAccount.currency)
        .where(LedgerAccount.code == prepaid_account_code(partner_org_id))
        .order_by(LedgerAccount.currency)
    )
    return list(rows)


def _entries_query() -> Select[JournalEntry, Decimal, Currency, int | None, str]:
    """Entries with their posting on a partner prepaid account and the client's name."""
    client = aliased(Organization)
    return (
        select(
            JournalEntry,
            LedgerPosting.amount,
            LedgerPosting.currency,
            LedgerAccount.organization_id,
            client.name,
        )
        .join(LedgerPosting, LedgerPosting.entry_id == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
        .outerjoin(client, client.id == JournalEntry.client_organization_id)
        .where(LedgerAccount.kind == LedgerAccountKind.PARTNER_PREPAID)
    )


def _prepaid_entry(row: Any) -> PrepaidEntry:
    entry, amount, currency, organization_id, client_name = row
    return PrepaidEntry(
        entry_id=entry.id,
        organization_id=organization_id,
        kind=entry.kind,
        created_at=entry.created_at,
        memo=entry.memo,
        amount=_money(-Decimal(amount), currency),
        order_id=entry.order_id,
        client_organization_id=entry.client_organization_id,
        client_name=client_name,
        corrects_entry_id=entry.corrects_entry_id,
    )


async def list_prepaid_entries(
    session: AsyncSession,
    partner_org_id: int,
    currency: Currency | str,
    request: PageRequest,
    *,
    client_organization_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[PrepaidEntry]:
    """A page of the entries of the partner's prepaid account, oldest first.

    Filters: the client whose order earned the entry; the period ``since <= created_at <
    until`` (either bound optional). Keyset pagination on the entry id.
    """
    stmt = _entries_query().where(
        LedgerAccount.code == prepaid_account_code(partner_org_id),
        LedgerAccount.currency == Currency(currency),
    )
    if client_organization_id is not None:
        stmt = stmt.where(JournalEntry.client_organization_id == client_organization_id)
    if since is not None:
        stmt = stmt.where(JournalEntry.created_at >= since)
    if until is not None:
        stmt = stmt.where(JournalEntry.created_at < until)
    if request.after is not None:
        stmt = stmt.where(JournalEntry.id > request.after)
    rows = (await session.execute(stmt.order_by(JournalEntry.id).limit(request.first + 1))).all()
    items = [_prepaid_entry(row) for row in rows[: request.first]]
    return Page(
        items=items,
        keys=[item.entry_id for item in items],
        has_next=len(rows) > request.first,
        has_previous=request.after is not None,
    )


async def prepaid_entries_by_id(
    session: AsyncSession, entry_ids: Sequence[int]
) -> dict[int, PrepaidEntry]:
    """Entries by id, as seen from the partner account they post to (Relay nodes)."""
    if not entry_ids:
        return {}
    rows = (await session.execute(_entries_query().where(JournalEntry.id.in_(entry_ids)))).all()
    return {entry.entry_id: entry for entry in map(_prepaid_entry, rows)}


# -- the partner's view (authorization) ---------------------------------------------------


@dataclass(frozen=True)
class PrepaidAccountView:
    organization_id: int
    currency: Currency


def may_read_prepaid_account(ctx: RequestContext, organization_id: int) -> bool:
    """A partner's prepaid account: its billing members (legal reps, administrators)."""
    return has_billing_rights(ctx.viewer, organization_id)


async def prepaid_account(
    ctx: RequestContext, organization_id: int, currency: Currency | None = None
) -> PrepaidAccountView | None:
    """The prepaid account of partner organization ``organization_id`` for a billing member.

    ``None`` if the organization is not a partner of the program. ``currency`` defaults to
    the organization's own currency. A viewer without billing rights gets ``NOT_FOUND``
    (the schema's permission class answers FORBIDDEN before this runs).
    """
    if not may_read_prepaid_account(ctx, organization_id):
        raise not_found("organizationId")
    async with ctx.services.sessionmaker() as session:
        row = (
            await session.execute(
                select(Organization.currency, Partner.id)
                .outerjoin(Partner, Partner.organization_id == Organization.id)
                .where(Organization.id == organization_id)
            )
        ).first()
    if row is None or row[1] is None:
        return None
    return PrepaidAccountView(organization_id, currency or row[0])


async def client_of_partner(ctx: RequestContext, organization_id: int, grant_id: int) -> int:
    """The client organization of grant ``grant_id`` (a ``Client``) of this partner.

    Any grant, ended or not: a partner filters its past cashback by former clients too.
    A grant of another partner, or one with no client yet, is ``NOT_FOUND``.
    """
    async with ctx.services.sessionmaker() as session:
        client_id = await session.scalar(
            select(Grant.client_id)
            .join(Partner, Partner.id == Grant.partner_id)
            .where(Grant.id == grant_id, Partner.organization_id == organization_id)
        )
    if client_id is None:
        raise not_found("clientId")
    return client_id


# -- monthly statements -------------------------------------------------------------------


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """``[start, end)`` of a calendar month, in UTC."""
    if not 1 <= month <= 12 or not 2000 <= year <= 9999:
        raise UseCaseError(INVALID_INPUT, "A month is 1..12 of a year after 2000.", "month")
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end


@dataclass(frozen=True)
class CurrencyStatement:
    currency: Currency
    credit_count: int
    credited: Money  # cashback credited in the month
    corrected: Money  # corrections in the month (negative when they took cashback back)
    closing_balance: Money  # the balance at the end of the month


async def partners_with_entries(session: AsyncSession, start: datetime, end: datetime) -> list[int]:
    """Partner organizations whose prepaid account moved in ``[start, end)``."""
    rows = await session.scalars(
        select(LedgerAccount.organization_id)
        .join(LedgerPosting, LedgerPosting.account_id == LedgerAccount.id)
        .join(JournalEntry, JournalEntry.id == LedgerPosting.entry_id)
        .where(
            LedgerAccount.kind == LedgerAccountKind.PARTNER_PREPAID,
            JournalEntry.created_at >= start,
            JournalEntry.created_at < end,
        )
        .distinct()
        .order_by(LedgerAccount.organization_id)
    )
    return [org for org in rows if org is not None]


async def cashback_statement(
    session: AsyncSession, partner_org_id: int, start: datetime, end: datetime
) -> list[CurrencyStatement]:
    """The month's movements of each of the partner's prepaid accounts (by currency)."""
    code = prepaid_account_code(partner_org_id)
    in_month = (JournalEntry.created_at >= start) & (JournalEntry.created_at < end)
    rows = (
        await session.execute(
            select(
                LedgerAccount.currency,
                JournalEntry.kind,
                func.count(LedgerPosting.id),
                func.coalesce(func.sum(LedgerPosting.amount), 0),
            )
            .join(LedgerPosting, LedgerPosting.account_id == LedgerAccount.id)
            .join(JournalEntry, JournalEntry.id == LedgerPosting.entry_id)
            .where(LedgerAccount.code == code, in_month)
            .group_by(LedgerAccount.currency, JournalEntry.kind)
        )
    ).all()
    closing_rows = await session.execute(
        select(LedgerAccount.currency, func.coalesce(func.sum(LedgerPosting.amount), 0))
        .join(LedgerPosting, LedgerPosting.account_id == LedgerAccount.id)
        .join(JournalEntry, JournalEntry.id == LedgerPosting.entry_id)
        .where(LedgerAccount.code == code, JournalEntry.created_at < end)
        .group_by(LedgerAccount.currency)
    )
    closing = {currency: total for currency, total in closing_rows}
    statements = []
    for currency in sorted({Currency(r[0]) for r in rows}):
        by_kind = {kind: (count, total) for cur, kind, count, total in rows if cur == currency}
        count, credited = by_kind.get(JournalEntryKind.CASHBACK, (0, 0))
        _, corrected = by_kind.get(JournalEntryKind.CORRECTION, (0, 0))
        statements.append(
            CurrencyStatement(
                currency=currency,
                credit_count=int(count),
                credited=_money(-Decimal(credited), currency),
                corrected=_money(-Decimal(corrected), currency),
                closing_balance=_money(-Decimal(closing.get(currency, 0)), currency),
            )
        )
    return statements
