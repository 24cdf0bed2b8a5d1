"""Collaborator rights per client and per product, over HTTP: what the collaborator then
sees, who reads the rights, bad input writing nothing, and rights ending with the grant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from db.models import CollaboratorClient, CollaboratorProduct, Membership
from domain.enums import Role
from resolvers.demo import FULL_CLIENT, LIMITED_CLIENT, PARTNER
from tests.api.spine_support import STOP, Maker, add_member, audit_events, last_ids, session_tokens
from tests.conftest import Api, gid

SET_RIGHTS = """mutation($i: SetCollaboratorRightsInput!) { setCollaboratorRights(input: $i) {
  rights { memberId allClients clientIds clients { clientId allProducts productIds } }
  userErrors { field message code } } }"""
CLIENT_PRODUCTS = """query { viewer { memberships { organization { partner { clients {
  edges { node { id name products { edges { node { id name } } } } } } } } } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
RIGHTS = """query($id: ID!) { node(id: $id) { ... on Member { collaboratorRights {
  allClients clients { clientId allProducts productIds } } } } }"""
OWN_RIGHTS = """query { viewer { memberships { member { id collaboratorRights {
  clients { clientId allProducts productIds } } } } } }"""


async def collaborator_member(sessionmaker: Maker, world: Any) -> str:
    async with sessionmaker() as session:
        pk = await session.scalar(
            select(Membership.id).where(
                Membership.user_id == world.users["collab@partner.example"],
                Membership.organization_id == world.organizations[PARTNER],
            )
        )
    return gid("Member", int(pk or 0))


async def rights_rows(sessionmaker: Maker) -> tuple[int, int]:
    async with sessionmaker() as session:
        clients = await session.scalar(select(func.count()).select_from(CollaboratorClient))
        products = await session.scalar(select(func.count()).select_from(CollaboratorProduct))
    return int(clients or 0), int(products or 0)


async def seen_products(api: Api, token: str) -> dict[str, list[str]]:
    data = await api.ok(CLIENT_PRODUCTS, token=token)
    partner = data["viewer"]["memberships"][0]["organization"]["partner"]
    return {
        e["node"]["name"]: [p["node"]["id"] for p in e["node"]["products"]["edges"]]
        for e in partner["clients"]["edges"]
    }


async def test_rights_per_client_and_product(api: Api, sessionmaker: Maker, world: Any) -> None:
    tokens = await session_tokens(
        sessionmaker, ["rep@partner.example", "collab@partner.example", "admin@partner.example"]
    )
    rep, collab = tokens["rep@partner.example"], tokens["collab@partner.example"]
    member = await collaborator_member(sessionmaker, world)
    favre = gid("Client", world.grants[FULL_CLIENT])
    bergbahn = gid("Client", world.grants[LIMITED_CLIENT])
    favre_products = [gid("Product", p) for p in world.products[FULL_CLIENT]]
    bergbahn_products = [gid("Product", p) for p in world.products[LIMITED_CLIENT]]
    # Today: all of Favre's products (a FULL grant).
    assert sorted((await seen_products(api, collab))[FULL_CLIENT]) == sorted(favre_products)

    audit_before, _ = await last_ids(sessionmaker)
    chosen = favre_products[0]
    done = await api.ok(
        SET_RIGHTS,
        {
            "i": {
                "memberId": member,
                "clients": [
                    {"clientId": favre, "allProducts": False, "productIds": [chosen]},
                    {"clientId": bergbahn},
                ],
            }
        },
        token=rep,
    )
    payload = done["setCollaboratorRights"]
    assert payload["userErrors"] == []
    assert sorted(payload["rights"]["clients"], key=lambda c: c["clientId"]) == sorted(
        [
            {"clientId": favre, "allProducts": False, "productIds": [chosen]},
            {"clientId": bergbahn, "allProducts": True, "productIds": []},
        ],
        key=lambda c: c["clientId"],
    )
    # The collaborator's next request: one Favre product; Bergbahn's granted products.
    seen = await seen_products(api, collab)
    assert seen[FULL_CLIENT] == [chosen]
    assert len(seen[LIMITED_CLIENT]) == 2
    assert (await api.ok(NODE, {"id": chosen}, collab))["node"] is not None
    for other in favre_products[1:]:
        assert (await api.ok(NODE, {"id": other}, collab))["node"] is None
    # The rest of the partner is unchanged: the legal representative sees everything.
    assert sorted((await seen_products(api, rep))[FULL_CLIENT]) == sorted(favre_products)
    (event,) = await audit_events(sessionmaker, audit_before)
    assert event.action == "collaborator.set_rights"
    assert event.before["products"] == {str(world.organizations[FULL_CLIENT]): "ALL"}
    assert event.after["products"] == {
        str(world.organizations[FULL_CLIENT]): [world.products[FULL_CLIENT][0]],
        str(world.organizations[LIMITED_CLIENT]): "ALL",
    }

    # Who reads the rights: legal representatives, and the collaborator its own.
    by_rep = await api.ok(RIGHTS, {"id": member}, token=rep)
    assert len(by_rep["node"]["collaboratorRights"]["clients"]) == 2
    own = await api.ok(OWN_RIGHTS, token=collab)
    (membership,) = own["viewer"]["memberships"]
    assert membership["member"]["id"] == member
    assert len(membership["member"]["collaboratorRights"]["clients"]) == 2
    by_admin = await api.gql(RIGHTS, {"id": member}, token=tokens["admin@partner.example"])
    assert by_admin.data["node"]["collaboratorRights"] is None
    assert by_admin.error_codes() == ["FORBIDDEN"]
    # Another collaborator does not even see the member.
    await add_member(sessionmaker, world.organizations[PARTNER], "c2@p.example", Role.COLLABORATOR)
    other = (await session_tokens(sessionmaker, ["c2@p.example"]))["c2@p.example"]
    assert (await api.ok(RIGHTS, {"id": member}, token=other))["node"] is None

    # Bad input writes nothing.
    rows = await rights_rows(sessionmaker)
    bad_cases: list[tuple[dict[str, Any], str]] = [
        (
            {
                "clients": [
                    {
                        "clientId": bergbahn,
                        "allProducts": False,
                        "productIds": [bergbahn_products[2]],
                    }
                ]
            },
            "PRODUCT_NOT_COVERED",
        ),
        (
            {
                "clients": [
                    {"clientId": favre, "allProducts": False, "productIds": [bergbahn_products[0]]}
                ]
            },
            "PRODUCT_NOT_COVERED",
        ),
        ({"clients": [{"clientId": favre, "productIds": [chosen]}]}, "INVALID_INPUT"),
        ({"clients": [{"clientId": favre, "allProducts": False}]}, "INVALID_INPUT"),
        ({"clients": [{"clientId": favre}, {"clientId": favre}]}, "INVALID_INPUT"),
        ({"allClients": True, "clients": [{"clientId": favre}]}, "INVALID_INPUT"),
        ({"clients": [{"clientId": gid("Client", 999)}]}, "CLIENT_NOT_OF_PARTNER"),
    ]
    for variables, code in bad_cases:
        data = await api.ok(SET_RIGHTS, {"i": {"memberId": member, **variables}}, token=rep)
        assert [e["code"] for e in data["setCollaboratorRights"]["userErrors"]] == [code], variables
    by_collab = await api.ok(SET_RIGHTS, {"i": {"memberId": member}}, token=collab)
    assert [e["code"] for e in by_collab["setCollaboratorRights"]["userErrors"]] == [
        "ROLE_NOT_ALLOWED"
    ]
    assert await rights_rows(sessionmaker) == rows


async def test_rights_end_with_the_grant(api: Api, sessionmaker: Maker, world: Any) -> None:
    tokens = await session_tokens(sessionmaker, ["rep@partner.example", "collab@partner.example"])
    member = await collaborator_member(sessionmaker, world)
    favre = gid("Client", world.grants[FULL_CLIENT])
    chosen = gid("Product", world.products[FULL_CLIENT][0])
    await api.ok(
        SET_RIGHTS,
        {
            "i": {
                "memberId": member,
                "clients": [{"clientId": favre, "allProducts": False, "productIds": [chosen]}],
            }
        },
        token=tokens["rep@partner.example"],
    )
    assert await rights_rows(sessionmaker) == (1, 1)
    stopped = await api.ok(
        STOP,
        {
            "i": {
                "grantId": gid("Grant", world.grants[FULL_CLIENT]),
                "password": "partnergraph-demo",
            }
        },
        token=tokens["rep@partner.example"],
    )
    assert stopped["stopCollaboration"]["userErrors"] == []
    assert await rights_rows(sessionmaker) == (0, 0)
    rights = await api.ok(RIGHTS, {"id": member}, token=tokens["collab@partner.example"])
    assert rights["node"]["collaboratorRights"]["clients"] == []
    assert (await api.ok(NODE, {"id": chosen}, tokens["collab@partner.example"]))["node"] is None
