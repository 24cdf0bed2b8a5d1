"""Every mutation that sends an email and every redemption of an emailed token is
throttled: each trips at its limit, answers THROTTLED with `retryAfterSeconds`, and works
again once the window has passed (the test moves the service clock; nothing sleeps).
Limits count per client IP, per API token and per account."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from strawberry import relay

from resolvers.demo import PARTNER
from tests.edge.conftest import Edge, edge_settings, input_operation, open_edge

pytestmark = pytest.mark.timeout(240)

KINDS = ("password", "sign_up", "email", "emailed_token")
DIMENSIONS = ("account", "ip", "token")


def only(dimension: str, limit: str = "2/hour") -> dict[str, str]:
    """Every kind limited on one dimension only."""
    return {f"throttle_{k}_{d}": limit if d == dimension else "" for k in KINDS for d in DIMENSIONS}


def gid(type_name: str, pk: int) -> str:
    return str(relay.GlobalID(type_name, str(pk)))


BID = {
    "description": "A new web shop with mail for forty people.",
    "productFamilies": ["WEB_HOSTING"],
    "budget": {"amount": "4800.00", "currency": "CHF"},
    "language": "fr",
    "region": "CH",
    "deadline": "2026-12-20T00:00:00Z",
}


@dataclass
class Case:
    label: str
    document: str
    variables: Callable[[Edge], dict[str, Any]]
    who: str | None  # who is logged in, or None for a visitor


def org(edge: Edge) -> str:
    return gid("Organization", edge.world.organizations[PARTNER])


REP = "rep@partner.example"
CASES = [
    Case(
        "invite",
        input_operation("invite"),
        lambda e: {
            "i": {
                "organizationId": org(e),
                "clientEmail": "shop@client.example",
                "access": {"level": "FULL", "paymentMethods": "CLIENT"},
            }
        },
        REP,
    ),
    Case(
        "resendInvitation",
        input_operation("resendInvitation"),
        lambda e: {"i": {"grantId": gid("Grant", 1)}},
        REP,
    ),
    Case(
        "accept (token)",
        input_operation("accept"),
        lambda e: {"i": {"token": "pgi_guess"}},
        "rep@new.example",
    ),
    Case(
        "refuse (token)",
        input_operation("refuse"),
        lambda e: {"i": {"token": "pgi_guess"}},
        "rep@new.example",
    ),
    Case(
        "postBid (visitor)",
        input_operation("postBid"),
        lambda e: {"i": {**BID, "email": "visitor@home.example", "contactName": "V"}},
        None,
    ),
    Case("postBid (signed in)", input_operation("postBid"), lambda e: {"i": BID}, REP),
    Case(
        "verifyBidEmail",
        input_operation("verifyBidEmail"),
        lambda e: {"i": {"token": "pgb_guess"}},
        None,
    ),
    Case(
        "awardOffer (author token)",
        input_operation("awardOffer"),
        lambda e: {"i": {"offerId": gid("Offer", 1), "authorToken": "pga_guess"}},
        None,
    ),
    Case(
        "authoredBid",
        "query($t: String!) { authoredBid(authorToken: $t) { __typename } }",
        lambda e: {"t": "pga_guess"},
        None,
    ),
    Case(
        "inviteMember",
        input_operation("inviteMember"),
        lambda e: {"i": {"organizationId": org(e), "email": "new@p.example", "role": "EXTERNAL"}},
        REP,
    ),
    Case(
        "acceptMemberInvitation",
        input_operation("acceptMemberInvitation"),
        lambda e: {"i": {"token": "pgm_guess"}},
        None,
    ),
    Case(
        "signUp",
        input_operation("signUp"),
        lambda e: {
            "i": {
                "email": "ada@shop.example",
                "password": "correct horse battery",
                "fullName": "Ada",
                "organizationName": "Ada's",
                "currency": "CHF",
            }
        },
        None,
    ),
    Case(
        "verifyEmail",
        input_operation("verifyEmail"),
        lambda e: {"i": {"token": "pgv_guess"}},
        None,
    ),
    Case(
        "resendVerification",
        input_operation("resendVerification"),
        lambda e: {"i": {"email": "rep@new.example"}},
        None,
    ),
    Case(
        "requestPasswordReset",
        input_operation("requestPasswordReset"),
        lambda e: {"i": {"email": "rep@new.example"}},
        None,
    ),
    Case(
        "resetPassword",
        input_operation("resetPassword"),
        lambda e: {"i": {"token": "pgr_guess", "newPassword": "a new long password"}},
        None,
    ),
    Case(
        "changeEmail",
        input_operation("changeEmail"),
        lambda e: {"i": {"newEmail": "other@new.example", "password": "partnergraph-demo"}},
        "rep@new.example",
    ),
]


@pytest.fixture
async def per_ip(tmp_path: Path) -> AsyncIterator[Edge]:
    async with open_edge(edge_settings(tmp_path, **only("ip"))) as edge:
        yield edge


def throttled(response: httpx.Response) -> int | None:
    """The retry-after of a THROTTLED answer, else None."""
    for error in response.json().get("errors") or []:
        extensions = error.get("extensions") or {}
        if extensions.get("code") == "THROTTLED":
            return int(extensions["retryAfterSeconds"])
    return None


async def trips_and_recovers(
    edge: Edge, call: Callable[[], Awaitable[httpx.Response]], label: str, limit: int = 2
) -> None:
    edge.clock.advance(3600)  # a fresh window
    for n in range(limit):
        response = await call()
        assert response.status_code == 200, (label, n, response.text)
        assert throttled(response) is None, (label, n, response.text)
    refused = await call()
    retry = throttled(refused)
    assert retry is not None, (label, refused.text)
    assert 1 <= retry <= 3600, label
    assert refused.status_code == 429, (label, refused.text)
    assert refused.headers["retry-after"] == str(retry)
    # Still refused just before the window ends; answered once it has passed.
    edge.clock.advance(retry - 1)
    assert throttled(await call()) is not None, label
    edge.clock.advance(1)
    again = await call()
    assert throttled(again) is None, (label, again.text)


async def test_every_emailing_mutation_and_token_redemption_is_throttled(per_ip: Edge) -> None:
    edge = per_ip
    tokens: dict[str, str] = {}
    for case in CASES:
        if case.who and case.who not in tokens:
            edge.clock.advance(3600)
            tokens[case.who] = await edge.login(case.who)
    for case in CASES:
        token = tokens.get(case.who) if case.who else None

        async def call(case: Case = case, token: str | None = token) -> httpx.Response:
            return await edge.gql(case.document, case.variables(edge), token)

        await trips_and_recovers(edge, call, case.label)


async def test_limits_per_api_token(tmp_path: Path) -> None:
    async with open_edge(edge_settings(tmp_path, **only("token"))) as edge:
        rep = await edge.login(REP)
        created = await edge.gql(
            "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { secret } }",
            {"i": {"organizationId": org(edge), "name": "ci", "access": "READ_WRITE"}},
            rep,
        )
        secret = created.json()["data"]["createApiToken"]["secret"]
        invite = CASES[0]

        async def with_token() -> httpx.Response:
            return await edge.gql(invite.document, invite.variables(edge), secret)

        await trips_and_recovers(edge, with_token, "invite with an API token")
        # The person's own session is another credential: not counted with the token's.
        for _ in range(3):
            response = await edge.gql(invite.document, invite.variables(edge), rep)
            assert throttled(response) is None


async def test_limits_per_account_whatever_the_address(tmp_path: Path) -> None:
    settings = edge_settings(tmp_path, client_ip_header="x-forwarded-for", **only("account"))
    async with open_edge(settings) as edge:
        addresses = iter(f"198.51.100.{n}" for n in range(1, 200))

        async def reset() -> httpx.Response:
            # A new address each time: only the account (the email) is counted.
            return await edge.post(
                {
                    "query": input_operation("requestPasswordReset"),
                    "variables": {"i": {"email": "rep@new.example"}},
                },
                headers={"x-forwarded-for": next(addresses)},
            )

        await trips_and_recovers(edge, reset, "requestPasswordReset per account")
        # Another account is not affected.
        other = await edge.post(
            {
                "query": input_operation("requestPasswordReset"),
                "variables": {"i": {"email": "rep@full.example"}},
            },
            headers={"x-forwarded-for": next(addresses)},
        )
        assert throttled(other) is None
