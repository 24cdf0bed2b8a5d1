"""The double-entry ledger: balanced entries, cashback credits, corrections, balances."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.ledger import (
    JournalEntry,
    LedgerError,
    Posting,
    balance,
    cashback_credit_entry,
    correction_of,
    postings_of,
)
from domain.money import Currency, Money

PARTNER = "partner:42:prepaid"
EXPENSE = "provider:cashback_expense"


def chf(amount: str) -> Money:
    return Money.of(amount, "CHF")


def _code(exc: pytest.ExceptionInfo[LedgerError]) -> str:
    return exc.value.code


def test_cashback_credit_entry() -> None:
    entry = cashback_credit_entry(PARTNER, EXPENSE, chf("52.08"), memo="order 7")
    assert entry.postings == (Posting(EXPENSE, chf("52.08")), Posting(PARTNER, chf("-52.08")))
    assert entry.currency is Currency.CHF
    assert entry.memo == "order 7"
    # the partner's account is credited: negative balance, i.e. owed 52.08
    assert balance(entry.postings, PARTNER) == chf("-52.08")
    assert balance(entry.postings, EXPENSE) == chf("52.08")


@pytest.mark.parametrize(
    ("amount", "code"),
    [("0", "NON_POSITIVE_AMOUNT"), ("-1.00", "NON_POSITIVE_AMOUNT")],
)
def test_cashback_credit_refuses_non_positive(amount: str, code: str) -> None:
    with pytest.raises(LedgerError) as exc:
        cashback_credit_entry(PARTNER, EXPENSE, chf(amount))
    assert _code(exc) == code


def test_cashback_credit_refuses_sub_cent_and_same_account() -> None:
    with pytest.raises(LedgerError) as exc:
        cashback_credit_entry(PARTNER, EXPENSE, Money(Decimal("1.005"), Currency.CHF))
    assert _code(exc) == "SUB_CENT_AMOUNT"
    with pytest.raises(LedgerError) as exc:
        cashback_credit_entry(PARTNER, PARTNER, chf("1.00"))
    assert _code(exc) == "SAME_ACCOUNT"


def test_entry_needs_two_postings() -> None:
    with pytest.raises(LedgerError) as exc:
        JournalEntry((Posting("a", chf("1.00")),))
    assert _code(exc) == "TOO_FEW_POSTINGS"
    with pytest.raises(LedgerError) as exc:
        JournalEntry(())
    assert _code(exc) == "TOO_FEW_POSTINGS"


def test_entry_must_balance() -> None:
    with pytest.raises(LedgerError) as exc:
        JournalEntry((Posting("a", chf("1.00")), Posting("b", chf("-0.99"))))
    assert _code(exc) == "UNBALANCED"


def test_entry_single_currency() -> None:
    with pytest.raises(LedgerError) as exc:
        JournalEntry((Posting("a", chf("1.00")), Posting("b", Money.of("-1.00", "EUR"))))
    assert _code(exc) == "MIXED_CURRENCIES"


def test_posting_validation() -> None:
    with pytest.raises(LedgerError) as exc:
        Posting("a", chf("0"))
    assert _code(exc) == "ZERO_POSTING"
    with pytest.raises(LedgerError) as exc:
        Posting("a", Money(Decimal("0.001"), Currency.CHF))
    assert _code(exc) == "SUB_CENT_AMOUNT"
    with pytest.raises(LedgerError) as exc:
        Posting(" ", chf("1.00"))
    assert _code(exc) == "INVALID_ACCOUNT"
    with pytest.raises(LedgerError) as exc:
        Posting("a", Money(Decimal("NaN"), Currency.CHF))
    assert _code(exc) == "INVALID_AMOUNT"


def test_entry_accepts_multi_leg_and_is_immutable() -> None:
    entry = JournalEntry(
        [Posting("a", chf("10.00")), Posting("b", chf("-3.50")), Posting("c", chf("-6.50"))]  # type: ignore[arg-type]
    )
    assert isinstance(entry.postings, tuple)
    with pytest.raises(AttributeError):
        entry.memo = "edited"  # type: ignore[misc]


def test_correction_reverses() -> None:
    entry = cashback_credit_entry(PARTNER, EXPENSE, chf("52.08"), memo="order 7")
    fix = correction_of(entry)
    assert fix.postings == (Posting(EXPENSE, chf("-52.08")), Posting(PARTNER, chf("52.08")))
    assert fix.memo == "correction of: order 7"
    both = postings_of([entry, fix])
    assert balance(both, PARTNER) == Money.zero("CHF")
    assert balance(both, EXPENSE) == Money.zero("CHF")


def test_balance_of_untouched_account() -> None:
    entry = cashback_credit_entry(PARTNER, EXPENSE, chf("1.00"))
    assert balance(entry.postings, "other", currency=Currency.EUR) == Money.zero("EUR")
    with pytest.raises(LedgerError) as exc:
        balance(entry.postings, "other")
    assert _code(exc) == "NO_CURRENCY"
    with pytest.raises(LedgerError) as exc:
        balance(entry.postings, PARTNER, currency=Currency.EUR)
    assert _code(exc) == "MIXED_CURRENCIES"


# ----------------------------------------------------------------- properties

ACCOUNTS = ["a", "b", "c", PARTNER, EXPENSE]
nonzero_cents = st.integers(min_value=-(10**9), max_value=10**9).filter(bool)


@st.composite
def entries(draw: st.DrawFn, currency: Currency = Currency.CHF) -> JournalEntry:
    """Random balanced entries: n-1 arbitrary non-zero legs plus a balancing leg."""
    legs = draw(
        st.lists(st.tuples(st.sampled_from(ACCOUNTS), nonzero_cents), min_size=1, max_size=6)
    )
    rest = -sum(c for _, c in legs)
    if rest == 0:  # cannot post zero: split the first leg's account into a pair
        legs.append((legs[0][0], 1))
        rest = -1
    legs.append((draw(st.sampled_from(ACCOUNTS)), rest))
    return JournalEntry(tuple(Posting(a, Money.from_minor_units(c, currency)) for a, c in legs))


@given(st.lists(entries(), max_size=8))
def test_entries_balance_and_balance_is_sum(book: list[JournalEntry]) -> None:
    postings = postings_of(book)
    total = Decimal(0)
    for account in ACCOUNTS:
        expected = sum((p.amount.amount for p in postings if p.account == account), Decimal(0))
        got = balance(postings, account, currency=Currency.CHF)
        assert got == Money(expected, Currency.CHF)
        total += got.amount
    assert total == 0  # the whole book balances
    for entry in book:
        assert sum((p.amount.amount for p in entry.postings), Decimal(0)) == 0


@given(entries())
def test_correction_nets_to_zero(entry: JournalEntry) -> None:
    fix = correction_of(entry)
    assert len(fix.postings) == len(entry.postings)
    for account in ACCOUNTS:
        assert balance(postings_of([entry, fix]), account, currency=Currency.CHF).amount == 0
    assert correction_of(fix).postings == entry.postings


@given(st.lists(nonzero_cents, min_size=2, max_size=6))
def test_unbalanced_is_always_refused(cents: list[int]) -> None:
    postings = tuple(Posting("a", Money.from_minor_units(c, "CHF")) for c in cents)
    if sum(cents) == 0:
        assert JournalEntry(postings)
    else:
        with pytest.raises(LedgerError):
            JournalEntry(postings)


@given(st.integers(min_value=1, max_value=10**9))
def test_cashback_credit_always_balances(cents: int) -> None:
    amount = Money.from_minor_units(cents, "EUR")
    entry = cashback_credit_entry(PARTNER, EXPENSE, amount)
    assert balance(entry.postings, PARTNER) == -amount
    assert balance(entry.postings, EXPENSE) == amount
