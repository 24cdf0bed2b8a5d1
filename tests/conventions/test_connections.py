"""Connections: `totalCount` is what paging returns, for each viewer (counted over what that
viewer may see); `first/after` and `last/before` walk the same list both ways;
`nodes(ids:)` answers null for each ID that is missing or not visible."""

from __future__ import annotations

from typing import Any

import pytest

from resolvers.demo import FULL_CLIENT, LIMITED_CLIENT, PARTNER
from tests.api.spine_support import session_tokens
from tests.conftest import Api, gid, login

PAGE = "totalCount edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage }"
ARGS = "(first: $first, after: $after, last: $last, before: $before)"
VARS = "$id: ID!, $first: Int, $after: String, $last: Int, $before: String"


def _query(on_type: str, field: str) -> str:
    return (
        f"query({VARS}) {{ node(id: $id) {{ ... on {on_type} {{ {field}{ARGS} {{ {PAGE} }} }} }} }}"
    )


VIEWERS = [
    "rep@partner.example",
    "collab@partner.example",
    "rep@full.example",
    "rep@limited.example",
]


async def _page(api: Api, token: str, query: str, node_id: str, **args: Any) -> Any:
    result = await api.gql(query, {"id": node_id, **args}, token)
    node = (result.data or {}).get("node")
    if node is None:  # not visible, or not of the type: answered null
        return None
    connection = next(iter(node.values()), None)
    if connection is None:  # the node is visible, the list is not (FORBIDDEN)
        assert result.error_codes() == ["FORBIDDEN"], result.errors
    return connection


async def _walk(api: Api, token: str, query: str, node_id: str, *, backward: bool) -> list[str]:
    """Every node id of the connection, one item per page, forward or backward."""
    ids: list[str] = []
    cursor: str | None = None
    for _ in range(50):
        args = {"last": 1, "before": cursor} if backward else {"first": 1, "after": cursor}
        page = await _page(api, token, query, node_id, **args)
        assert page is not None
        assert page["totalCount"] >= len(ids)
        chunk = [edge["node"]["id"] for edge in page["edges"]]
        ids = chunk + ids if backward else ids + chunk
        more = page["pageInfo"]["hasPreviousPage" if backward else "hasNextPage"]
        if not more:
            return ids
        cursor = page["edges"][0 if backward else -1]["cursor"]
    raise AssertionError("the connection never ended")


async def test_total_count_is_what_paging_returns_for_each_viewer(
    api: Api, world: Any, sessionmaker: Any
) -> None:
    tokens = await session_tokens(sessionmaker, VIEWERS)
    partner_org = gid("Organization", world.organizations[PARTNER])
    connections = [
        (_query("Partner", "clients"), gid("Partner", world.partner_id)),
        (_query("Client", "products"), gid("Client", world.grants[LIMITED_CLIENT])),
        (_query("Client", "products"), gid("Client", world.grants[FULL_CLIENT])),
        (_query("Client", "invoices"), gid("Client", world.grants[FULL_CLIENT])),
        (_query("Grant", "products"), gid("Grant", world.grants[LIMITED_CLIENT])),  # in memory
        (_query("Organization", "members"), partner_org),
        (_query("Organization", "partnerships"), partner_org),
        (_query("Organization", "auditEvents"), partner_org),  # newest first
        *(
            (_query("Organization", field), gid("Organization", world.organizations[client]))
            for client in (FULL_CLIENT, LIMITED_CLIENT)
            for field in ("products", "invoices", "partnerships")
        ),
    ]
    seen: dict[tuple[str, str, str], int] = {}
    for email, token in tokens.items():
        for query, node_id in connections:
            whole = await _page(api, token, query, node_id)
            if whole is None:  # neither visible nor listed for this viewer
                continue
            everything = [edge["node"]["id"] for edge in whole["edges"]]
            assert whole["totalCount"] == len(everything), (email, query)
            assert await _walk(api, token, query, node_id, backward=False) == everything
            assert await _walk(api, token, query, node_id, backward=True) == everything
            seen[(email, query, node_id)] = whole["totalCount"]
    limited_products = (_query("Client", "products"), gid("Client", world.grants[LIMITED_CLIENT]))
    # The partner sees the 2 granted products of Bergbahn's 3; Bergbahn sees its 3.
    assert seen[("rep@partner.example", *limited_products)] == 2
    bergbahn_products = (
        _query("Organization", "products"),
        gid("Organization", world.organizations[LIMITED_CLIENT]),
    )
    assert seen[("rep@limited.example", *bergbahn_products)] == 3
    granted = (_query("Grant", "products"), gid("Grant", world.grants[LIMITED_CLIENT]))
    assert seen[("rep@partner.example", *granted)] == seen[("rep@limited.example", *granted)] == 2
    # The collaborator's rights name Favre Chocolatier only: one client of two.
    clients = (_query("Partner", "clients"), gid("Partner", world.partner_id))
    assert seen[("rep@partner.example", *clients)] == 2
    assert seen[("collab@partner.example", *clients)] == 1
    assert len(seen) >= 15


