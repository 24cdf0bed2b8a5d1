"""Monthly cashback statements: the movements of a partner's prepaid accounts in a
calendar month.

Amounts as in :mod:`resolvers.ledger.prepaid`: the opposite of the postings' signed sum,
positive when the provider owes the partner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models.ledger import (
    JournalEntry,
    JournalEntryKind,
    LedgerAccount,
    LedgerAccountKind,
    LedgerPosting,
)
from domain.money import Currency, Money
from resolvers.errors import INVALID_INPUT, UseCaseError
from resolvers.ledger.journal import prepaid_account_code
from resolvers.ledger.prepaid import _money


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
