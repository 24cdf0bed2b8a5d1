"""Production lockdown: no introspection (unless allowed), no suggestions of any kind;
one password-checking field per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.edge.conftest import Edge, edge_settings, open_edge

PRODUCTION = {"production": True, "secret_key": "a-real-secret-for-production-0123456789"}


@pytest.fixture
async def production(tmp_path: Path) -> AsyncIterator[Edge]:
    async with open_edge(edge_settings(tmp_path, **PRODUCTION), seed=False) as edge:
        yield edge


async def test_production_refuses_introspection(production: Edge) -> None:
    response = await production.gql("{ __schema { types { name } } }")
    body = response.json()
    assert body.get("data") is None
    assert "introspection" in body["errors"][0]["message"].lower()
    typed = await production.gql('{ __type(name: "Query") { name } }')
    assert typed.json().get("data") is None


async def test_a_setting_allows_introspection_in_production(tmp_path: Path) -> None:
    settings = edge_settings(tmp_path, introspection_in_production=True, **PRODUCTION)
    async with open_edge(settings, seed=False) as edge:
        response = await edge.gql("{ __schema { queryType { name } } }")
        assert response.json()["data"] == {"__schema": {"queryType": {"name": "Query"}}}


PROBES = {
    "argument": '{ directory(serch: "x") { edges { node { name } } } }',
    "type": "query($x: LoginInputt!) { __typename }",
    "input field": ('mutation { login(input: {emial: "a@b.example", password: "x"}) { token } }'),
    "enum value": (
        'mutation { signUp(input: {email: "a@b.example", password: "0123456789ab",'
        ' fullName: "A", organizationName: "B", currency: CHFF}) { email } }'
    ),
    "field": "{ viewr { user { email } } }",
}


@pytest.mark.parametrize("kind", PROBES)
async def test_no_suggestions_in_production(production: Edge, kind: str) -> None:
    response = await production.gql(PROBES[kind])
    messages = [e["message"] for e in response.json()["errors"]]
    assert messages
    assert not any("Did you mean" in m for m in messages), messages


async def test_no_suggestions_in_variable_errors(production: Edge) -> None:
    response = await production.gql(
        "mutation($i: LoginInput!) { login(input: $i) { token } }",
        {"i": {"emial": "a@b.example", "password": "x"}},
    )
    messages = [e["message"] for e in response.json()["errors"]]
    assert messages
    assert not any("Did you mean" in m for m in messages), messages


async def test_development_still_suggests(edge: Edge) -> None:
    response = await edge.gql(PROBES["enum value"])
    assert any("Did you mean" in e["message"] for e in response.json()["errors"])


@pytest.mark.parametrize(
    ("count", "code"),
    [(2, "PASSWORD_FIELDS_LIMIT"), (20, "PASSWORD_FIELDS_LIMIT"), (400, "MAX_ALIASES_EXCEEDED")],
)
async def test_two_password_fields_refuse_the_request_before_any_check(
    edge: Edge, count: int, code: str
) -> None:
    # 400 aliased logins are refused before validation (too many aliases); a few, by the
    # one-password-field rule. Either way no password is checked.
    aliased = " ".join(f"a{n}: login(input: $i) {{ token }}" for n in range(count))
    response = await edge.gql(
        f"mutation($i: LoginInput!) {{ {aliased} }}",
        {"i": {"email": "rep@partner.example", "password": "guess"}},
    )
    body = response.json()
    assert body.get("data") is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {code}
    # Nothing was checked: the account's five attempts a minute are all still there.
    for _ in range(5):
        single = await edge.gql(
            'mutation { login(input: {email: "rep@partner.example", password: "wrong!"})'
            " { userErrors { code } } }"
        )
        assert single.json()["data"]["login"]["userErrors"] == [{"code": "INVALID_CREDENTIALS"}]


async def test_two_different_password_fields_are_refused_too(edge: Edge) -> None:
    response = await edge.gql(
        'mutation { login(input: {email: "a@b.example", password: "x"}) { token }'
        ' stopCollaboration(input: {grantId: "x", password: "y"}) { userErrors { code } } }'
    )
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["PASSWORD_FIELDS_LIMIT"]


async def test_a_list_literal_over_the_cap_is_refused(edge: Edge) -> None:
    families = ", ".join(["WEB_HOSTING"] * 101)
    response = await edge.gql(
        f"{{ directory(productFamilies: [{families}]) {{ edges {{ node {{ name }} }} }} }}"
    )
    codes = [e.get("extensions", {}).get("code") for e in response.json()["errors"]]
    assert "LIST_TOO_LONG" in codes
