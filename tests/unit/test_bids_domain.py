"""domain.bids: the lifecycle, the matching rule and the input checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.bids import (
    BidCriteria,
    BidDraft,
    BidError,
    BidStatus,
    PartnerProfile,
    check_award_allowed,
    check_offer_allowed,
    check_verifiable,
    effective_status,
    matches,
    region_keys,
    status_after_publishing,
    summary,
    validate_bid,
    validate_offer,
)
from domain.money import Currency
from domain.program import region_search_values

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)
EARLIER = NOW - timedelta(seconds=1)


@pytest.mark.parametrize("status", list(BidStatus))
def test_effective_status_expires_only_waiting_bids_at_their_deadline(status: BidStatus) -> None:
    assert effective_status(status, LATER, NOW) is status
    expected = (
        BidStatus.EXPIRED if status in (BidStatus.OPEN, BidStatus.DRAFT_UNVERIFIED) else status
    )
    assert effective_status(status, EARLIER, NOW) is expected
    assert effective_status(status, NOW, NOW) is expected  # the deadline itself is past


def test_a_bid_goes_out_open_or_no_match() -> None:
    assert status_after_publishing(0) is BidStatus.NO_MATCH
    assert status_after_publishing(1) is BidStatus.OPEN
    assert status_after_publishing(100_000) is BidStatus.OPEN
    with pytest.raises(ValueError, match="negative"):
        status_after_publishing(-1)


def _code(call: object) -> str:
    assert callable(call)
    with pytest.raises(BidError) as caught:
        call()
    return caught.value.code


def test_the_email_link_works_once_and_before_the_deadline() -> None:
    check_verifiable(BidStatus.DRAFT_UNVERIFIED, None, LATER, NOW)
    assert _code(lambda: check_verifiable(BidStatus.DRAFT_UNVERIFIED, NOW, LATER, NOW)) == (
        "BID_LINK_USED"
    )
    for status in (BidStatus.OPEN, BidStatus.NO_MATCH, BidStatus.AWARDED, BidStatus.EXPIRED):
        assert _code(lambda s=status: check_verifiable(s, None, LATER, NOW)) == "BID_LINK_USED"
    assert _code(lambda: check_verifiable(BidStatus.DRAFT_UNVERIFIED, None, EARLIER, NOW)) == (
        "BID_CLOSED"
    )


@pytest.mark.parametrize("status", list(BidStatus))
@pytest.mark.parametrize("received", [True, False])
@pytest.mark.parametrize("active", [True, False])
def test_offers_only_from_active_receivers_of_open_bids(
    status: BidStatus, received: bool, active: bool
) -> None:
    def call() -> None:
        check_offer_allowed(status, received=received, partner_active=active)

    if not (received and active):
        assert _code(call) == "OFFER_NOT_ALLOWED"
    elif status is not BidStatus.OPEN:
        assert _code(call) == "BID_CLOSED"
    else:
        call()


@pytest.mark.parametrize("status", list(BidStatus))
def test_award_only_open_bids_once(status: BidStatus) -> None:
    def call() -> None:
        check_award_allowed(status)

    if status is BidStatus.OPEN:
        call()
    elif status is BidStatus.AWARDED:
        assert _code(call) == "ALREADY_AWARDED"
    else:
        assert _code(call) == "BID_CLOSED"


def test_region_keys() -> None:
    assert region_keys("CH") == ("CH",)
    assert region_keys("CH-VD") == ("CH-VD", "CH")
    assert region_keys("FR-75C") == ("FR-75C", "FR")
    # The directory's region filter: one rule for both.
    for region in ("CH", "CH-VD", "FR-75C", "DE-BY"):
        assert region_keys(region) == region_search_values([region])


PROFILE = PartnerProfile(
    active=True,
    languages=frozenset({"fr", "de"}),
    regions=frozenset({"CH", "FR-75C"}),
    families=frozenset({"WEB_HOSTING"}),
)


@pytest.mark.parametrize(
    ("criteria", "profile", "expected"),
    [
        (BidCriteria("fr", "CH", frozenset({"WEB_HOSTING"})), PROFILE, True),
        (BidCriteria("de", "CH-VD", frozenset({"WEB_HOSTING", "CLOUD"})), PROFILE, True),
        (BidCriteria("fr", "FR-75C", frozenset({"WEB_HOSTING"})), PROFILE, True),
        # A subdivision does not cover its country, nor a sibling subdivision.
        (BidCriteria("fr", "FR", frozenset({"WEB_HOSTING"})), PROFILE, False),
        (BidCriteria("fr", "FR-13", frozenset({"WEB_HOSTING"})), PROFILE, False),
        (BidCriteria("it", "CH", frozenset({"WEB_HOSTING"})), PROFILE, False),
        (BidCriteria("fr", "CH", frozenset({"CLOUD"})), PROFILE, False),
        (
            BidCriteria("fr", "CH", frozenset({"WEB_HOSTING"})),
            PartnerProfile(False, PROFILE.languages, PROFILE.regions, PROFILE.families),
            False,
        ),
        (
            BidCriteria("fr", "CH", frozenset({"WEB_HOSTING"})),
            PartnerProfile(True, frozenset(), frozenset(), frozenset()),
            False,
        ),
    ],
)
def test_matching_rule(criteria: BidCriteria, profile: PartnerProfile, expected: bool) -> None:
    assert matches(criteria, profile) is expected


def _bid(**overrides: object) -> BidDraft:
    values: dict[str, object] = {
        "description": "  A web shop for a chocolate maker, with mail boxes.  ",
        "families": ["web_hosting", " STORAGE "],
        "budget_amount": "4800",
        "currency": "CHF",
        "language": " FR ",
        "region": "ch-vd",
        "deadline": LATER,
        "now": NOW,
    }
    values.update(overrides)
    return validate_bid(**values)  # type: ignore[arg-type]


def test_validate_bid_normalizes() -> None:
    draft = _bid()
    assert draft.description == "A web shop for a chocolate maker, with mail boxes."
    assert draft.families == frozenset({"WEB_HOSTING", "STORAGE"})
    assert draft.budget.amount == Decimal("4800.00")
    assert draft.budget.currency is Currency.CHF
    assert (draft.language, draft.region) == ("fr", "CH-VD")


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"description": "short"}, "DESCRIPTION_TOO_SHORT", "description"),
        ({"description": "x" * 4001}, "TOO_LONG", "description"),
        ({"families": []}, "PRODUCT_FAMILY_REQUIRED", "productFamilies"),
        ({"families": ["WEB_HOSTING", "BOATS"]}, "UNKNOWN_PRODUCT_FAMILY", "productFamilies"),
        ({"budget_amount": "0"}, "INVALID_AMOUNT", "budget"),
        ({"budget_amount": "-5"}, "INVALID_AMOUNT", "budget"),
        ({"budget_amount": "1.005"}, "INVALID_AMOUNT", "budget"),
        ({"budget_amount": "abc"}, "INVALID_AMOUNT", "budget"),
        ({"budget_amount": "1000000000000"}, "INVALID_AMOUNT", "budget"),
        ({"currency": "USD"}, "INVALID_AMOUNT", "budget"),
        ({"language": "fra"}, "INVALID_LANGUAGE", "language"),
        ({"region": "Switzerland"}, "INVALID_REGION", "region"),
        ({"region": "CH-VAUD"}, "INVALID_REGION", "region"),
        ({"deadline": NOW + timedelta(minutes=59)}, "INVALID_DEADLINE", "deadline"),
        ({"deadline": NOW + timedelta(days=181)}, "INVALID_DEADLINE", "deadline"),
        ({"deadline": datetime(2026, 12, 1)}, "INVALID_DEADLINE", "deadline"),
    ],
)
def test_validate_bid_refuses(overrides: dict[str, object], code: str, field: str) -> None:
    with pytest.raises(BidError) as caught:
        _bid(**overrides)
    assert (caught.value.code, caught.value.field) == (code, field)


def test_validate_offer() -> None:
    money, text = validate_offer("4200.5", "CHF", Currency.CHF, "  hello ")
    assert (money.amount, text) == (Decimal("4200.50"), "hello")
    with pytest.raises(BidError, match="currency") as caught:
        validate_offer("10", "EUR", Currency.CHF, None)
    assert caught.value.code == "CURRENCY_MISMATCH"
    with pytest.raises(BidError) as caught:
        validate_offer("10", "CHF", Currency.CHF, "x" * 2001)
    assert caught.value.code == "TOO_LONG"
    with pytest.raises(BidError) as caught:
        validate_offer("0", "CHF", Currency.CHF, None)
    assert caught.value.code == "INVALID_AMOUNT"


def test_summary() -> None:
    assert summary("  short\n text ") == "short text"
    long = "word " * 60
    cut = summary(long, 30)
    assert len(cut) <= 30
    assert cut.endswith("…")


def test_chunk_boundaries_cover_every_candidate_once() -> None:
    from resolvers.bids import chunk_boundaries

    assert chunk_boundaries([], 3) == []
    assert chunk_boundaries([5], 3) == [(0, 5)]
    assert chunk_boundaries([2, 4, 6, 8, 10, 12, 14], 3) == [(0, 6), (6, 12), (12, 14)]
    ids = list(range(10, 1000, 7))
    ranges = chunk_boundaries(ids, 10)
    covered = [[i for i in ids if a < i <= b] for a, b in ranges]
    assert [i for c in covered for i in c] == ids
    assert max(len(c) for c in covered) == 10
