"""Company registration numbers, checked offline with python-stdnum (no register queried).

Accepted forms (SPEC: "Swiss Commercial Register, SIRET or an equivalent"):

- Swiss UID (Commercial Register), ``CHE-123.456.789``: separators optional, an optional
  VAT suffix (``MWST``/``TVA``/``IVA``) dropped; `stdnum.ch.uid` checks the check digit.
  Normalized to ``CHE-123.456.789``.
- French SIRET, 14 digits (spaces allowed): `stdnum.fr.siret` (Luhn, La Poste's
  establishments included). A bare SIREN is refused: an establishment has a SIRET.
- A neighbouring country's register, as its ISO 3166 code, a separator and the number:
  Germany's Handelsregister with its court (``DE Aachen HRB 44123``,
  `stdnum.de.handelsregisternummer`), Austria's Firmenbuch (``AT FN 122119m``,
  `stdnum.at.businessid`), Italy's partita IVA (``IT 00743110157``, `stdnum.it.iva`),
  Liechtenstein's PEID (``LI 1234567``, `stdnum.li.peid`).
- Elsewhere in the EU: the company's VAT number (``BE 0417.497.106``, `stdnum.eu.vat`).

Normalized as ``XX:<the register's own format>`` (``DE:Aachen HRB 44123``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from stdnum.at import businessid
from stdnum.ch import uid
from stdnum.de import handelsregisternummer
from stdnum.eu import vat
from stdnum.exceptions import ValidationError
from stdnum.fr import siret
from stdnum.it import iva
from stdnum.li import peid

_VAT_SUFFIX = re.compile(r"\s*(?:MWST|TVA|IVA)$")
_PREFIXED = re.compile(r"^([A-Z]{2})[\s:-]+(.+)$", re.IGNORECASE)

#: The register validators of the neighbouring countries (besides CH and FR).
NEIGHBOUR_REGISTERS: Final[dict[str, Callable[[str], str]]] = {
    "DE": handelsregisternummer.validate,
    "AT": lambda number: f"FN {businessid.validate(number)}",
    "IT": iva.validate,
    "LI": peid.validate,
}


class RegistrationNumberError(ValueError):
    """The number is not valid; the message says what to give instead."""


def normalize(raw: str) -> str:
    """The normalized number, or RegistrationNumberError saying why it is refused."""
    text = " ".join(raw.split())
    upper = text.upper()
    if upper.startswith("CHE"):
        try:
            return str(uid.format(uid.validate(_VAT_SUFFIX.sub("", upper))))
        except ValidationError:
            raise RegistrationNumberError("This Swiss UID is not valid (check digit).") from None
    compact = upper.replace(" ", "")
    if compact.isdigit():
        try:
            return str(siret.validate(compact))
        except ValidationError:
            raise RegistrationNumberError(
                "A French establishment is identified by a valid 14-digit SIRET."
            ) from None
    prefixed = _PREFIXED.match(text)
    if prefixed is not None:
        country, number = prefixed.group(1).upper(), prefixed.group(2).strip()
        check = NEIGHBOUR_REGISTERS.get(country)
        try:
            if check is not None:
                return f"{country}:{check(number)}"
            if country not in {"CH", "FR"} and country.lower() in vat.MEMBER_STATES:
                return f"{country}:{vat.validate(country + number)[2:]}"
        except ValidationError:
            raise RegistrationNumberError(
                f"This is not a valid number of the {country} register."
            ) from None
    raise RegistrationNumberError(
        "Give a Swiss UID (CHE-123.456.789), a 14-digit SIRET, or a country code and its "
        "register number (e.g. DE Aachen HRB 44123, AT FN 122119m, or an EU VAT number)."
    )
