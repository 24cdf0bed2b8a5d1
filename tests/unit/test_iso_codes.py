"""Language and region codes are checked against ISO 639-1 / 3166 (pycountry), not by shape:
a well-formed code that does not exist is refused with a clear error."""

from __future__ import annotations

import pytest

from domain.bids import clean_language, clean_region
from domain.errors import DomainError
from domain.program import clean_languages, clean_regions


@pytest.mark.parametrize(("raw", "code"), [("fr", "fr"), (" DE ", "de"), ("rm", "rm")])
def test_existing_languages_are_accepted(raw: str, code: str) -> None:
    assert clean_language(raw) == code
    assert clean_languages([raw]) == (code,)


@pytest.mark.parametrize("raw", ["xx", "qq", "zz", "fra", "f", ""])
def test_languages_that_do_not_exist_are_refused(raw: str) -> None:
    for check in (lambda: clean_language(raw), lambda: clean_languages([raw])):
        with pytest.raises(DomainError) as caught:
            check()
        assert caught.value.code == "INVALID_LANGUAGE"
        assert "ISO 639-1" in caught.value.message


@pytest.mark.parametrize(
    ("raw", "code"), [("ch", "CH"), ("CH-VD", "CH-VD"), ("de-by", "DE-BY"), ("FR-75C", "FR-75C")]
)
def test_existing_regions_are_accepted(raw: str, code: str) -> None:
    assert clean_region(raw) == code
    assert clean_regions([raw]) == (code,)


@pytest.mark.parametrize("raw", ["XX", "QZ", "CH-ZZ", "CH-XY1", "DE-VD", "Vaud", "C"])
def test_regions_that_do_not_exist_are_refused(raw: str) -> None:
    for check in (lambda: clean_region(raw), lambda: clean_regions([raw])):
        with pytest.raises(DomainError) as caught:
            check()
        assert caught.value.code == "INVALID_REGION"
        assert "ISO 3166" in caught.value.message
