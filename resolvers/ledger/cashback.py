"""Crediting cashback to a partner's prepaid account, once per order.

Writes run inside the caller's transaction (``session``): the cashback worker calls
:func:`credit_cashbacks` (a batch of outbox rows) inside ``workers.outbox_batch``'s
transaction, so the credits and the rows' ``processed_at`` commit together; a batch
costs the statements of one credit. :func:`credit_cashback` is the batch of one, and
raises what the batch returns as a refusal. Every entry is built and checked by
``domain.ledger`` (balanced, one currency, no zero, at most two decimals) before it is
written; the database then refuses a second CASHBACK entry for the same order
(``uq_journal_entries_cashback_order``), whatever the number of concurrent writers.

``domain.ledger`` posts a cashback credit as a *credit* (negative) on the partner's
prepaid account, a liability of the provider.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Order, Partner, utcnow
from db.models.ledger import JournalEntry, JournalEntryKind, LedgerAccountKind
from domain import ledger as books
from domain.error_codes import ErrorCode
from domain.integration_events import EventFacts, EventKind
from domain.money import Currency, Money, MoneyError
from resolvers.errors import INVALID_INPUT, UseCaseError, not_found
from resolvers.integration_events import record_events_about
from resolvers.integration_events.recording import View
from resolvers.integration_events.views import cashback_view
from resolvers.ledger.journal import (
    _account_ids,
    _AccountSpec,
    _entry_postings,
    _EntryWrite,
    _write_entries,
    prepaid_account_code,
)

logger = logging.getLogger(__name__)

#: The outbox actor that credits cashback (``workers.cashback``), and its payload keys.
CREDIT_CASHBACK = "credit_cashback"
#: The provider's cashback expense account, one per currency.
CASHBACK_EXPENSE_CODE = "program:cashback_expense"
#: Far above any real order (NUMERIC(14, 2) holds < 10**12): refuses absurd amounts early.
MAX_CREDIT_MINOR = 10**11

CASHBACK_CONFLICT = ErrorCode.CASHBACK_CONFLICT


def cashback_key(order_id: int) -> str:
    """The idempotency key of an order's cashback credit; also the outbox dedupe key."""
    return f"cashback:order:{order_id}"


@dataclass(frozen=True)
class CashbackCredit:
    """What :func:`credit_cashback` did: ``created`` is False for a repeated delivery."""

    entry_id: int | None
    created: bool


@dataclass(frozen=True)
class CashbackRequest:
    """One credit to make (the arguments of :func:`credit_cashback`)."""

    order_id: int
    partner_id: int
    amount_minor: int
    currency: Currency | str
    client_organization_id: int | None = None
    partner_organization_id: int | None = None
    memo: str | None = None


#: What a credit that is refused is refused with: nothing of it was written.
CashbackRefusal = UseCaseError | books.LedgerError
CashbackOutcome = CashbackCredit | CashbackRefusal


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _checked_money(request: CashbackRequest) -> Money:
    """The request's amount, once its values are valid (``UseCaseError`` otherwise)."""
    if not _is_int(request.order_id) or request.order_id <= 0:
        raise UseCaseError(INVALID_INPUT, "An order id is a positive integer.", "orderId")
    if not _is_int(request.partner_id) or request.partner_id <= 0:
        raise UseCaseError(INVALID_INPUT, "A partner id is a positive integer.", "partnerId")
    if not _is_int(request.amount_minor) or not 0 <= request.amount_minor <= MAX_CREDIT_MINOR:
        raise UseCaseError(
            INVALID_INPUT, "A cashback is a non-negative integer of minor units.", "amountMinor"
        )
    try:
        money = Money.from_minor_units(request.amount_minor, request.currency)
    except (MoneyError, ValueError) as exc:
        raise UseCaseError(INVALID_INPUT, "Unknown currency.", "currency") from exc
    client = request.client_organization_id
    if client is not None and (not _is_int(client) or client <= 0):
        raise UseCaseError(INVALID_INPUT, "A client id is a positive integer.", "clientId")
    return money


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
    request = CashbackRequest(
        order_id,
        partner_id,
        amount_minor,
        currency,
        client_organization_id=client_organization_id,
        partner_organization_id=partner_organization_id,
        memo=memo,
    )
    [outcome] = await credit_cashbacks(session, [request])
    if isinstance(outcome, CashbackCredit):
        return outcome
    raise outcome


