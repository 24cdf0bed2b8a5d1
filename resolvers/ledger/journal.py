"""The prepaid ledger's journal: accounts created on first use, checked entries written
once with their postings, stored entries read back.

Every entry is built and checked by ``domain.ledger`` (balanced, one currency, no zero, at
most two decimals) before it is written, in the caller's transaction (``session``).

Nothing here updates or deletes a ledger row (the ORM refuses it anyway, see
``db.models.ledger``); a correction is a new entry reversing the old one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import utcnow
from db.models.ledger import (
    JournalEntry,
    JournalEntryKind,
    LedgerAccount,
    LedgerAccountKind,
    LedgerPosting,
)
from domain import ledger as books
from domain.money import Currency, Money
from resolvers.errors import not_found


def prepaid_account_code(organization_id: int) -> str:
    """The code of a partner organization's prepaid account (one per currency)."""
    return f"partner:{organization_id}:prepaid"


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


@dataclass(frozen=True)
class _EntryWrite:
    """One checked entry to write (see :func:`_write_entries`)."""

    entry: books.JournalEntry
    kind: JournalEntryKind
    idempotency_key: str
    accounts: dict[str, int]
    order_id: int | None = None
    client_organization_id: int | None = None
    corrects_entry_id: int | None = None


async def _write_entries(session: AsyncSession, writes: Sequence[_EntryWrite]) -> dict[str, int]:
    """Insert checked entries and their postings: idempotency key -> id of each written.

    The entry rows go first, in one ``INSERT ... ON CONFLICT DO NOTHING RETURNING``: a
    duplicate (same idempotency key, same order's cashback, same corrected entry, also
    within ``writes``) inserts nothing and is missing from the result, even against a
    concurrent transaction (which it waits for). Then every posting in one statement.
    Two statements whatever the number of entries.
    """
    if not writes:
        return {}
    now = utcnow()
    entries = cast(Table, JournalEntry.__table__)
    # Core statements with a list of parameters (one "insertmanyvalues" round trip, the
    # statement compiled once and cached), not the ORM's unit of work.
    rows = await session.execute(
        _insert(session, entries)
        .on_conflict_do_nothing()
        .returning(entries.c.idempotency_key, entries.c.id),
        [
            {
                "kind": w.kind,
                "memo": w.entry.memo[:300],
                "currency": w.entry.currency,
                "order_id": w.order_id,
                "client_organization_id": w.client_organization_id,
                "corrects_entry_id": w.corrects_entry_id,
                "idempotency_key": w.idempotency_key,
                "created_at": now,
            }
            for w in writes
        ],
    )
    written: dict[str, int] = {key: entry_id for key, entry_id in rows}
    postings: list[dict[str, Any]] = []
    posted: set[str] = set()  # a key written once has its postings once (its first write)
    for w in writes:
        if w.idempotency_key not in written or w.idempotency_key in posted:
            continue
        posted.add(w.idempotency_key)
        postings.extend(
            {
                "entry_id": written[w.idempotency_key],
                "account_id": w.accounts[posting.account],
                "amount": posting.amount.amount,
                "currency": posting.amount.currency,
            }
            for posting in w.entry.postings
        )
    if postings:
        await session.execute(insert(cast(Table, LedgerPosting.__table__)), postings)
    return written


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
    """Insert a checked entry and its postings; ``None`` if its key was already written
    (:func:`_write_entries` for one entry)."""
    write = _EntryWrite(
        entry, kind, idempotency_key, accounts, order_id, client_organization_id, corrects_entry_id
    )
    return (await _write_entries(session, [write])).get(idempotency_key)


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
