"""The existence rule as a table: for every query and mutation that takes an ID, the ID of
an object of another organization answers byte for byte as the ID of a missing one.

The world: the demo partner with its clients, and a second partner ("Other Partner")
sharing a client with it: a LIMITED grant on Bergbahn's third product, a FULL grant on Lac
Leman Yachts, where the demo partner's grant is STOPPED. Two viewers probe the demo
partner's objects: the other partner's legal representative and Lac Leman's.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from strawberry import relay

from db.models import Grant, GrantProduct, Membership, Organization, Partner, User, utcnow
from domain.enums import AccessLevel, GrantStatus, PaymentMethods, Role, Side
from domain.money import Currency
from resolvers.demo import FULL_CLIENT, LIMITED_CLIENT, NEW_CLIENT, PARTNER, _demo_hash
from tests.edge.conftest import Edge, edge_settings, input_operation, open_edge

pytestmark = pytest.mark.timeout(240)

MISSING = str(2**62)
NO_THROTTLES = {
    f"throttle_{kind}_{dim}": ""
    for kind in ("password", "sign_up", "email", "emailed_token")
    for dim in ("account", "ip", "token")
}
OTHER_REP = "rep@other.example"
VIEWERS = [OTHER_REP, "rep@new.example"]


def gid(type_name: str, pk: int | str) -> str:
    return str(relay.GlobalID(type_name, str(pk)))


@dataclass
class World:
    edge: Edge
    own: dict[str, dict[str, str]]  # viewer -> name -> a global ID of its own
    foreign: dict[str, str]  # name -> a global ID of the demo partner's world


async def _other_partner(edge: Edge) -> tuple[int, int]:
    demo = edge.world
    async with edge.services.sessionmaker() as session, session.begin():
        org = Organization(name="Other Partner", currency=Currency.CHF, support_code="OTHER1")
        session.add(org)
        await session.flush()
        partner = Partner(organization_id=org.id)
        user = User(
            email=OTHER_REP,
            full_name="Other Rep",
            password_hash=_demo_hash(),
            email_verified_at=utcnow(),
        )
        session.add_all([partner, user])
        await session.flush()
        session.add(
            Membership(user_id=user.id, organization_id=org.id, role=Role.LEGAL_REPRESENTATIVE)
        )

        def grant(client: str, level: AccessLevel, methods: PaymentMethods | None) -> Grant:
            return Grant(
                partner_id=partner.id,
                client_id=demo.organizations[client],
                initiated_by=Side.CLIENT,
                status=GrantStatus.ACTIVE,
                requested_level=level,
                requested_payment_methods=methods,
                requested_product_ids=[],
                level=level,
                payment_methods=methods,
                invited_by_user_id=user.id,
                accepted_at=utcnow(),
            )

        limited = grant(LIMITED_CLIENT, AccessLevel.LIMITED, None)
        full = grant(NEW_CLIENT, AccessLevel.FULL, PaymentMethods.CLIENT)
        # The demo partner's past grant on Lac Leman: stopped before the other one began.
        stopped = Grant(
            partner_id=demo.partner_id,
            client_id=demo.organizations[NEW_CLIENT],
            initiated_by=Side.PARTNER,
            status=GrantStatus.STOPPED,
            requested_level=AccessLevel.FULL,
            requested_payment_methods=PaymentMethods.CLIENT,
            requested_product_ids=[],
            level=AccessLevel.FULL,
            payment_methods=PaymentMethods.CLIENT,
            invited_by_user_id=demo.users["rep@partner.example"],
            accepted_at=utcnow(),
            ended_at=utcnow(),
        )
        session.add_all([limited, full, stopped])
        await session.flush()
        session.add(GrantProduct(grant_id=limited.id, product_id=demo.products[LIMITED_CLIENT][2]))
        return org.id, stopped.id


async def _api(edge: Edge, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    response = await edge.gql(query, variables, token)
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"])


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with open_edge(edge_settings(tmp_path, **NO_THROTTLES)) as edge:
        demo = edge.world
        other_org, stopped_grant = await _other_partner(edge)
        rep = await edge.login("rep@partner.example")
        partner_org = gid("Organization", demo.organizations[PARTNER])
        invitation = await _api(
            edge,
            "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { invitation { id } } }",
            {"i": {"organizationId": partner_org, "email": "x@y.example", "role": "COLLABORATOR"}},
            rep,
        )
        token = await _api(
            edge,
            "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { apiToken { id } } }",
            {"i": {"organizationId": partner_org, "name": "ci", "access": "READ"}},
            rep,
        )
        support = await _api(
            edge,
            "mutation($i: GrantSupportAccessInput!) { grantSupportAccess(input: $i) "
            "{ supportAccess { id } } }",
            {"i": {"organizationId": partner_org, "durationHours": 2, "reason": "a ticket"}},
            rep,
        )
        sessions = await _api(edge, "{ viewer { sessions { id } } }", {}, rep)
        await _api(
            edge,
            "mutation($i: UpdateDirectoryListingInput!) { updateDirectoryListing(input: $i) "
            "{ userErrors { code } } }",
            {
                "i": {
                    "partnerId": gid("Partner", demo.partner_id),
                    "languages": ["fr"],
                    "regions": ["CH"],
                    "productFamilies": ["WEB_HOSTING"],
                }
            },
            rep,
        )
        bid = await _api(
            edge,
            "mutation($i: PostBidInput!) { postBid(input: $i) { bid { id } } }",
            {
                "i": {
                    "description": "A new web shop with mail for forty people.",
                    "productFamilies": ["WEB_HOSTING"],
                    "budget": {"amount": "4800.00", "currency": "CHF"},
                    "language": "fr",
                    "region": "CH",
                    "deadline": "2026-12-20T00:00:00Z",
                }
            },
            await edge.login("rep@full.example"),
        )
        async with edge.services.sessionmaker() as session:
            admin = await session.scalar(
                select(Membership.id)
                .join(User, User.id == Membership.user_id)
                .where(User.email == "admin@partner.example")
            )
        foreign = {
            "partnerOrg": partner_org,
            "clientOrg": gid("Organization", demo.organizations[FULL_CLIENT]),
            "partner": gid("Partner", demo.partner_id),
            "grant": gid("Grant", demo.grants[FULL_CLIENT]),
            "sharedClient": gid("Client", demo.grants[LIMITED_CLIENT]),
            "stoppedClient": gid("Client", stopped_grant),
            "client": gid("Client", demo.grants[FULL_CLIENT]),
            "product": gid("Product", demo.products[FULL_CLIENT][0]),
            "sharedProduct": gid("Product", demo.products[LIMITED_CLIENT][0]),
            "invoice": gid("Invoice", demo.invoices[FULL_CLIENT][0]),
            "member": gid("Member", admin or 0),
            "user": gid("User", demo.users["collab@partner.example"]),
            "invitation": invitation["inviteMember"]["invitation"]["id"],
            "apiToken": token["createApiToken"]["apiToken"]["id"],
            "supportAccess": support["grantSupportAccess"]["supportAccess"]["id"],
            "session": sessions["viewer"]["sessions"][0]["id"],
            "bid": bid["postBid"]["bid"]["id"],
        }
        own = {
            OTHER_REP: {"org": gid("Organization", other_org)},
            "rep@new.example": {"org": gid("Organization", demo.organizations[NEW_CLIENT])},
        }
        yield World(edge, own, foreign)


def missing(global_id: str) -> str:
    type_name = relay.GlobalID.from_id(global_id).type_name
    return gid(type_name, MISSING)


# A case: (label, document, variables with "@X" for the probed ID and "@own" for the
# viewer's organization, the name of the foreign object probed).
Case = tuple[str, str, dict[str, Any], str]
ERRORS = "userErrors { field message code }"


def M(name: str, value: dict[str, Any], probe: str, label: str = "") -> Case:
    document = input_operation(name, ERRORS)
    return (label or f"{name}:{probe}", document, {"i": value}, probe)


ACCESS_FULL = {"level": "FULL", "paymentMethods": "CLIENT"}
BASKET = {"productKind": "web_hosting", "quantity": 1}
CASES: list[Case] = [
    # Every node type with an object of another organization (partners themselves are
    # public: the directory and `partners` list them, so they are not probed).
    *[
        ("node:" + name, "query($x: ID!) { node(id: $x) { id __typename } }", {"x": "@X"}, name)
        for name in [
            "partnerOrg",
            "clientOrg",
            "grant",
            "sharedClient",
            "stoppedClient",
            "client",
            "product",
            "sharedProduct",
            "invoice",
            "member",
            "user",
            "invitation",
            "apiToken",
            "supportAccess",
            "session",
            "bid",
        ]
    ],
    *[
        (
            f"{field}:partnerOrg",
            f"query($x: ID!) {{ {field}(organizationId: $x) {sel} }}",
            {"x": "@X"},
            "partnerOrg",
        )
        for field, sel in [
            ("prepaidAccount", "{ __typename }"),
            ("partnerApplications", "{ edges { node { id } } }"),
            ("partnerReviews", "{ __typename }"),
            ("supportAccesses", "{ edges { node { id } } }"),
            ("supportView", "{ __typename }"),
            ("backupAccounts", "{ edges { node { id } } }"),
        ]
    ],
    (
        "receivedBids:partner",
        "query($x: ID!) { receivedBids(partnerId: $x) { edges { node { id } } } }",
        {"x": "@X"},
        "partner",
    ),
    *[
        (
            f"quote:{probe}",
            f"query($i: QuoteInput!) {{ quote(input: $i) {{ {ERRORS} }} }}",
            {"i": {"organizationId": "@own", "clientId": "@X", **BASKET}},
            probe,
        )
        for probe in ("sharedClient", "stoppedClient", "client", "clientOrg")
    ],
    *[
        M(
            "placeOrder",
            {"organizationId": "@own", "clientId": "@X", **BASKET},
            probe,
        )
        for probe in ("sharedClient", "stoppedClient", "client", "clientOrg")
    ],
    M("placeOrder", {"organizationId": "@X", **BASKET}, "partnerOrg"),
    M("quote", {"organizationId": "@X", **BASKET}, "partnerOrg"),
    *[
        M("renewProduct", {"organizationId": "@own", "productId": "@X"}, p)
        for p in ("product", "sharedProduct")
    ],
    M(
        "invite",
        {"organizationId": "@X", "clientEmail": "a@b.example", "access": ACCESS_FULL},
        "partnerOrg",
    ),
    *[
        M(name, {"grantId": "@X"}, "grant")
        for name in ("accept", "refuse", "resendInvitation", "cancelInvitation")
    ],
    M("editAccess", {"grantId": "@X", "access": ACCESS_FULL}, "grant"),
    M(
        "changePaymentMethods",
        {"grantId": "@X", "paymentMethods": "CLIENT"},
        "grant",
    ),
    M(
        "stopCollaboration",
        {"grantId": "@X", "password": "partnergraph-demo"},
        "grant",
    ),
    M("endSession", {"id": "@X"}, "session"),
    M("revokeApiToken", {"id": "@X"}, "apiToken"),
    M(
        "createApiToken",
        {"organizationId": "@X", "name": "x", "access": "READ"},
        "partnerOrg",
    ),
    M(
        "inviteMember",
        {"organizationId": "@X", "email": "z@y.example", "role": "EXTERNAL"},
        "partnerOrg",
    ),
    M("resendMemberInvitation", {"id": "@X"}, "invitation"),
    M("cancelMemberInvitation", {"id": "@X"}, "invitation"),
    M(
        "changeMemberRole",
        {"memberId": "@X", "role": "EXTERNAL"},
        "member",
    ),
    M("removeMember", {"memberId": "@X"}, "member"),
    M("leaveOrganization", {"organizationId": "@X"}, "partnerOrg"),
    M(
        "applyToPartnerProgram",
        {
            "organizationId": "@X",
            "acceptedResellerConditions": True,
            "acceptedBidExclusivity": True,
        },
        "clientOrg",
    ),
    M("joinAffiliateProgram", {"organizationId": "@X"}, "clientOrg"),
    M(
        "updateDirectoryListing",
        {"partnerId": "@X", "description": "x"},
        "partner",
    ),
    M(
        "setCollaboratorClients",
        {"organizationId": "@X", "userId": "@X", "allClients": True},
        "partnerOrg",
        "setCollaboratorClients:partnerOrg",
    ),
    M(
        "setCollaboratorClients",
        {"organizationId": "@own", "userId": "@X", "allClients": True},
        "user",
    ),
    M(
        "setCollaboratorRights",
        {"memberId": "@X", "allClients": True, "clients": []},
        "member",
    ),
    M(
        "grantSupportAccess",
        {"organizationId": "@X", "durationHours": 1, "reason": "x"},
        "partnerOrg",
    ),
    M(
        "revokeSupportAccess",
        {"supportAccessId": "@X"},
        "supportAccess",
    ),
    M(
        "makeOffer",
        {"bidId": "@X", "partnerId": "@X", "amount": {"amount": "10.00", "currency": "CHF"}},
        "bid",
    ),
]


def _without_bucket_level(content: bytes) -> bytes:
    """The answer's bytes, but for the caller's bucket level (it drains from call to call:
    the requested and actual costs stay, and must be equal too)."""
    body = json.loads(content)
    body.get("extensions", {}).get("cost", {}).get("throttleStatus", {}).pop(
        "currentlyAvailable", None
    )
    return json.dumps(body, separators=(",", ":")).encode()


def _fill(value: Any, probe: str, own: str) -> Any:
    text = json.dumps(value).replace('"@X"', json.dumps(probe)).replace('"@own"', json.dumps(own))
    return json.loads(text)


async def test_another_organizations_objects_answer_as_missing_ones(world: World) -> None:
    edge = world.edge
    differ = []
    for viewer in VIEWERS:
        token = await edge.login(viewer)
        own = world.own[viewer]["org"]
        for label, document, variables, probe in CASES:
            answers = []
            for target in (world.foreign[probe], missing(world.foreign[probe])):
                response = await edge.gql(document, _fill(variables, target, own), token)
                # Executed (no validation error): every error belongs to a field.
                errors = response.json().get("errors", [])
                assert all("path" in e for e in errors), (label, response.text)
                answers.append((response.status_code, _without_bucket_level(response.content)))
            if answers[0] != answers[1]:
                differ.append((viewer, label, answers[0], answers[1]))
    assert not differ, "\n".join(map(str, differ))


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_exports_of_another_organizations_client_answer_as_missing(
    world: World, viewer: str
) -> None:
    edge = world.edge
    token = await edge.login(viewer)
    for path, probe in [
        ("clients/{}/billing.csv", "sharedClient"),
        ("clients/{}/billing.csv", "stoppedClient"),
        ("clients/{}/billing.csv", "client"),
        ("clients/{}/billing.csv", "clientOrg"),
        ("organizations/{}/audit.csv", "partnerOrg"),
        ("organizations/{}/audit.csv", "clientOrg"),
    ]:
        answers = []
        for target in (world.foreign[probe], missing(world.foreign[probe])):
            response = await edge.client.get(
                "/exports/" + path.format(target), headers={"authorization": f"Bearer {token}"}
            )
            answers.append((response.status_code, response.content))
        assert answers[0] == answers[1] == (404, b'{"error":"NOT_FOUND"}'), (viewer, path, probe)
