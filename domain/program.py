"""The program around partnerships (SPEC "Joining the program", "Directory and bids",
"Support"). Pure rules: the caller loads the facts and writes the outcome.

Registration numbers (decided; SPEC: "Swiss Commercial Register, SIRET or an equivalent"):
a Swiss UID, a French SIRET, a neighbouring country's register number or an EU VAT
number, checked offline with python-stdnum (`domain.registers`).

Website: an absolute ``http`` or ``https`` URL with a public host name (at least two
labels, an alphabetic top-level label, no user info, no IP literal), at most 300
characters. "Active" cannot be checked from here (no outbound network): the form is.

Eligibility: a malformed or missing registration number or website is an *input* error
(`INPUT_CODES`): the form is sent back, nothing is stored. A well-formed application is
assessed; refusals (not a company, conditions not accepted, an affiliate) are stored with
their reasons so the applicant sees why.

Managed volume (decided): the sum, over the products a partner manages (every active
product of a client under an ACTIVE FULL grant, the granted active products under an
ACTIVE LIMITED grant), of list price x quantity x 12, in the partner's currency (the
catalog lists each product in CHF and EUR). Decreasing rates and discounts are ignored:
the threshold is on the value of the products, not on what was paid. Partners below
CHF 2000 / EUR 1800 a year are flagged and notified; nothing is deleted.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from domain import iso_codes, registers
from domain.enums import OrganizationKind
from domain.error_codes import ErrorCode
from domain.errors import DomainError
from domain.money import Currency, Money, round_cents
from domain.pricing import Catalog

# --------------------------------------------------------------------------- vocabulary


class ApplicationStatus(enum.StrEnum):
    ACCEPTED = "ACCEPTED"
    REFUSED = "REFUSED"


class ProgramKind(enum.StrEnum):
    """The one program an organization is enrolled in (never both)."""

    PARTNER = "PARTNER"
    AFFILIATE = "AFFILIATE"


class SupportAccessStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"


class DirectoryTagKind(enum.StrEnum):
    LANGUAGE = "LANGUAGE"
    REGION = "REGION"
    PRODUCT_FAMILY = "PRODUCT_FAMILY"


# --------------------------------------------------------------------------- joining


@dataclass(frozen=True)
class Reason:
    """Why an application is refused (or its form sent back): a code, a sentence, a field."""

    code: str
    message: str
    field: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", ErrorCode(self.code))


REGISTRATION_NUMBER_REQUIRED: Final = ErrorCode.REGISTRATION_NUMBER_REQUIRED
REGISTRATION_NUMBER_INVALID: Final = ErrorCode.REGISTRATION_NUMBER_INVALID
WEBSITE_REQUIRED: Final = ErrorCode.WEBSITE_REQUIRED
WEBSITE_INVALID: Final = ErrorCode.WEBSITE_INVALID
NOT_A_COMPANY: Final = ErrorCode.NOT_A_COMPANY
RESELLER_CONDITIONS_NOT_ACCEPTED: Final = ErrorCode.RESELLER_CONDITIONS_NOT_ACCEPTED
BID_EXCLUSIVITY_NOT_ACCEPTED: Final = ErrorCode.BID_EXCLUSIVITY_NOT_ACCEPTED
IS_AFFILIATE: Final = ErrorCode.IS_AFFILIATE

#: Codes of a malformed form: returned as userErrors, nothing stored.
INPUT_CODES: Final = frozenset(
    {REGISTRATION_NUMBER_REQUIRED, REGISTRATION_NUMBER_INVALID, WEBSITE_REQUIRED, WEBSITE_INVALID}
)

MAX_WEBSITE = 300
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


def normalize_registration_number(raw: str | None) -> str | Reason:
    """The normalized number, or the Reason it is refused (see the module docstring)."""
    text = " ".join((raw or "").split())
    if not text:
        return Reason(
            REGISTRATION_NUMBER_REQUIRED,
            "A registration number is required (Swiss UID, SIRET or an equivalent).",
            "registrationNumber",
        )
    try:
        return registers.normalize(text)
    except registers.RegistrationNumberError as error:
        return Reason(REGISTRATION_NUMBER_INVALID, str(error), "registrationNumber")


def normalize_website(raw: str | None) -> str | Reason:
    text = (raw or "").strip()
    if not text:
        return Reason(WEBSITE_REQUIRED, "The company's website is required.", "website")
    invalid = Reason(
        WEBSITE_INVALID,
        "Give the website as an address such as https://www.example.ch.",
        "website",
    )
    if len(text) > MAX_WEBSITE or any(c.isspace() for c in text):
        return invalid
    try:
        parts = urlsplit(text)
        port = parts.port  # raises on a malformed port
    except ValueError:
        return invalid
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme.lower() not in {"http", "https"} or "@" in parts.netloc or not host:
        return invalid
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return invalid
    if not _TLD.match(labels[-1]):
        return invalid  # also refuses IPv4 literals (numeric top label)
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, ""))


@dataclass(frozen=True)
class ApplicationFacts:
    organization_kind: OrganizationKind
    registration_number: str | None
    website: str | None
    accepted_reseller_conditions: bool
    accepted_bid_exclusivity: bool
    is_affiliate: bool


@dataclass(frozen=True)
class Assessment:
    """The outcome: normalized fields (when well-formed) and every reason to refuse."""

    registration_number: str | None
    website: str | None
    reasons: tuple[Reason, ...]

    @property
    def accepted(self) -> bool:
        return not self.reasons

    @property
    def input_errors(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.code in INPUT_CODES)


def assess_application(facts: ApplicationFacts) -> Assessment:
    """Every condition of SPEC "Joining the program", each failure a Reason, in form order."""
    reasons: list[Reason] = []
    number = normalize_registration_number(facts.registration_number)
    website = normalize_website(facts.website)
    if facts.organization_kind is not OrganizationKind.COMPANY:
        reasons.append(
            Reason(
                NOT_A_COMPANY,
                "Only a company may become a Partner; an individual may join the Affiliate "
                "Program instead.",
                "organizationId",
            )
        )
    if isinstance(number, Reason):
        reasons.append(number)
    if isinstance(website, Reason):
        reasons.append(website)
    if not facts.accepted_reseller_conditions:
        reasons.append(
            Reason(
                RESELLER_CONDITIONS_NOT_ACCEPTED,
                "The reseller conditions must be accepted: your clients' support and invoices "
                "are your responsibility.",
                "acceptedResellerConditions",
            )
        )
    if not facts.accepted_bid_exclusivity:
        reasons.append(
            Reason(
                BID_EXCLUSIVITY_NOT_ACCEPTED,
                "Contracts won through bids must use only the provider's products.",
                "acceptedBidExclusivity",
            )
        )
    if facts.is_affiliate:
        reasons.append(
            Reason(
                IS_AFFILIATE,
                "An affiliate cannot also be a Partner; leave the Affiliate Program first.",
                "organizationId",
            )
        )
    return Assessment(
        registration_number=None if isinstance(number, Reason) else number,
        website=None if isinstance(website, Reason) else website,
        reasons=tuple(reasons),
    )


# --------------------------------------------------------------------------- yearly review

MINIMUM_ANNUAL_VOLUME: Final[Mapping[Currency, Decimal]] = {
    Currency.CHF: Decimal("2000.00"),
    Currency.EUR: Decimal("1800.00"),
}
MONTHS_PER_YEAR: Final = 12


@dataclass(frozen=True)
class ManagedProduct:
    kind: str
    quantity: int


@dataclass(frozen=True)
class VolumeReview:
    volume: Money
    minimum: Money
    unpriced_kinds: tuple[str, ...]

    @property
    def below_minimum(self) -> bool:
        return self.volume.amount < self.minimum.amount


def review_volume(
    products: Iterable[ManagedProduct], currency: Currency, catalog: Catalog
) -> VolumeReview:
    """Annual managed volume (list price x quantity x 12) against the program's minimum.

    A kind missing from the catalog or without a price in `currency` counts 0 and is
    reported in `unpriced_kinds` (the review never fails on one odd product).
    """
    total = Decimal("0")
    unpriced: set[str] = set()
    for product in products:
        spec = catalog.products.get(product.kind)
        price = spec.list_prices.get(currency) if spec is not None else None
        if price is None or product.quantity <= 0:
            if price is None:
                unpriced.add(product.kind)
            continue
        total += price * product.quantity * MONTHS_PER_YEAR
    return VolumeReview(
        volume=Money(round_cents(total), currency),
        minimum=Money(MINIMUM_ANNUAL_VOLUME[currency], currency),
        unpriced_kinds=tuple(sorted(unpriced)),
    )


# --------------------------------------------------------------------------- directory

MAX_DESCRIPTION = 2000
MAX_TAGS = 30
MAX_SEARCH = 100


def _bad(code: str, message: str, field: str) -> DomainError:
    return DomainError(code, message, field)


def _dedupe(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def clean_languages(values: Iterable[str], field: str = "languages") -> tuple[str, ...]:
    """ISO 639-1 codes, lower case: ``fr``, ``de``."""
    cleaned = _dedupe(v.strip().lower() for v in values)
    if len(cleaned) > MAX_TAGS:
        raise _bad("TOO_MANY_VALUES", f"At most {MAX_TAGS} languages.", field)
    return tuple(iso_codes.clean_language(value, field) for value in cleaned)


def clean_regions(values: Iterable[str], field: str = "regions") -> tuple[str, ...]:
    """ISO 3166 codes, upper case: a country (``CH``) or a subdivision (``CH-VD``)."""
    cleaned = _dedupe(v.strip().upper() for v in values)
    if len(cleaned) > MAX_TAGS:
        raise _bad("TOO_MANY_VALUES", f"At most {MAX_TAGS} regions.", field)
    return tuple(iso_codes.clean_region(value, field) for value in cleaned)


def clean_families(
    values: Iterable[str], known: frozenset[str], field: str = "productFamilies"
) -> tuple[str, ...]:
    cleaned = _dedupe(v.strip().upper() for v in values)
    unknown = sorted(set(cleaned) - known)
    if unknown:
        raise _bad("UNKNOWN_PRODUCT_FAMILY", f"Unknown product families: {unknown}.", field)
    return cleaned


def region_search_values(regions: Iterable[str]) -> tuple[str, ...]:
    """The listing regions a region filter matches: itself, and for a subdivision its
    country (a partner serving all of CH serves CH-VD)."""
    values: list[str] = []
    for region in regions:
        values.append(region)
        if "-" in region:
            values.append(region.split("-", 1)[0])
    return _dedupe(values)


def like_pattern(search: str | None) -> str | None:
    """A LIKE pattern (escape character ``\\``) for a case-insensitive substring search."""
    if search is None:
        return None
    term = " ".join(search.lower().split())
    if not term:
        return None
    if len(term) > MAX_SEARCH:
        raise _bad("TOO_LONG", f"Search at most {MAX_SEARCH} characters.", "search")
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def listing_search_text(name: str, description: str, website: str | None) -> str:
    """What the directory's text search looks in, lower-cased (one indexed column)."""
    return " ".join(" ".join(p for p in (name, description, website or "") if p).lower().split())


