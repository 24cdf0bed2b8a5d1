"""Crediting cashback to a partner's prepaid account, once per order.

Writes run inside the caller's transaction (``session``): the cashback worker calls
:func:`credit_cashback` inside ``workers.outbox.process_once``, so the credit and the
outbox row's ``processed_at`` commit together. Every entry is built and checked by
``domain.ledger`` (balanced, one currency, no zero, at most two decimals) before it is
written; the database then refuses a second CASHBACK entry for the same order
(``uq_journal_entries_cashback_order``), whatever the number of concurrent writers.

``domain.ledger`` posts a cashback credit as a *credit* (negative) on the partner's
prepaid account, a liability of the provider.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
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
from resolvers.integration_events import record_event
from resolvers.integration_events.views import cashback_view
from resolvers.ledger.journal import (
    _account_ids,
    _AccountSpec,
    _entry_postings,
    _write_entry,
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


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
        await record_event(
            session,
            EventKind.CASHBACK_CREDITED,
            subject_type="Order",
            subject_id=order_id,
            facts=EventFacts(partner_organization_id=partner_org),
            view=lambda org: cashback_view(order_id, entry_id, money.amount, money.currency),
            now=utcnow(),
        )
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
