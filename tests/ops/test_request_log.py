"""The request log: one line per request, expected errors without tracebacks, an id for
the unexpected one that the client also gets, the request id carried into its jobs."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from config.logs import configure_logging, reset_logging
from config.settings import Settings
from db.models import OutboxMessage
from resolvers.demo import PARTNER
from resolvers.loaders import core as loaders
from tests.conftest import Api, gid, login

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

DASHBOARD = """query Dashboard { viewer { memberships { role organization { id name partner {
  clients(first: 20) { edges { node { id name grant { status level }
    products(first: 20) { edges { node { name } } }
    invoices(first: 20) { edges { node { number } } } } } } } } } } }"""
CLIENTS = """query Clients($after: String) { viewer { memberships { organization { partner {
  clients(first: 5, after: $after) { edges { node { name } } } } } } } }"""


class Lines:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line]

    def requests(self) -> list[dict[str, Any]]:
        return [line for line in self.all() if line["event"] == "request"]

    def clear(self) -> None:
        self.stream.seek(0)
        self.stream.truncate()


@pytest.fixture
def log_lines(settings: Settings) -> Iterator[Lines]:
    lines = Lines()
    configure_logging(settings.model_copy(update={"log_format": "json"}), stream=lines.stream)
    yield lines
    reset_logging()


async def test_one_line_per_request_with_operation_viewer_and_codes(
    api: Api, world: Any, log_lines: Lines
) -> None:
    token = await login(api, "rep@partner.example")
    log_lines.clear()
    response = await api.client.post(
        "/graphql", json={"query": DASHBOARD}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    body = response.json()
    codes = [e["extensions"]["code"] for e in body.get("errors", [])]
    assert "FORBIDDEN" in codes  # Bergbahn's invoices (LIMITED grant)

    lines = log_lines.all()
    assert len(lines) == 1, lines  # the request line and nothing else
    line = lines[0]
    assert line["event"] == "request"
    assert line["level"] == "info"
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["operation"] == "Dashboard"
    assert line["operation_type"] == "query"
    assert line["status"] == 200
    assert line["organization"] == world.organizations[PARTNER]
    assert line["user_id"] is not None
    assert sorted(line["error_codes"]) == sorted(codes)
    assert line["duration_ms"] > 0
    assert "Traceback" not in log_lines.stream.getvalue()
    assert "exception" not in line


async def test_expected_errors_and_user_errors_are_counted_not_traced(
    api: Api, world: Any, log_lines: Lines
) -> None:
    token = await login(api, "rep@partner.example")
    log_lines.clear()
    bad_cursor = await api.gql(CLIENTS, {"after": "not-a-cursor"}, token=token)
    assert bad_cursor.error_codes() == ["INVALID_CURSOR"]
    wrong = await api.gql(
        "mutation Login($i: LoginInput!) { login(input: $i) { token userErrors { code } } }",
        {"i": {"email": "rep@partner.example", "password": "not the password"}},
    )
    user_codes = [e["code"] for e in wrong.data["login"]["userErrors"]]
    assert user_codes

    requests = log_lines.requests()
    assert [r["operation"] for r in requests] == ["Clients", "Login"]
    assert requests[0]["error_codes"] == ["INVALID_CURSOR"]
    assert requests[1]["error_codes"] == user_codes
    assert requests[1]["operation_type"] == "mutation"
    assert len(log_lines.all()) == 2
    assert "Traceback" not in log_lines.stream.getvalue()


async def test_unexpected_error_logged_once_with_the_id_the_client_gets(
    api: Api, world: Any, log_lines: Lines, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("SELECT secret FROM invoices")

    monkeypatch.setattr(loaders.Loaders, "_partner_grants", broken)
    token = await login(api, "rep@partner.example")
    log_lines.clear()
    result = await api.gql(CLIENTS, {"after": None}, token=token)
    assert result.error_codes() == ["INTERNAL_SERVER_ERROR"]
    error_id = result.errors[0]["extensions"]["errorId"]
    assert error_id
    assert "secret" not in str(result.errors)

    lines = log_lines.all()
    unexpected = [line for line in lines if line["event"] == "unexpected error"]
    assert len(unexpected) == 1, lines
    assert unexpected[0]["error_id"] == error_id
    assert unexpected[0]["level"] == "error"
    assert "Traceback" in unexpected[0]["exception"]
    assert "RuntimeError: SELECT secret FROM invoices" in unexpected[0]["exception"]
    (request,) = log_lines.requests()
    assert request["error_id"] == error_id
    assert request["error_codes"] == ["INTERNAL_SERVER_ERROR"]
    assert request["request_id"] == unexpected[0]["request_id"]
    assert log_lines.stream.getvalue().count("Traceback") == 1


async def test_request_id_is_kept_from_a_trusted_front_and_carried_into_jobs(
    api: Api, world: Any, log_lines: Lines, sessionmaker: Any
) -> None:
    token = await login(api, "rep@partner.example")
    response = await api.client.post(
        "/graphql",
        json={
            "query": "mutation Invite($i: InviteInput!) { invite(input: $i) { "
            "grant { id } userErrors { code } } }",
            "variables": {
                "i": {
                    "organizationId": gid("Organization", world.organizations[PARTNER]),
                    "clientEmail": "owner@newshop.example",
                    "access": {"level": "LIMITED", "productFamilies": ["WEB_HOSTING"]},
                }
            },
        },
        headers={"authorization": f"Bearer {token}", "x-request-id": "front-0123456789"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["invite"]["userErrors"] == []
    assert response.headers["x-request-id"] == "front-0123456789"
    async with sessionmaker() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    emails = [row for row in rows if row.actor_name == "send_email"]
    assert emails
    assert {row.context["request_id"] for row in emails if row.context} == {"front-0123456789"}
    assert all(row.context for row in emails)
