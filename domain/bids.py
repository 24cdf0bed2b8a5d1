"""Bids (SPEC "Directory and bids"): a request for quotes delivered to matching partners.

Pure rules, no I/O: the bid's lifecycle, what makes a partner match a bid, and the checks
on what a visitor or a client posts and what a partner offers.

Lifecycle::

    DRAFT_UNVERIFIED --verify--> OPEN | NO_MATCH     (a visitor's bid, once its email is
                                                      verified by the emailed link)
    (posted by a signed-in client) --> OPEN          (goes out at once)
    OPEN --award--> AWARDED
    OPEN | DRAFT_UNVERIFIED --deadline--> EXPIRED

A bid that is still OPEN or DRAFT_UNVERIFIED at its deadline *is* expired, whether or not
the ``expire_bids`` job has recorded it yet (:func:`effective_status`).

Matching (:func:`matches`): a partner receives a bid when it is an active partner and its
profile names the bid's language, the bid's region (or the country that contains it: a
partner serving ``CH`` matches a bid in ``CH-VD``; one serving only ``CH-VD`` does not
match a bid for all of ``CH``), and at least one of the bid's product families.

The profile is the partner's directory listing (its languages, regions and product
families: ``domain.program`` cleans them, ``updateDirectoryListing`` edits them), whether
or not the listing is published: publication only decides what the public directory
shows. A partner without a listing, or whose listing names no language, region or family,
receives no bid: receiving bids is opt-in (decided). The region rule is the directory's
region filter (:func:`domain.program.region_search_values`): one rule for both.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from domain import iso_codes
from domain.error_codes import ErrorCode
from domain.errors import DomainError
from domain.money import Currency, Money, MoneyError
from domain.pricing import default_catalog
from domain.program import region_search_values


class BidStatus(enum.StrEnum):
    #: Posted by a visitor; waits for the email link before it goes out.
    DRAFT_UNVERIFIED = "DRAFT_UNVERIFIED"
    #: Delivered (or being delivered) to the matching partners; offers are welcome.
    OPEN = "OPEN"
    #: The author chose an offer; no more offers.
    AWARDED = "AWARDED"
    #: The deadline passed before an award (or before the email was verified).
    EXPIRED = "EXPIRED"
    #: When it went out, no active partner matched it; nobody received it.
    NO_MATCH = "NO_MATCH"


class BidError(DomainError):
    pass


# -- error codes (stable: clients switch on them) ----------------------------------------

NO_MATCHING_PARTNER = ErrorCode.NO_MATCHING_PARTNER
BID_LINK_INVALID = ErrorCode.BID_LINK_INVALID
BID_LINK_USED = ErrorCode.BID_LINK_USED
BID_CLOSED = ErrorCode.BID_CLOSED
OFFER_NOT_ALLOWED = ErrorCode.OFFER_NOT_ALLOWED
OFFER_EXISTS = ErrorCode.OFFER_EXISTS
ALREADY_AWARDED = ErrorCode.ALREADY_AWARDED
CURRENCY_MISMATCH = ErrorCode.CURRENCY_MISMATCH

# -- limits -------------------------------------------------------------------------------

MIN_DESCRIPTION = 20
MAX_DESCRIPTION = 4000
MAX_MESSAGE = 2000
#: NUMERIC(14, 2): below 10^12.
MAX_AMOUNT = Decimal("999999999999.99")
#: A bid stays open at least this long (partners need time to answer) ...
MIN_OPEN = timedelta(hours=1)
#: ... and at most this long.
MAX_OPEN = timedelta(days=180)

KNOWN_FAMILIES: frozenset[str] = frozenset(
    spec.family for spec in default_catalog().products.values()
)


def effective_status(status: BidStatus, deadline: datetime, now: datetime) -> BidStatus:
    """The status as of ``now``: a bid still waiting at its deadline is expired."""
    if status in (BidStatus.OPEN, BidStatus.DRAFT_UNVERIFIED) and deadline <= now:
        return BidStatus.EXPIRED
    return status


def status_after_publishing(matching_partners: int) -> BidStatus:
    """Where a bid goes when it goes out: OPEN to its partners, or NO_MATCH."""
    if matching_partners < 0:
        raise ValueError("a count of partners is never negative")
    return BidStatus.OPEN if matching_partners else BidStatus.NO_MATCH


def check_verifiable(
    status: BidStatus, verified_at: datetime | None, deadline: datetime, now: datetime
) -> None:
    """May the author's email link be used now? A link works once, before the deadline."""
    if verified_at is not None or status is not BidStatus.DRAFT_UNVERIFIED:
        raise BidError(BID_LINK_USED, "This link was already used.", "token")
    if effective_status(status, deadline, now) is not BidStatus.DRAFT_UNVERIFIED:
        raise BidError(BID_CLOSED, "The bid's deadline has passed.", "token")


def check_offer_allowed(status: BidStatus, *, received: bool, partner_active: bool) -> None:
    """May a partner offer on a bid with this (effective) status?

    Only a partner the bid was delivered to, still active, and only while the bid is OPEN.
    """
    if not received or not partner_active:
        raise BidError(
            OFFER_NOT_ALLOWED,
            "Only an active partner that received this bid may make an offer.",
            "bidId",
        )
    if status is not BidStatus.OPEN:
        raise BidError(
            BID_CLOSED, f"The bid is {status.value.lower()}: it takes no offers.", "bidId"
        )