# --------------------------------------------------------------------------- collaborators


def check_collaborator_clients(
    all_clients: bool, requested: frozenset[int], partner_clients: frozenset[int]
) -> frozenset[int]:
    """The client organizations a collaborator may act for; each must be the partner's."""
    if all_clients and requested:
        raise DomainError(
            "INVALID_INPUT", "Give allClients or a list of clients, not both.", "clientIds"
        )
    outside = requested - partner_clients
    if outside:
        raise DomainError(
            "CLIENT_NOT_OF_PARTNER",
            "Each client must be a client of this partner (a pending or active partnership).",
            "clientIds",
        )
    return frozenset() if all_clients else requested


# --------------------------------------------------------------------------- support

MAX_SUPPORT_ACCESS_HOURS: Final = 72
MAX_REASON = 500


def support_access_duration(hours: int) -> timedelta:
    if hours < 1:
        raise DomainError(
            "INVALID_DURATION", "A support access lasts at least one hour.", "durationHours"
        )
    if hours > MAX_SUPPORT_ACCESS_HOURS:
        raise DomainError(
            "SUPPORT_ACCESS_TOO_LONG",
            f"A support access lasts at most {MAX_SUPPORT_ACCESS_HOURS} hours.",
            "durationHours",
        )
    return timedelta(hours=hours)


def support_access_status(
    expires_at: datetime, revoked_at: datetime | None, now: datetime
) -> SupportAccessStatus:
    """Revoked wins over expired; an access ends by itself at `expires_at` (exclusive)."""
    if revoked_at is not None and revoked_at <= now:
        return SupportAccessStatus.REVOKED
    if expires_at <= now:
        return SupportAccessStatus.EXPIRED
    return SupportAccessStatus.ACTIVE


# --------------------------------------------------------------------------- Swiss Backup

BACKUP_MOVE_NOT_SUPPORTED: Final = ErrorCode.BACKUP_MOVE_NOT_SUPPORTED


def refuse_backup_move() -> DomainError:
    """SPEC: an end customer and its backups stay in their Swiss Backup account."""
    return DomainError(
        BACKUP_MOVE_NOT_SUPPORTED,
        "An end customer and its backups cannot be moved between two Swiss Backup accounts; "
        "manage customers within one account (groups or units in its console) instead.",
        "targetAccountId",
    )