@dataclass(frozen=True)
class _Order:
    client_id: int
    partner_id: int | None
    cashback: Money
    due: bool


async def _partners_and_orders(
    session: AsyncSession, requests: Sequence[CashbackRequest]
) -> tuple[dict[int, int], dict[int, _Order]]:
    """Partner id -> organization id; order id -> the order's frozen quote. Two queries."""
    partners = {
        pid: org
        for pid, org in await session.execute(
            select(Partner.id, Partner.organization_id).where(
                Partner.id.in_({r.partner_id for r in requests})
            )
        )
    }
    orders = {
        row.id: _Order(
            row.client_id, row.partner_id, Money(row.cashback, row.currency), row.cashback_due
        )
        for row in await session.execute(
            select(
                Order.id,
                Order.client_id,
                Order.partner_id,
                Order.cashback,
                Order.currency,
                Order.cashback_due,
            ).where(Order.id.in_({r.order_id for r in requests}))
        )
    }
    return partners, orders


@dataclass(frozen=True)
class _Planned:
    """A credit checked against the database, about to be written."""

    index: int
    request: CashbackRequest
    money: Money
    partner_org: int
    write: _EntryWrite


def _plan(
    index: int,
    request: CashbackRequest,
    money: Money,
    partners: dict[int, int],
    orders: dict[int, _Order],
) -> _Planned | None:
    """The entry to write for ``request`` (``None``: zero, nothing to write), or raise."""
    partner_org = partners.get(request.partner_id)
    if partner_org is None:
        raise not_found("partnerId")
    if request.partner_organization_id is not None and request.partner_organization_id != (
        partner_org
    ):
        raise UseCaseError(
            CASHBACK_CONFLICT,
            f"Partner {request.partner_id} is not that organization.",
            "partnerId",
        )
    if request.amount_minor == 0:
        return None
    # The order row froze its quote: the credit must be for its partner, its cashback and
    # its currency, and the order must be due a cashback. An order that is not (or no
    # longer) there is not checked: the ledger does not depend on the commerce tables.
    client = request.client_organization_id
    order = orders.get(request.order_id)
    if order is not None:
        if not order.due or order.partner_id != request.partner_id or order.cashback != money:
            raise UseCaseError(
                CASHBACK_CONFLICT,
                f"Order {request.order_id} does not earn {money} of cashback for partner "
                f"{request.partner_id}.",
                "orderId",
            )
        if client is None:
            client = order.client_id
    partner_code = prepaid_account_code(partner_org)
    memo = request.memo if request.memo is not None else f"Cashback for order {request.order_id}"
    entry = books.cashback_credit_entry(partner_code, CASHBACK_EXPENSE_CODE, money, memo=memo)
    write = _EntryWrite(
        entry,
        JournalEntryKind.CASHBACK,
        cashback_key(request.order_id),
        {},  # the account ids, once known (_with_accounts)
        order_id=request.order_id,
        client_organization_id=client,
    )
    return _Planned(index, request, money, partner_org, write)


async def _with_accounts(session: AsyncSession, planned: list[_Planned]) -> list[_EntryWrite]:
    """The planned entries with their accounts' ids: one query per currency."""
    accounts: dict[tuple[str, Currency], int] = {}
    for currency in sorted({p.money.currency for p in planned}):
        specs = {
            spec.code: spec
            for p in planned
            if p.money.currency == currency
            for spec in (
                _AccountSpec(
                    prepaid_account_code(p.partner_org),
                    LedgerAccountKind.PARTNER_PREPAID,
                    p.partner_org,
                ),
                _AccountSpec(CASHBACK_EXPENSE_CODE, LedgerAccountKind.CASHBACK_EXPENSE, None),
            )
        }
        found = await _account_ids(session, currency, sorted(specs.values(), key=_code))
        accounts.update({(code, currency): account_id for code, account_id in found.items()})
    return [
        replace(
            p.write,
            accounts={
                posting.account: accounts[posting.account, p.money.currency]
                for posting in p.write.entry.postings
            },
        )
        for p in planned
    ]


