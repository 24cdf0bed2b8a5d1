"""domain.program: eligibility, registration numbers, websites, review, directory, support."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.enums import OrganizationKind
from domain.errors import DomainError
from domain.money import Currency
from domain.pricing import default_catalog
from domain.program import (
    BACKUP_MOVE_NOT_SUPPORTED,
    INPUT_CODES,
    MAX_SUPPORT_ACCESS_HOURS,
    ApplicationFacts,
    ManagedProduct,
    Reason,
    SupportAccessStatus,
    assess_application,
    check_collaborator_clients,
    clean_families,
    clean_languages,
    clean_regions,
    like_pattern,
    listing_search_text,
    normalize_registration_number,
    normalize_website,
    refuse_backup_move,
    region_search_values,
    review_volume,
    support_access_duration,
    support_access_status,
)

GOOD = ApplicationFacts(
    organization_kind=OrganizationKind.COMPANY,
    registration_number="CHE-116.281.710",
    website="https://www.alpine.example.ch",
    accepted_reseller_conditions=True,
    accepted_bid_exclusivity=True,
    is_affiliate=False,
)


def codes(facts: ApplicationFacts) -> list[str]:
    return [r.code for r in assess_application(facts).reasons]


# -- registration numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("CHE-116.281.710", "CHE-116.281.710"),
        ("che116281710", "CHE-116.281.710"),
        ("CHE 116 281 710", "CHE-116.281.710"),
        ("CHE-116.281.710 MWST", "CHE-116.281.710"),
        ("CHE-116.281.710 TVA", "CHE-116.281.710"),
        ("73282932000074", "73282932000074"),
        ("732 829 320 00074", "73282932000074"),
        ("DE Aachen HRB 44123", "DE:Aachen HRB 44123"),
        ("de:Aachen HRB 44123", "DE:Aachen HRB 44123"),
        ("AT FN 122119m", "AT:FN 122119m"),
        ("IT 00743110157", "IT:00743110157"),
        ("BE 0417.497.106", "BE:0417497106"),  # an EU VAT number
    ],
)
def test_registration_numbers_accepted_and_normalized(raw: str, expected: str) -> None:
    assert normalize_registration_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (None, "REGISTRATION_NUMBER_REQUIRED"),
        ("", "REGISTRATION_NUMBER_REQUIRED"),
        ("   ", "REGISTRATION_NUMBER_REQUIRED"),
        ("CHE-116.281.711", "REGISTRATION_NUMBER_INVALID"),  # check digit
        ("CHE-100.000.001", "REGISTRATION_NUMBER_INVALID"),
        ("CHE-116.281", "REGISTRATION_NUMBER_INVALID"),
        ("73282932000075", "REGISTRATION_NUMBER_INVALID"),  # Luhn
        ("732829320", "REGISTRATION_NUMBER_INVALID"),  # a SIREN, not a SIRET
        ("CH 12345", "REGISTRATION_NUMBER_INVALID"),  # CH must be a UID
        ("FR 73282932000074", "REGISTRATION_NUMBER_INVALID"),  # FR must be a SIRET
        ("DE HRB", "REGISTRATION_NUMBER_INVALID"),  # no digits
        ("DE HRB 86891", "REGISTRATION_NUMBER_INVALID"),  # no court: not unique
        ("XX 12345", "REGISTRATION_NUMBER_INVALID"),  # "XX + 4 digits" is no register
        ("BE 0417.497.107", "REGISTRATION_NUMBER_INVALID"),  # VAT check digits
        ("IT 00743110158", "REGISTRATION_NUMBER_INVALID"),
        ("AT FN 12211", "REGISTRATION_NUMBER_INVALID"),  # no check letter
        ("hello world", "REGISTRATION_NUMBER_INVALID"),
    ],
)
def test_registration_numbers_refused(raw: str | None, code: str) -> None:
    result = normalize_registration_number(raw)
    assert isinstance(result, Reason)
    assert result.code == code
    assert result.field == "registrationNumber"


def _uid(eight: str) -> str | None:
    weights = (5, 4, 3, 2, 7, 6, 5, 4)
    check = 11 - sum(int(d) * w for d, w in zip(eight, weights, strict=True)) % 11
    if check == 10:
        return None
    digits = eight + str(0 if check == 11 else check)
    return f"CHE-{digits[:3]}.{digits[3:6]}.{digits[6:]}"


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_every_uid_with_its_check_digit_is_accepted_and_no_other(eight: str) -> None:
    uid = _uid(eight)
    if uid is None:  # no valid UID with these eight digits
        for last in "0123456789":
            digits = eight + last
            raw = f"CHE-{digits[:3]}.{digits[3:6]}.{digits[6:]}"
            assert isinstance(normalize_registration_number(raw), Reason)
        return
    assert normalize_registration_number(uid) == uid
    wrong = uid[:-1] + str((int(uid[-1]) + 1) % 10)
    assert isinstance(normalize_registration_number(wrong), Reason)


# -- websites ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.example.ch", "https://www.example.ch"),
        ("  http://example.ch:8080/a?b=1#top ", "http://example.ch:8080/a?b=1"),
        ("HTTPS://WWW.Example.CH/Path", "https://www.example.ch/Path"),
        ("https://xn--bcher-kva.ch", "https://xn--bcher-kva.ch"),
    ],
)
def test_websites_accepted(raw: str, expected: str) -> None:
    assert normalize_website(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (None, "WEBSITE_REQUIRED"),
        ("", "WEBSITE_REQUIRED"),
        ("example.ch", "WEBSITE_INVALID"),
        ("ftp://example.ch", "WEBSITE_INVALID"),
        ("javascript:alert(1)", "WEBSITE_INVALID"),
        ("https://localhost", "WEBSITE_INVALID"),
        ("https://1.2.3.4", "WEBSITE_INVALID"),
        ("https://user:pw@example.ch", "WEBSITE_INVALID"),
        ("https://exa mple.ch", "WEBSITE_INVALID"),
        ("https://-bad.ch", "WEBSITE_INVALID"),
        ("https://example.ch:99999", "WEBSITE_INVALID"),
        ("https://" + "a" * 300 + ".ch", "WEBSITE_INVALID"),
    ],
)
def test_websites_refused(raw: str | None, code: str) -> None:
    result = normalize_website(raw)
    assert isinstance(result, Reason)
    assert result.code == code


# -- eligibility ------------------------------------------------------------------------


def test_an_eligible_company_is_accepted_with_normalized_fields() -> None:
    result = assess_application(replace(GOOD, registration_number="che 116 281 710"))
    assert result.accepted
    assert result.reasons == ()
    assert result.registration_number == "CHE-116.281.710"
    assert result.website == "https://www.alpine.example.ch"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"organization_kind": OrganizationKind.INDIVIDUAL}, "NOT_A_COMPANY"),
        ({"registration_number": None}, "REGISTRATION_NUMBER_REQUIRED"),
        ({"registration_number": "123"}, "REGISTRATION_NUMBER_INVALID"),
        ({"website": ""}, "WEBSITE_REQUIRED"),
        ({"website": "alpine.ch"}, "WEBSITE_INVALID"),
        ({"accepted_reseller_conditions": False}, "RESELLER_CONDITIONS_NOT_ACCEPTED"),
        ({"accepted_bid_exclusivity": False}, "BID_EXCLUSIVITY_NOT_ACCEPTED"),
        ({"is_affiliate": True}, "IS_AFFILIATE"),
    ],
)
def test_each_unmet_condition_is_a_reason(change: dict[str, object], code: str) -> None:
    result = assess_application(replace(GOOD, **change))  # type: ignore[arg-type]
    assert not result.accepted
    assert [r.code for r in result.reasons] == [code]
    assert bool(result.input_errors) == (code in INPUT_CODES)


def test_every_reason_is_listed_at_once() -> None:
    facts = ApplicationFacts(
        organization_kind=OrganizationKind.INDIVIDUAL,
        registration_number=None,
        website=None,
        accepted_reseller_conditions=False,
        accepted_bid_exclusivity=False,
        is_affiliate=True,
    )
    assert codes(facts) == [
        "NOT_A_COMPANY",
        "REGISTRATION_NUMBER_REQUIRED",
        "WEBSITE_REQUIRED",
        "RESELLER_CONDITIONS_NOT_ACCEPTED",
        "BID_EXCLUSIVITY_NOT_ACCEPTED",
        "IS_AFFILIATE",
    ]
    assert [r.code for r in assess_application(facts).input_errors] == [
        "REGISTRATION_NUMBER_REQUIRED",
        "WEBSITE_REQUIRED",
    ]


# -- yearly review ----------------------------------------------------------------------


def test_volume_is_list_price_times_quantity_times_twelve() -> None:
    catalog = default_catalog()
    products = [ManagedProduct("web_hosting", 1), ManagedProduct("mail_hosting", 5)]
    chf = review_volume(products, Currency.CHF, catalog)
    # (9.92 + 5 x 1.50) x 12 = 209.04
    assert chf.volume.amount == Decimal("209.04")
    assert chf.minimum.amount == Decimal("2000.00")
    assert chf.below_minimum
    eur = review_volume(products, Currency.EUR, catalog)
    assert eur.volume.amount == Decimal("153.00")  # (5.75 + 5 x 1.40) x 12
    assert eur.minimum.amount == Decimal("1800.00")


def test_threshold_is_inclusive_per_currency() -> None:
    catalog = default_catalog()
    # public_cloud lists at CHF 25.00 / EUR 23.00 a month.
    exactly = review_volume([ManagedProduct("public_cloud", 20)], Currency.CHF, catalog)
    assert exactly.volume.amount == Decimal("6000.00")
    assert not exactly.below_minimum
    just_below = review_volume(
        [ManagedProduct("kdrive", 33), ManagedProduct("domain_ch", 1)], Currency.CHF, catalog
    )
    assert just_below.volume.amount == Decimal("1991.04")  # (165 + 0.92) x 12
    assert just_below.below_minimum
    at_minimum = review_volume([ManagedProduct("public_cloud", 6)], Currency.EUR, catalog)
    assert at_minimum.volume.amount == Decimal("1656.00")
    assert at_minimum.below_minimum
    eur_ok = review_volume(
        [ManagedProduct("public_cloud", 6), ManagedProduct("kdrive", 3)], Currency.EUR, catalog
    )
    assert eur_ok.volume.amount == Decimal("1821.60")
    assert not eur_ok.below_minimum


def test_unknown_kinds_count_zero_and_are_reported() -> None:
    result = review_volume(
        [ManagedProduct("mystery", 4), ManagedProduct("kdrive", 1)], Currency.CHF, default_catalog()
    )
    assert result.volume.amount == Decimal("60.00")
    assert result.unpriced_kinds == ("mystery",)


def test_no_products_is_zero_and_below() -> None:
    result = review_volume([], Currency.EUR, default_catalog())
    assert result.volume.amount == Decimal("0.00")
    assert result.below_minimum


# -- directory --------------------------------------------------------------------------


def test_directory_values_are_cleaned() -> None:
    assert clean_languages([" FR", "de", "fr"]) == ("fr", "de")
    assert clean_regions(["ch", "CH-vd", "CH"]) == ("CH", "CH-VD")
    assert clean_families(["web_hosting"], frozenset({"WEB_HOSTING"})) == ("WEB_HOSTING",)


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: clean_languages(["french"]), "INVALID_LANGUAGE"),
        (
            lambda: clean_languages([f"{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(40)]),
            "TOO_MANY_VALUES",
        ),
        (lambda: clean_regions(["Switzerland"]), "INVALID_REGION"),
        (lambda: clean_regions(["CH-"]), "INVALID_REGION"),
        (lambda: clean_families(["BOATS"], frozenset({"WEB_HOSTING"})), "UNKNOWN_PRODUCT_FAMILY"),
        (lambda: like_pattern("x" * 101), "TOO_LONG"),
    ],
)
def test_directory_values_refused(call: object, code: str) -> None:
    with pytest.raises(DomainError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.code == code


def test_region_filter_also_matches_the_whole_country() -> None:
    assert region_search_values(["CH-VD", "FR"]) == ("CH-VD", "CH", "FR")
    assert region_search_values(["CH", "CH-GE"]) == ("CH", "CH-GE")


def test_like_pattern_escapes_wildcards() -> None:
    assert like_pattern(None) is None
    assert like_pattern("   ") is None
    assert like_pattern("  Web   Agency ") == "%web agency%"
    assert like_pattern("100%_off\\") == "%100\\%\\_off\\\\%"


def test_search_text_is_lower_case_and_single_spaced() -> None:
    assert (
        listing_search_text("Alpine  Web", "Sites\nand mail", "https://a.ch")
        == "alpine web sites and mail https://a.ch"
    )
    assert listing_search_text("A", "", None) == "a"


# -- collaborators ----------------------------------------------------------------------


def test_collaborator_clients_must_be_the_partners() -> None:
    assert check_collaborator_clients(False, frozenset({1}), frozenset({1, 2})) == {1}
    assert check_collaborator_clients(True, frozenset(), frozenset({1, 2})) == frozenset()
    assert check_collaborator_clients(False, frozenset(), frozenset({1})) == frozenset()
    with pytest.raises(DomainError) as outside:
        check_collaborator_clients(False, frozenset({3}), frozenset({1, 2}))
    assert outside.value.code == "CLIENT_NOT_OF_PARTNER"
    with pytest.raises(DomainError) as both:
        check_collaborator_clients(True, frozenset({1}), frozenset({1, 2}))
    assert both.value.code == "INVALID_INPUT"


# -- support ----------------------------------------------------------------------------


def test_support_access_duration_bounds() -> None:
    assert support_access_duration(1) == timedelta(hours=1)
    assert support_access_duration(MAX_SUPPORT_ACCESS_HOURS) == timedelta(hours=72)
    for hours, code in [
        (73, "SUPPORT_ACCESS_TOO_LONG"),
        (0, "INVALID_DURATION"),
        (-5, "INVALID_DURATION"),
    ]:
        with pytest.raises(DomainError) as caught:
            support_access_duration(hours)
        assert caught.value.code == code
        assert caught.value.field == "durationHours"


def test_support_access_ends_by_itself_or_when_revoked() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    expires = now + timedelta(hours=2)
    assert support_access_status(expires, None, now) is SupportAccessStatus.ACTIVE
    assert support_access_status(expires, None, expires) is SupportAccessStatus.EXPIRED
    assert support_access_status(expires, now, now) is SupportAccessStatus.REVOKED
    assert (
        support_access_status(expires, now, expires + timedelta(1)) is SupportAccessStatus.REVOKED
    )
    # A revocation recorded in the future (clock skew) does not end it yet.
    later = now + timedelta(minutes=5)
    assert support_access_status(expires, later, now) is SupportAccessStatus.ACTIVE


def test_backup_move_is_refused() -> None:
    error = refuse_backup_move()
    assert error.code == BACKUP_MOVE_NOT_SUPPORTED
    assert "cannot be moved" in error.message