async def test_nested_total_counts_are_counted_per_parent(api: Api, world: Any) -> None:
    token = await _login(api)
    data = await api.ok(
        "query($id: ID!) { node(id: $id) { ... on Partner { clients(first: 10) { totalCount "
        "edges { node { name products(first: 1) { totalCount edges { node { id } } } } } } } } }",
        {"id": gid("Partner", world.partner_id)},
        token,
    )
    counts = {
        edge["node"]["name"]: edge["node"]["products"]["totalCount"]
        for edge in data["node"]["clients"]["edges"]
    }
    assert counts == {FULL_CLIENT: len(world.products[FULL_CLIENT]), LIMITED_CLIENT: 2}
    assert all(
        len(edge["node"]["products"]["edges"]) == 1 for edge in data["node"]["clients"]["edges"]
    )


async def test_first_and_last_together_are_refused(api: Api, world: Any) -> None:
    token = await _login(api)
    result = await api.gql(
        _query("Partner", "clients"),
        {"id": gid("Partner", world.partner_id), "first": 1, "last": 1},
        token,
    )
    assert result.error_codes() == ["INVALID_INPUT"]


async def _login(api: Api) -> str:
    return await login(api, "rep@partner.example")


NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


async def test_nodes_answer_null_for_missing_and_invisible_ids(api: Api, world: Any) -> None:
    token = await _login(api)
    granted, _, not_granted = world.products[LIMITED_CLIENT]
    asked = [
        gid("Product", granted),  # granted to the partner: visible
        gid("Product", not_granted),  # Bergbahn's ungranted product: invisible
        gid("Product", 10**9),  # missing
        "not-an-id",  # malformed
        gid("Organization", world.organizations[PARTNER]),  # visible, another type
        gid("Invoice", world.invoices[LIMITED_CLIENT][0]),  # client-paid: invisible
        gid("Product", granted),  # twice: answered twice
    ]
    data = await api.ok(NODES, {"ids": asked}, token)
    answers = [None if n is None else n["id"] for n in data["nodes"]]
    assert answers == [asked[0], None, None, None, asked[4], None, asked[0]]
    # Each answer is what node(id:) says of the same ID.
    for node_id, answer in zip(asked, answers, strict=True):
        one = await api.ok("query($id: ID!) { node(id: $id) { id } }", {"id": node_id}, token)
        assert (one["node"] or {}).get("id") == answer


async def test_nodes_take_at_most_100_ids(api: Api, world: Any) -> None:
    token = await _login(api)
    response = await api.client.post(
        "/graphql",
        json={"query": NODES, "variables": {"ids": [gid("Product", 1)] * 101}},
        headers={"authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert (body.get("data") or {}).get("nodes") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["LIST_TOO_LONG"]
    hundred = await api.ok(NODES, {"ids": [gid("Product", 10**9)] * 100}, token)
    assert hundred["nodes"] == [None] * 100


@pytest.mark.parametrize("field", ["first", "last"])
async def test_page_sizes_are_bounded_both_ways(api: Api, world: Any, field: str) -> None:
    token = await _login(api)
    node_id = gid("Partner", world.partner_id)
    too_many = await api.gql(_query("Partner", "clients"), {"id": node_id, field: 10_000}, token)
    assert too_many.error_codes() == ["PAGE_TOO_LARGE"]
    negative = await api.gql(_query("Partner", "clients"), {"id": node_id, field: -1}, token)
    assert negative.error_codes() == ["INVALID_PAGE_SIZE"]
