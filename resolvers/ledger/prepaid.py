"""Reading a partner's prepaid account: its balance, its currencies, its entries.

Amounts, seen from the partner: ``domain.ledger`` posts a cashback credit as a *credit*
(negative) on the partner's prepaid account, a liability of the provider. The prepaid
balance shown to a partner and each entry's ``amount`` here are the opposite of the
postings' signed sum: positive when the provider owes the partner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import Organization
from db.models.ledger import (
    JournalEntry,
    JournalEntryKind,
    LedgerAccount,
    LedgerAccountKind,
    LedgerPosting,
)
from domain.money import CENT, Currency, Money
from resolvers.ledger.journal import prepaid_account_code
from resolvers.pagination import Page, PageRequest, fetch_row_page


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
    stmt: Any = _entries_query().where(
        LedgerAccount.code == prepaid_account_code(partner_org_id),
        LedgerAccount.currency == Currency(currency),
    )
    if client_organization_id is not None:
        stmt = stmt.where(JournalEntry.client_organization_id == client_organization_id)
    if since is not None:
        stmt = stmt.where(JournalEntry.created_at >= since)
    if until is not None:
        stmt = stmt.where(JournalEntry.created_at < until)
    return (await fetch_row_page(session, stmt, JournalEntry.id, request)).map(_prepaid_entry)


async def prepaid_entries_by_id(
    session: AsyncSession, entry_ids: Sequence[int]
) -> dict[int, PrepaidEntry]:
    """Entries by id, as seen from the partner account they post to (Relay nodes)."""
    if not entry_ids:
        return {}
    rows = (await session.execute(_entries_query().where(JournalEntry.id.in_(entry_ids)))).all()
    return {entry.entry_id: entry for entry in map(_prepaid_entry, rows)}
