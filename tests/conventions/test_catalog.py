"""The `catalog` query: kinds, families, list prices per currency, quantity tiers, domain
names per extension; the partner discounts only for a partner's members."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.conftest import Api, login

CATALOG = """{ catalog { maxQuantity
  products { kind family domainExtension listPrices { amount currency } }
  families { family partnerDiscount quantityTiers { minQuantity rate } } } }"""


async def test_the_catalog_lists_what_is_sold(api: Api, world: Any) -> None:
    catalog = (await api.ok(CATALOG))["catalog"]  # no login needed
    products = {p["kind"]: p for p in catalog["products"]}
    assert {"web_hosting", "mail_hosting", "domain_ch", "kdrive"} <= set(products)
    assert {
        (m["currency"], Decimal(m["amount"])) for m in products["web_hosting"]["listPrices"]
    } == {
        ("CHF", Decimal("9.92")),
        ("EUR", Decimal("5.75")),
    }
    extensions = {p["domainExtension"] for p in catalog["products"] if p["family"] == "DOMAINS"}
    assert {".ch", ".com", ".fr", ".de"} <= extensions
    assert all(
        p["domainExtension"] is None for p in catalog["products"] if p["family"] != "DOMAINS"
    )
    families = {f["family"]: f for f in catalog["families"]}
    assert {f["family"] for f in catalog["families"]} == {p["family"] for p in catalog["products"]}
    tiers = {t["minQuantity"]: Decimal(t["rate"]) for t in families["WEB_HOSTING"]["quantityTiers"]}
    assert tiers[35] == Decimal("0.25")  # the guides' worked example
    assert all(f["partnerDiscount"] is None for f in catalog["families"])
    assert catalog["maxQuantity"] == 1000


async def test_partner_discounts_for_partner_members_only(api: Api, world: Any) -> None:
    partner = (await api.ok(CATALOG, token=await login(api, "rep@partner.example")))["catalog"]
    discounts = {f["family"]: f["partnerDiscount"] for f in partner["families"]}
    assert Decimal(discounts["WEB_HOSTING"]) == Decimal("0.20")
    assert all(d is not None for d in discounts.values())
    client = (await api.ok(CATALOG, token=await login(api, "rep@full.example")))["catalog"]
    assert all(f["partnerDiscount"] is None for f in client["families"])
