"""Correcting a ledger entry: a new CORRECTION entry reversing it, in the caller's
transaction (``session``).

Nothing here updates or deletes a ledger row (the ORM refuses it anyway, see
``db.models.ledger``); a correction is a new entry reversing the old one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models.ledger import JournalEntry, JournalEntryKind, LedgerAccount, LedgerPosting
from domain import ledger as books
from resolvers.errors import UseCaseError, not_found
from resolvers.ledger.journal import _entry_postings, _write_entry


def correction_key(entry_id: int) -> str:
    return f"correction:{entry_id}"


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
