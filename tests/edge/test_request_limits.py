"""Request limits before parsing (body size, document length, variables, list lengths) and
the security headers every response carries."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.edge_middleware import security_headers
from tests.edge.conftest import Edge, edge_settings, open_edge

MIB = 1024 * 1024


async def test_a_body_over_the_cap_is_413_before_it_is_read(edge: Edge) -> None:
    response = await edge.client.post(
        "/graphql", content=b"x" * (50 * MIB), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"] == {
        "code": "PAYLOAD_TOO_LARGE",
        "maxBytes": MIB,
    }


async def test_a_chunked_body_is_cut_when_it_goes_over(edge: Edge) -> None:
    read = 0

    async def chunks():  # type: ignore[no-untyped-def]
        nonlocal read
        for _ in range(64):
            read += 64 * 1024
            yield b"x" * (64 * 1024)

    response = await edge.client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_body_under_the_cap_is_answered(edge: Edge) -> None:
    padding = " " * (MIB - 100)
    response = await edge.post({"query": "{ __typename }" + padding})
    # Within the body cap but over the document length: refused before parsing.
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_LONG"
    assert (await edge.post({"query": "{ __typename }"})).json()["data"] == {"__typename": "Query"}


async def test_too_many_variables_and_long_list_variables(edge: Edge) -> None:
    many = {f"v{n}": n for n in range(51)}
    response = await edge.post({"query": "{ __typename }", "variables": many})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_VARIABLES"
    query = "query($f: [ProductFamily!]) { directory(productFamilies: $f) { totalCount } }"
    long_list = await edge.post({"query": query, "variables": {"f": ["WEB_HOSTING"] * 101}})
    assert long_list.status_code == 400
    assert long_list.json()["errors"][0]["extensions"]["code"] == "LIST_TOO_LONG"
    nested = await edge.post({"query": "{ __typename }", "variables": {"i": {"a": [[0] * 101]}}})
    assert nested.json()["errors"][0]["extensions"]["code"] == "LIST_TOO_LONG"
    fine = await edge.post({"query": query, "variables": {"f": ["WEB_HOSTING"] * 20}})
    assert fine.status_code == 200
    assert "errors" not in fine.json()


def test_aliases_are_counted_through_fragment_spreads() -> None:
    from graphql import parse

    from schema.request_rules import count_aliases

    assert count_aliases(parse("{ a: __typename b: __typename viewer { c: id } }")) == 3
    spread = " ".join(["...F"] * 10)
    document = parse(f"{{ {spread} }} fragment F on Query {{ x: __typename y: __typename }}")
    assert count_aliases(document) == 20
    cyclic = parse("{ ...A } fragment A on Query { a: __typename ...A }")
    assert count_aliases(cyclic) == 1


async def test_too_many_aliases_are_refused_before_validation(edge: Edge) -> None:
    fragment = "fragment F on Query { " + " ".join(f"a{n}: __typename" for n in range(4)) + " }"
    response = await edge.post({"query": "{ " + " ".join(["...F"] * 8) + " } " + fragment})
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "MAX_ALIASES_EXCEEDED"}
    fine = await edge.post({"query": "{ " + " ".join(["...F"] * 7) + " } " + fragment})
    assert fine.json()["data"] == {"a0": "Query", "a1": "Query", "a2": "Query", "a3": "Query"}


EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def _check_headers(response: httpx.Response, *, html: bool = False) -> None:
    for name, value in EXPECTED.items():
        assert response.headers[name] == value, (response.request.url, name)
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    if html:
        assert "default-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "http" not in policy
    else:
        assert policy.startswith("default-src 'none'")
    assert "strict-transport-security" not in response.headers


async def test_security_headers_on_every_response(edge: Edge) -> None:
    token = await edge.login("rep@partner.example")
    responses = [
        await edge.post({"query": "{ __typename }"}),
        await edge.post({"query": "{ viewer { user { email } } }"}, token),
        await edge.client.post(
            "/graphql", content=b"{", headers={"content-type": "application/json"}
        ),
        await edge.client.post("/graphql", content=b"x" * (2 * MIB)),
        await edge.client.get("/healthz"),
        await edge.client.get("/readyz"),
        await edge.client.get("/nowhere"),
        await edge.client.get(
            "/exports/organizations/nope/audit.csv", headers={"authorization": f"Bearer {token}"}
        ),
    ]
    for response in responses:
        # The web console answers any other GET with its HTML page: the 'self' policy.
        html = "text/html" in response.headers["content-type"]
        _check_headers(response, html=html)
        if not html:  # a route may set its own (the console's page: no-cache)
            assert response.headers["cache-control"] == "no-store"


async def test_graphiql_page_in_development_has_the_self_only_policy(tmp_path: Path) -> None:
    async with open_edge(edge_settings(tmp_path, graphiql=True), seed=False) as edge:
        response = await edge.client.get("/graphql", headers={"accept": "text/html"})
        assert response.headers["content-type"].startswith("text/html")
        _check_headers(response, html=True)


async def test_hsts_behind_a_setting(tmp_path: Path) -> None:
    settings = edge_settings(tmp_path, hsts_seconds=31536000)
    assert (b"strict-transport-security", b"max-age=31536000; includeSubDomains") in (
        security_headers(settings, html=False)
    )
    async with open_edge(settings, seed=False) as edge:
        response = await edge.client.get("/healthz")
        assert (
            response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        )
