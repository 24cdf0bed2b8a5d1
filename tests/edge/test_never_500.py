"""Never a 500: IDs out of range or malformed, decimal overflow, invalid UTF-8, oversized
bodies; each answers as missing, with an input error or a 4xx JSON body."""

from __future__ import annotations

import re
from pathlib import Path

from strawberry import relay

from resolvers.demo import FULL_CLIENT, PARTNER
from schema.ids import MAX_PK, primary_key
from tests.edge.conftest import Edge

SCHEMA = Path(__file__).parents[2] / "schema.graphql"
NODE_TYPES = sorted(re.findall(r"^type (\w+) implements .*\bNode\b", SCHEMA.read_text(), re.M))
BAD_KEYS = [str(2**70), str(2**63), "0", "-1", "²", "١٢", "1e3", " 1", ""]


def gid(type_name: str, key: str) -> str:
    return str(relay.GlobalID(type_name, key))


def test_primary_keys_are_ascii_digits_within_bigint() -> None:
    assert primary_key("1") == 1
    assert primary_key(str(MAX_PK)) == MAX_PK
    assert [primary_key(k) for k in BAD_KEYS] == [None] * len(BAD_KEYS)


def test_every_node_type_is_covered() -> None:
    assert len(NODE_TYPES) >= 15, NODE_TYPES
    assert {"Client", "Grant", "Invoice", "Organization", "Product"} <= set(NODE_TYPES)


async def test_node_with_a_key_out_of_range_answers_missing(edge: Edge) -> None:
    token = await edge.login("rep@partner.example")
    for type_name, key in [(t, k) for t in NODE_TYPES for k in BAD_KEYS]:
        response = await edge.gql(
            "query($id: ID!) { node(id: $id) { id } }", {"id": gid(type_name, key)}, token
        )
        assert response.status_code == 200
        assert response.json() == {"data": {"node": None}}, (type_name, key)


async def test_inputs_with_keys_out_of_range_are_invalid_ids(edge: Edge) -> None:
    token = await edge.login("rep@partner.example")
    org = gid("Organization", str(edge.world.organizations[PARTNER]))
    huge = str(2**70)
    cases = {
        "invite": (
            "mutation($i: InviteInput!) { invite(input: $i) { userErrors { field code } } }",
            {
                "organizationId": gid("Organization", huge),
                "clientEmail": "a@b.example",
                "access": {"level": "FULL", "paymentMethods": "CLIENT"},
            },
        ),
        "quote": (
            "query($i: QuoteInput!) { quote(input: $i) { userErrors { field code } } }",
            {
                "organizationId": org,
                "clientId": gid("Client", huge),
                "productKind": "web_hosting",
                "quantity": 1,
            },
        ),
        "placeOrder": (
            "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) "
            "{ userErrors { field code } } }",
            {
                "organizationId": org,
                "clientId": gid("Organization", huge),
                "productKind": "web_hosting",
                "quantity": 1,
            },
        ),
        "stopCollaboration": (
            "mutation($i: StopCollaborationInput!) { stopCollaboration(input: $i) "
            "{ userErrors { field code } } }",
            {"grantId": gid("Grant", huge), "password": "x"},
        ),
    }
    for name, (query, value) in cases.items():
        response = await edge.gql(query, {"i": value}, token)
        body = response.json()
        assert "errors" not in body, (name, body)
        [error] = body["data"][name]["userErrors"]
        assert error["code"] in {"INVALID_ID", "NOT_FOUND"}, (name, error)


async def test_export_paths_with_keys_out_of_range_answer_404(edge: Edge) -> None:
    token = await edge.login("rep@partner.example")
    routes = [("clients/{}/billing.csv", "Client"), ("organizations/{}/audit.csv", "Organization")]
    for (route, type_name), key in [(r, k) for r in routes for k in BAD_KEYS]:
        url = "/exports/" + route.format(gid(type_name, key))
        response = await edge.client.get(url, headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 404, (url, response.text)
        assert response.json() == {"error": "NOT_FOUND"}


POST_BID = """mutation($i: PostBidInput!) { postBid(input: $i) { bid { id }
  userErrors { field code } } }"""


async def test_decimal_overflow_is_an_invalid_amount(edge: Edge) -> None:
    token = await edge.login("rep@full.example")
    for amount in ["1E+30", "1E+26", "9" * 40, "NaN", "-Infinity", "1E-9999"]:
        await _post_bid_refused(edge, token, amount)


async def _post_bid_refused(edge: Edge, token: str, amount: str) -> None:
    response = await edge.gql(
        POST_BID,
        {
            "i": {
                "description": "A shop with web hosting and mail for 40 people.",
                "productFamilies": ["WEB_HOSTING"],
                "budget": {"amount": amount, "currency": "CHF"},
                "language": "fr",
                "region": "CH",
                "deadline": "2026-12-20T00:00:00Z",
            }
        },
        token,
    )
    body = response.json()
    assert response.status_code == 200
    assert "errors" not in body, body
    assert [e["code"] for e in body["data"]["postBid"]["userErrors"]] == ["INVALID_AMOUNT"]
    assert body["data"]["postBid"]["bid"] is None


async def test_expected_amount_overflow_is_an_invalid_amount(edge: Edge) -> None:
    token = await edge.login("rep@partner.example")
    response = await edge.gql(
        "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { userErrors { field code } } }",
        {
            "i": {
                "organizationId": gid("Organization", str(edge.world.organizations[PARTNER])),
                "clientId": gid("Client", str(edge.world.grants[FULL_CLIENT])),
                "productKind": "web_hosting",
                "quantity": 1,
                "expectedAmountDue": "1E+30",
            }
        },
        token,
    )
    assert response.json()["data"]["placeOrder"]["userErrors"] == [
        {"field": ["expectedAmountDue"], "code": "INVALID_AMOUNT"}
    ]


async def test_a_body_that_is_not_utf8_json_is_a_400_with_a_json_body(edge: Edge) -> None:
    token = await edge.login("rep@partner.example")
    bodies = [b'{"query": "{ __typename \xff }"}', b"\xff\xfe\x00", b'{"query": "\xc3\x28"}', b"{"]
    for body in bodies:
        response = await edge.client.post(
            "/graphql",
            content=body,
            headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
        )
        assert response.status_code == 400, body
        assert response.headers["content-type"] == "application/json"
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
