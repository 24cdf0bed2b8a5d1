"""The double-entry ledger of prepaid accounts (SPEC "Prices, discounts and cashback").

Three tables, append-only:

- ``ledger_accounts``: one per (code, currency): a partner's prepaid account
  (``partner:<organization id>:prepaid``, ``organization_id`` set) or a program account
  (``program:cashback_expense``, no organization).
- ``journal_entries``: one movement (a cashback credit, a correction...). Never edited:
  a mistake is undone by a new entry whose ``corrects_entry_id`` names it.
- ``ledger_postings``: the lines of an entry, signed (debit > 0, credit < 0, see
  ``domain.ledger``); an entry's postings sum to zero (checked by ``domain.ledger`` before
  any write). A balance is the sum of an account's postings: a query, never a stored number.

Database guarantees (whatever the code does):

- an order is credited at most once: unique ``order_id`` among ``CASHBACK`` entries
  (``uq_journal_entries_cashback_order``), and a unique ``idempotency_key`` per entry;
- an entry is corrected at most once (unique ``corrects_entry_id``);
- a posting is in its account's currency and its entry's currency (composite foreign keys
  onto ``(id, currency)``), never zero;
- a CASHBACK entry has an order, a CORRECTION entry names the entry it corrects;
- nothing cascades: deleting an organization or an entry that has postings fails.

``order_id`` is deliberately not a foreign key to ``orders``: the ledger does not depend on
the commerce tables (the order may be referenced by id only).

The ORM refuses to UPDATE or DELETE these rows (``_refuse_changes`` below), so no code path
edits the books; corrections are new entries (``resolvers.ledger.correct_entry``).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Amount, Base, BigId, CreatedMixin, IdMixin, enum_column, utcnow
from domain.money import Currency


class LedgerAccountKind(enum.StrEnum):
    """What an account is for."""

    #: A partner's prepaid balance (a liability of the provider: credits raise it).
    PARTNER_PREPAID = "PARTNER_PREPAID"
    #: The provider's cashback expense (debited by every cashback credit).
    CASHBACK_EXPENSE = "CASHBACK_EXPENSE"


class JournalEntryKind(enum.StrEnum):
    """Why an entry was written."""

    #: Cashback earned by an order or a renewal (one per order, ever).
    CASHBACK = "CASHBACK"
    #: The exact reversal of an earlier entry (``corrects_entry_id``).
    CORRECTION = "CORRECTION"


class LedgerAccount(IdMixin, CreatedMixin, Base):
    __tablename__ = "ledger_accounts"

    # The owner of a partner's prepaid account; NULL for the program's own accounts.
    organization_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    code: Mapped[str] = mapped_column(String(100))
    currency: Mapped[Currency] = mapped_column(enum_column(Currency, "ledger_account_currency"))
    kind: Mapped[LedgerAccountKind] = mapped_column(
        enum_column(LedgerAccountKind, "ledger_account_kind")
    )

    __table_args__ = (
        UniqueConstraint("code", "currency"),
        # Target of the postings' composite key: a posting is in its account's currency.
        UniqueConstraint("id", "currency"),
        CheckConstraint(
            "(kind = 'PARTNER_PREPAID') = (organization_id IS NOT NULL)",
            name="prepaid_has_organization",
        ),
    )


_CASHBACK_WHERE = text("kind = 'CASHBACK'")


class JournalEntry(IdMixin, Base):
    __tablename__ = "journal_entries"

    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[JournalEntryKind] = mapped_column(
        enum_column(JournalEntryKind, "journal_entry_kind")
    )
    memo: Mapped[str] = mapped_column(String(300), default="")
    currency: Mapped[Currency] = mapped_column(enum_column(Currency, "journal_entry_currency"))
    # The order (or renewal) a CASHBACK entry credits; no FK: see the module docstring.
    order_id: Mapped[int | None] = mapped_column(BigId)
    # The client whose order earned the cashback (listing and filtering by client).
    client_organization_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    corrects_entry_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("journal_entries.id", ondelete="RESTRICT"), unique=True
    )
    # What makes a retried write a no-op: "cashback:order:<id>", "correction:<entry id>".
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)

    __table_args__ = (
        # Each order is credited at most once: a database guarantee, not a code convention.
        Index(
            "uq_journal_entries_cashback_order",
            "order_id",
            unique=True,
            sqlite_where=_CASHBACK_WHERE,
            postgresql_where=_CASHBACK_WHERE,
        ),
        UniqueConstraint("id", "currency"),
        CheckConstraint("kind <> 'CASHBACK' OR order_id IS NOT NULL", name="cashback_has_order"),
        CheckConstraint(
            "(kind = 'CORRECTION') = (corrects_entry_id IS NOT NULL)",
            name="correction_names_entry",
        ),
        CheckConstraint("corrects_entry_id IS NULL OR corrects_entry_id <> id", name="not_self"),
    )


class LedgerPosting(IdMixin, Base):
    __tablename__ = "ledger_postings"

    entry_id: Mapped[int] = mapped_column(BigId, index=True)
    account_id: Mapped[int] = mapped_column(BigId)
    # Signed: debit > 0, credit < 0 (domain.ledger's convention).
    amount: Mapped[Decimal] = mapped_column(Amount())
    currency: Mapped[Currency] = mapped_column(enum_column(Currency, "ledger_posting_currency"))

    __table_args__ = (
        ForeignKeyConstraint(
            ["entry_id", "currency"],
            ["journal_entries.id", "journal_entries.currency"],
            name="fk_ledger_postings_entry_currency",
            ondelete="RESTRICT",
        ),
        ForeignKeyConstraint(
            ["account_id", "currency"],
            ["ledger_accounts.id", "ledger_accounts.currency"],
            name="fk_ledger_postings_account_currency",
            ondelete="RESTRICT",
        ),
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        Index("ix_ledger_postings_account_entry", "account_id", "entry_id"),
    )


class ImmutableLedgerError(RuntimeError):
    """Raised when code tries to UPDATE or DELETE a ledger row through the ORM."""


def _refuse_changes(_mapper: Any, _connection: Any, target: Any) -> None:
    raise ImmutableLedgerError(
        f"{type(target).__name__} rows are immutable: write a correction entry instead"
    )


for _model in (LedgerAccount, JournalEntry, LedgerPosting):
    event.listen(_model, "before_update", _refuse_changes)
    event.listen(_model, "before_delete", _refuse_changes)
