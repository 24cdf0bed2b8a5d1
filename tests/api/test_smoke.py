from __future__ import annotations

from typing import Any

from tests.conftest import Api, gid, login

DASHBOARD = """
query {
  viewer {
    memberships {
      role
      organization {
        name
        partner {
          clients(first: 50) {
            edges { node {
              id name
              grant { status level paymentMethods }
              products(first: 50) { edges { node { name } } }
              invoices(first: 50) { edges { node { number total { amount currency } } } }
            } }
          }
        }
      }
    }
  }
}
"""


async def test_partner_dashboard(api: Api, world: Any) -> None:
    token = await login(api, "rep@partner.example")
    result = await api.gql(DASHBOARD, token=token)
    clients = result.data["viewer"]["memberships"][0]["organization"]["partner"]["clients"]["edges"]
    by_name = {c["node"]["name"]: c["node"] for c in clients}
    assert set(by_name) == {"Favre Chocolatier", "Bergbahn AG"}
    assert len(by_name["Favre Chocolatier"]["products"]["edges"]) == 3
    assert len(by_name["Bergbahn AG"]["products"]["edges"]) == 2
    assert len(by_name["Favre Chocolatier"]["invoices"]["edges"]) == 1
    assert by_name["Bergbahn AG"]["invoices"] is None
    assert result.error_codes() == ["FORBIDDEN"]


async def test_invite_and_accept(api: Api, world: Any) -> None:
    partner = await login(api, "rep@partner.example")
    data = await api.ok(
        """mutation($i: InviteInput!) { invite(input: $i) {
            grant { id status requestedAccess { level } } userErrors { field message code } } }""",
        {
            "i": {
                "organizationId": gid("Organization", world.organizations["Alpine Web Partners"]),
                "clientEmail": "rep@new.example",
                "access": {"level": "FULL", "paymentMethods": "CLIENT"},
            }
        },
        token=partner,
    )
    assert data["invite"]["userErrors"] == []
    grant_id = data["invite"]["grant"]["id"]
    client = await login(api, "rep@new.example")
    data = await api.ok(
        """mutation($i: AcceptInput!) { accept(input: $i) {
            grant { status level paymentMethods } userErrors { field message code } } }""",
        {"i": {"grantId": grant_id}},
        token=client,
    )
    assert data["accept"]["userErrors"] == []
    assert data["accept"]["grant"]["status"] == "ACTIVE"