def check_award_allowed(status: BidStatus) -> None:
    """May the author award an offer of a bid with this (effective) status?"""
    if status is BidStatus.AWARDED:
        raise BidError(ALREADY_AWARDED, "An offer of this bid was already awarded.", "offerId")
    if status is not BidStatus.OPEN:
        raise BidError(
            BID_CLOSED, f"The bid is {status.value.lower()}: it cannot be awarded.", "offerId"
        )


# -- matching -----------------------------------------------------------------------------


def region_keys(region: str) -> tuple[str, ...]:
    """The partner regions that cover ``region``: itself and, for a subdivision, its country
    (the directory's region filter: a listing serving ``CH`` serves ``CH-VD``)."""
    return region_search_values((region,))


@dataclass(frozen=True)
class BidCriteria:
    language: str
    region: str
    families: frozenset[str]


@dataclass(frozen=True)
class PartnerProfile:
    active: bool
    languages: frozenset[str]
    regions: frozenset[str]
    families: frozenset[str]


def matches(criteria: BidCriteria, profile: PartnerProfile) -> bool:
    """Does this partner receive this bid? (The SQL in ``resolvers.bids`` says the same.)"""
    return (
        profile.active
        and criteria.language in profile.languages
        and any(key in profile.regions for key in region_keys(criteria.region))
        and bool(criteria.families & profile.families)
    )


# -- input checks -------------------------------------------------------------------------


def clean_language(value: str, field: str = "language") -> str:
    return iso_codes.clean_language(value, field, BidError)


def clean_region(value: str, field: str = "region") -> str:
    return iso_codes.clean_region(value, field, BidError)


def clean_families(values: Iterable[str], field: str = "productFamilies") -> frozenset[str]:
    families = frozenset(v.strip().upper() for v in values)
    if not families:
        raise BidError("PRODUCT_FAMILY_REQUIRED", "Name at least one product family.", field)
    unknown = families - KNOWN_FAMILIES
    if unknown:
        raise BidError(
            "UNKNOWN_PRODUCT_FAMILY", "Unknown product family: " + ", ".join(sorted(unknown)), field
        )
    return families


def clean_money(amount: Decimal | str, currency: Currency | str, field: str) -> Money:
    """A positive amount with at most two decimals."""
    try:
        money = Money.of(amount, currency)
    except (MoneyError, ValueError) as exc:
        raise BidError("INVALID_AMOUNT", "An amount has at most two decimals.", field) from exc
    if money.amount <= 0:
        raise BidError("INVALID_AMOUNT", "The amount must be positive.", field)
    if money.amount > MAX_AMOUNT:
        raise BidError("INVALID_AMOUNT", "The amount is too large.", field)
    return money


@dataclass(frozen=True)
class BidDraft:
    description: str
    families: frozenset[str]
    budget: Money
    language: str
    region: str
    deadline: datetime

    @property
    def criteria(self) -> BidCriteria:
        return BidCriteria(self.language, self.region, self.families)


def validate_bid(
    *,
    description: str,
    families: Iterable[str],
    budget_amount: Decimal | str,
    currency: Currency | str,
    language: str,
    region: str,
    deadline: datetime,
    now: datetime,
) -> BidDraft:
    """Check what an author posts; the first fault found is raised (with its field)."""
    text = description.strip()
    if len(text) < MIN_DESCRIPTION:
        raise BidError(
            "DESCRIPTION_TOO_SHORT",
            f"Describe the project in at least {MIN_DESCRIPTION} characters.",
            "description",
        )
    if len(text) > MAX_DESCRIPTION:
        raise BidError("TOO_LONG", f"At most {MAX_DESCRIPTION} characters.", "description")
    clean = clean_families(families)
    budget = clean_money(budget_amount, currency, "budget")
    lang = clean_language(language)
    reg = clean_region(region)
    if deadline.tzinfo is None:
        raise BidError("INVALID_DEADLINE", "Give the deadline with its time zone.", "deadline")
    if deadline < now + MIN_OPEN:
        raise BidError(
            "INVALID_DEADLINE", "The deadline must be at least an hour from now.", "deadline"
        )
    if deadline > now + MAX_OPEN:
        raise BidError("INVALID_DEADLINE", "The deadline must be within 180 days.", "deadline")
    return BidDraft(text, clean, budget, lang, reg, deadline)


def validate_offer(
    amount: Decimal | str, currency: Currency | str, bid_currency: Currency, message: str | None
) -> tuple[Money, str]:
    money = clean_money(amount, currency, "amount")
    if money.currency is not bid_currency:
        raise BidError(
            CURRENCY_MISMATCH, f"Offer in the bid's currency ({bid_currency.value}).", "amount"
        )
    text = (message or "").strip()
    if len(text) > MAX_MESSAGE:
        raise BidError("TOO_LONG", f"At most {MAX_MESSAGE} characters.", "message")
    return money, text


def summary(description: str, length: int = 120) -> str:
    """The first words of a description, for an email subject or a list."""
    flat = " ".join(description.split())
    if len(flat) <= length:
        return flat
    return flat[: length - 1].rsplit(" ", 1)[0] + "…"
