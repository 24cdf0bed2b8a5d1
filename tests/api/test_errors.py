"""What a caller sees of errors: stable codes for broken rules, nothing of internals."""

from __future__ import annotations

from typing import Any

import pytest

from resolvers.loaders import core as loaders
from tests.conftest import Api, login

CLIENTS = """{ viewer { memberships { organization { partner {
  clients(first: 5, after: $after) { edges { node { name } } } } } } } }"""


async def test_bad_cursor_answers_its_code(api: Api, world: Any) -> None:
    token = await login(api, "rep@partner.example")
    result = await api.gql(
        "query($after: String) " + CLIENTS, {"after": "not-a-cursor"}, token=token
    )
    assert result.error_codes() == ["INVALID_CURSOR"]
    assert result.errors[0]["message"] == "This cursor is not valid."


async def test_unexpected_error_reveals_nothing(
    api: Api, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("SELECT secret FROM invoices WHERE amount = 1234.56")

    monkeypatch.setattr(loaders.Loaders, "_partner_grants", broken)
    token = await login(api, "rep@partner.example")
    result = await api.gql("query($after: String) " + CLIENTS, {"after": None}, token=token)
    assert result.error_codes() == ["INTERNAL_SERVER_ERROR"]
    assert result.errors[0]["message"] == "Unexpected error."
    assert "secret" not in str(result.errors)
    assert "1234.56" not in str(result.errors)
