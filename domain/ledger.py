"""A pure double-entry ledger model: postings, balanced journal entries, corrections.

Sign convention: a posting's amount is signed, **debit positive, credit negative**. An
entry's postings sum to zero. The provider keeps the books, so a partner's prepaid account
is a liability: crediting cashback to it is a *credit* (negative posting), and its
`balance` is negative when the provider owes the partner money; the prepaid balance shown
to the partner is `-balance(...)`.

Entries are never edited: a mistake is undone by a new entry, `correction_of(entry)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from domain.error_codes import ErrorCode
from domain.money import CENT, Currency, Money


class LedgerError(ValueError):
    """An invalid posting or entry, with a stable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = ErrorCode(code)
        self.message = message


def _check_amount(amount: Money) -> None:
    if not isinstance(amount, Money):
        raise LedgerError("INVALID_AMOUNT", "a posting amount is Money")
    value = amount.amount
    if not value.is_finite():
        raise LedgerError("INVALID_AMOUNT", "a posting amount is a finite number")
    if value != value.quantize(CENT):
        raise LedgerError("SUB_CENT_AMOUNT", "a posting amount has at most two decimals")


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of an entry: `amount` > 0 debits `account`, < 0 credits it."""

    account: str
    amount: Money

    def __post_init__(self) -> None:
        if not isinstance(self.account, str) or not self.account.strip():
            raise LedgerError("INVALID_ACCOUNT", "an account is a non-empty name")
        _check_amount(self.amount)
        if self.amount.amount == 0:
            raise LedgerError("ZERO_POSTING", "a posting never has a zero amount")


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """At least two postings in one currency, summing to zero."""

    postings: tuple[Posting, ...]
    memo: str = ""

    def __post_init__(self) -> None:
        postings = tuple(self.postings)
        object.__setattr__(self, "postings", postings)
        if len(postings) < 2:
            raise LedgerError("TOO_FEW_POSTINGS", "an entry has at least two postings")
        if not all(isinstance(p, Posting) for p in postings):
            raise LedgerError("INVALID_POSTING", "an entry holds postings only")
        currencies = {p.amount.currency for p in postings}
        if len(currencies) != 1:
            raise LedgerError("MIXED_CURRENCIES", "an entry is in a single currency")
        if sum((p.amount.amount for p in postings), start=Decimal(0)) != 0:
            raise LedgerError("UNBALANCED", "an entry's postings sum to zero")

    @property
    def currency(self) -> Currency:
        return self.postings[0].amount.currency


def cashback_credit_entry(
    partner_account: str, cashback_expense_account: str, amount: Money, *, memo: str = ""
) -> JournalEntry:
    """Credit `amount` (> 0) of cashback to the partner's prepaid account.

    Debit the provider's cashback expense, credit the partner's prepaid (liability) account.
    A zero cashback is not posted: callers skip it.
    """
    _check_amount(amount)
    if amount.amount <= 0:
        raise LedgerError("NON_POSITIVE_AMOUNT", "a cashback credit is positive")
    if partner_account == cashback_expense_account:
        raise LedgerError("SAME_ACCOUNT", "debit and credit accounts must differ")
    return JournalEntry(
        (Posting(cashback_expense_account, amount), Posting(partner_account, -amount)),
        memo=memo,
    )


def correction_of(entry: JournalEntry, *, memo: str | None = None) -> JournalEntry:
    """The reversing entry: same accounts, opposite amounts; together they net to zero."""
    if memo is None:
        memo = f"correction of: {entry.memo}" if entry.memo else "correction"
    return JournalEntry(tuple(Posting(p.account, -p.amount) for p in entry.postings), memo=memo)


def postings_of(entries: Iterable[JournalEntry]) -> tuple[Posting, ...]:
    """Every posting of `entries`, in order."""
    return tuple(p for e in entries for p in e.postings)


def balance(
    postings: Iterable[Posting], account: str, *, currency: Currency | None = None
) -> Money:
    """The signed sum (debits positive) of `account`'s postings.

    With no posting on the account, the balance is zero in `currency` (required then).
    Postings of the account in another currency than `currency`, or in mixed currencies,
    raise LedgerError.
    """
    total: Money | None = Money.zero(currency) if currency is not None else None
    for posting in postings:
        if posting.account != account:
            continue
        if total is None:
            total = Money.zero(posting.amount.currency)
        if posting.amount.currency is not total.currency:
            raise LedgerError("MIXED_CURRENCIES", f"{account} holds several currencies")
        total = total + posting.amount
    if total is None:
        raise LedgerError("NO_CURRENCY", f"no posting on {account}; give the currency")
    return total
