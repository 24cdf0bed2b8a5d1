"""Language and region codes, checked against the ISO standards with pycountry: a code of
the right shape that does not exist ("xx", "CH-ZZ") is refused."""

from __future__ import annotations

from functools import cache

import pycountry

from domain.errors import DomainError


@cache
def is_language(code: str) -> bool:
    """An ISO 639-1 (two-letter) language code, lower case: ``fr``."""
    return len(code) == 2 and code.islower() and pycountry.languages.get(alpha_2=code) is not None


@cache
def is_region(code: str) -> bool:
    """An ISO 3166-1 alpha-2 country (``CH``) or ISO 3166-2 subdivision (``CH-VD``), upper
    case."""
    if code != code.upper():
        return False
    if len(code) == 2:
        return pycountry.countries.get(alpha_2=code) is not None
    return "-" in code and pycountry.subdivisions.get(code=code) is not None  # type: ignore[no-untyped-call]


def clean_language(value: str, field: str, error: type[DomainError] = DomainError) -> str:
    code = value.strip().lower()
    if not is_language(code):
        raise error(
            "INVALID_LANGUAGE", f"{value!r} is not an ISO 639-1 language code, e.g. fr.", field
        )
    return code


def clean_region(value: str, field: str, error: type[DomainError] = DomainError) -> str:
    code = value.strip().upper()
    if not is_region(code):
        raise error(
            "INVALID_REGION",
            f"{value!r} is not an ISO 3166 country or subdivision code, e.g. CH or CH-VD.",
            field,
        )
    return code