def _code(spec: _AccountSpec) -> str:
    return spec.code


async def credit_cashbacks(
    session: AsyncSession, requests: Sequence[CashbackRequest]
) -> list[CashbackOutcome]:
    """Credit many cashbacks in the caller's transaction: one outcome per request, in order.

    Each request is handled exactly as :func:`credit_cashback` handles it, except that a
    refusal is returned, not raised: the other credits go on, and nothing of the refused
    one is written (every check is done before anything is written). A database error
    (the connection lost, a client organization that does not exist) raises, and the
    caller's transaction is then unusable. The statements are those of a single credit,
    whatever the number of requests: the partners, the orders, the accounts (one query
    per currency), the entries, their postings, the events and their webhook endpoints.
    """
    outcomes: list[CashbackOutcome | None] = [None] * len(requests)
    checked: list[tuple[int, CashbackRequest, Money]] = []
    for index, request in enumerate(requests):
        try:
            checked.append((index, request, _checked_money(request)))
        except UseCaseError as exc:
            outcomes[index] = exc
    partners, orders = (
        await _partners_and_orders(session, [c[1] for c in checked]) if checked else ({}, {})
    )
    planned: list[_Planned] = []
    for index, request, money in checked:
        try:
            plan = _plan(index, request, money, partners, orders)
        except (UseCaseError, books.LedgerError) as exc:
            outcomes[index] = exc
            continue
        if plan is None:
            outcomes[index] = CashbackCredit(entry_id=None, created=False)
        else:
            planned.append(plan)
    # No "already credited?" read first: the insert is the check (ON CONFLICT DO NOTHING
    # on the unique keys), which also holds against a concurrent transaction.
    planned.sort(key=lambda p: p.request.order_id)  # rows locked in one order by everyone
    # Two requests for one order in one call: the first is written, the second is then a
    # repeat of it (as it would be in a later call).
    firsts = list({p.write.idempotency_key: p for p in reversed(planned)}.values())[::-1]
    written = await _write_entries(session, await _with_accounts(session, firsts))
    created = [p for p in firsts if p.write.idempotency_key in written]
    for p in created:
        outcomes[p.index] = CashbackCredit(entry_id=written[p.write.idempotency_key], created=True)
    _log_credits(created)
    await record_events_about(
        session,
        EventKind.CASHBACK_CREDITED,
        [
            (
                "Order",
                p.request.order_id,
                EventFacts(partner_organization_id=p.partner_org),
                _cashback_view(p.request.order_id, written[p.write.idempotency_key], p.money),
            )
            for p in created
        ],
        now=utcnow(),
    )
    for p in planned:
        if outcomes[p.index] is None:
            outcomes[p.index] = await _repeated(session, p)
    return [outcome for outcome in outcomes if outcome is not None]


def _log_credits(created: Sequence[_Planned]) -> None:
    """One line per call (a batch's jobs log a line each: ``workers.outbox_batch``)."""
    if len(created) == 1:
        [p] = created
        logger.info(
            "cashback %s credited to partner %s (order %s)",
            p.money,
            p.request.partner_id,
            p.request.order_id,
        )
    elif created:
        orders = ", ".join(str(p.request.order_id) for p in created)
        logger.info("cashback credited for %d orders: %s", len(created), orders)


def _cashback_view(order_id: int, entry_id: int, money: Money) -> View:
    return lambda org: cashback_view(order_id, entry_id, money.amount, money.currency)


async def _repeated(session: AsyncSession, planned: _Planned) -> CashbackOutcome:
    """The outcome of a credit whose entry was not written: the order's earlier credit."""
    order_id, key = planned.request.order_id, planned.write.idempotency_key
    existing = await _existing_credit(session, order_id)
    if existing is None:  # the conflict was on another key: never silently drop a credit
        return UseCaseError(CASHBACK_CONFLICT, f"Key {key} is taken by another entry.", None)
    try:
        return _repeat(existing, planned.write.entry, order_id)
    except UseCaseError as exc:
        return exc


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
