"""The default price catalog, as plain data (read by `domain.pricing.Catalog.from_mapping`).

Decimals are strings, never floats. List prices are per unit per month.

Quantity tiers (decided; SPEC: "the table is configuration"), the same for web and mail
hosting. A tier is "from this many units, this decreasing rate":

    quantity   1-4   5-9   10-19   20-34   35-49   50+
    rate        0 %   5 %   10 %    15 %    25 %    30 %

The guides give one point of it (35 hostings -> 25 %) and the worked example
(35 x CHF 9.92 = 347.20 -> 277.76 after the 20 % partner discount -> 208.32 after 25 %;
EUR 5.75: 201.25 -> 161.00 -> 120.75), which the values below keep. Other prices and
discounts are plausible placeholders.
"""

from __future__ import annotations

from typing import Final

_HOSTING_TIERS: Final = [
    {"min_quantity": 1, "rate": "0"},
    {"min_quantity": 5, "rate": "0.05"},
    {"min_quantity": 10, "rate": "0.10"},
    {"min_quantity": 20, "rate": "0.15"},
    {"min_quantity": 35, "rate": "0.25"},
    {"min_quantity": 50, "rate": "0.30"},
]

DEFAULT_CATALOG_DATA: Final[dict[str, object]] = {
    "max_quantity": 1000,
    "products": {
        "web_hosting": {"family": "WEB_HOSTING", "list_prices": {"CHF": "9.92", "EUR": "5.75"}},
        "mail_hosting": {"family": "MAIL_HOSTING", "list_prices": {"CHF": "1.50", "EUR": "1.40"}},
        "domain_ch": {"family": "DOMAINS", "list_prices": {"CHF": "0.92", "EUR": "0.85"}},
        "domain_li": {"family": "DOMAINS", "list_prices": {"CHF": "0.92", "EUR": "0.85"}},
        "domain_com": {"family": "DOMAINS", "list_prices": {"CHF": "1.17", "EUR": "1.08"}},
        "domain_fr": {"family": "DOMAINS", "list_prices": {"CHF": "0.83", "EUR": "0.77"}},
        "domain_de": {"family": "DOMAINS", "list_prices": {"CHF": "0.75", "EUR": "0.69"}},
        "domain_eu": {"family": "DOMAINS", "list_prices": {"CHF": "0.83", "EUR": "0.77"}},
        "kdrive": {"family": "STORAGE", "list_prices": {"CHF": "5.00", "EUR": "4.60"}},
        "swiss_backup": {"family": "STORAGE", "list_prices": {"CHF": "4.25", "EUR": "3.90"}},
        "public_cloud": {"family": "CLOUD", "list_prices": {"CHF": "25.00", "EUR": "23.00"}},
    },
    "quantity_tiers": {
        "WEB_HOSTING": _HOSTING_TIERS,
        "MAIL_HOSTING": _HOSTING_TIERS,
    },
    "partner_discounts": {
        "WEB_HOSTING": "0.20",
        "MAIL_HOSTING": "0.20",
        "DOMAINS": "0.10",
        "STORAGE": "0.20",
        "CLOUD": "0.15",
    },
}
