"""SPEC "What each side sees", row by row, for every role of both sides, over HTTP.

The demo grant of "Favre Chocolatier" is put in each state through the database; then
every partner-side role (legal representative, administrator, collaborator with rights on
that client, collaborator with rights on every client, collaborator with rights on another
client only, external member) and every client-side role looks at the client, its
products and both of its invoices (one paid by the client, one paid by the partner)
through every path: the partner's client list, node(id:) lookups, the client
organization's own invoices.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from strawberry import relay

from db.models import Invoice, utcnow
from domain.enums import AccessLevel, GrantStatus, PaymentMethods, Role, Side
from resolvers.demo import FULL_CLIENT, LIMITED_CLIENT, PARTNER
from tests.api.spine_support import (
    Maker,
    add_member,
    delete_grant,
    session_token,
    session_tokens,
    set_grant_products,
    update_grant,
)
from tests.conftest import Api, GraphQLResult, gid

# -- the expected table, written from SPEC ------------------------------------------------
# What a partner-side role sees of the client, per grant state:
#   -         nothing: not listed, node(Client) null, no product, no name
#   name      the client's name only (listed; products and invoices FORBIDDEN)
#   products  the granted products only (LIMITED)
#   whole     the whole organization (every product)
#   ...+$     Client.invoices lists the invoices the partner paid (else FORBIDDEN)
PARTNER_ROLES = ["rep", "admin", "collab", "collab_all", "collab_other", "external"]
TABLE = """
state               rep         admin       collab      collab_all  collab_other  external
none                -           -           -           -           -             -
pending_by_partner  name        name        name        name        -             -
pending_by_client   name        name        name        name        -             -
refused             -           -           -           -           -             -
cancelled           -           -           -           -           -             -
expired             -           -           -           -           -             -
stopped_full        -           -           -           -           -             -
stopped_limited     -           -           -           -           -             -
limited             products    products    products    products    -             -
full_client         whole       whole       whole       whole       -             -
full_partner        whole+$     whole+$     whole       whole       -             -
"""


def _parse(table: str) -> dict[str, dict[str, str]]:
    lines = [line.split() for line in table.strip().splitlines()]
    header = lines[0][1:]
    assert header == PARTNER_ROLES
    return {row[0]: dict(zip(header, row[1:], strict=True)) for row in lines[1:]}


EXPECTED = _parse(TABLE)
STATES = list(EXPECTED)

# Client-side roles: what a member of the client sees, whatever the grant's state.
# (invoices of the organization: the client-paid one, or FORBIDDEN; node of each invoice)
CLIENT_ROLES: dict[str, tuple[Role, bool]] = {
    # role name: (role, has billing rights)
    "client_rep": (Role.LEGAL_REPRESENTATIVE, True),
    "client_admin": (Role.ADMINISTRATOR, True),
    "client_collab": (Role.COLLABORATOR, False),
    "client_external": (Role.EXTERNAL, False),
}

EMAILS = {
    "rep": "rep@partner.example",
    "admin": "admin@partner.example",
    "collab": "collab@partner.example",
    "collab_all": "collab-all@partner.example",
    "collab_other": "collab-other@partner.example",
    "external": "external@partner.example",
    "client_rep": "rep@full.example",
    "client_admin": "admin@full.example",
    "client_collab": "collab@full.example",
    "client_external": "external@full.example",
}

PARTNER_VIEW = """
query($partner: ID!, $client: ID!, $grant: ID!, $p0: ID!, $p1: ID!, $p2: ID!,
      $byClient: ID!, $byPartner: ID!, $clientOrg: ID!, $missing: ID!) {
  partner: node(id: $partner) { ... on Partner { name clients(first: 100) { edges { node {
    id name
    grant { status clientName grantedProducts { name } }
    products(first: 100) { edges { node { name } } }
    invoices(first: 100) { edges { node { number total { amount currency } } } }
  } } } } }
  client: node(id: $client) { ... on Client {
    name
    products(first: 100) { edges { node { name } } }
    invoices(first: 100) { edges { node { number total { amount currency } } } }
  } }
  grant: node(id: $grant) { ... on Grant { status clientName grantedProducts { name } } }
  p0: node(id: $p0) { ... on Product { name } }
  p1: node(id: $p1) { ... on Product { name } }
  p2: node(id: $p2) { ... on Product { name } }
  byClient: node(id: $byClient) { id ... on Invoice { number total { amount } lines { amount {
    amount } } } }
  missing: node(id: $missing) { id ... on Invoice { number total { amount } lines { amount {
    amount } } } }
  byPartner: node(id: $byPartner) { ... on Invoice { number total { amount } } }
  clientOrg: node(id: $clientOrg) { ... on Organization { name
    invoices(first: 100) { edges { node { number } } } } }
}
"""

CLIENT_VIEW = """
query($org: ID!, $partner: ID!, $byClient: ID!, $byPartner: ID!) {
  org: node(id: $org) { ... on Organization {
    name
    products(first: 100) { edges { node { name } } }
    invoices(first: 100) { edges { node { number } } }
    partnerships(first: 100) { edges { node { status partner { name } } } }
  } }
  partner: node(id: $partner) { ... on Partner { name clients(first: 100) { edges { node {
    name } } } } }
  byClient: node(id: $byClient) { ... on Invoice { number } }
  byPartner: node(id: $byPartner) { ... on Invoice { number } }
}
"""

INVOICE_LOOKUP = (
    "query($id: ID!) { node(id: $id) { id ... on Invoice { number total { amount } } } }"
)


@dataclass
class Scene:
    api: Api
    tokens: dict[str, str]
    grant_id: int
    partner_id: int
    partner_org: int
    client_org: int
    products: list[int]
    product_names: list[str]
    paid_by_client: Invoice
    paid_by_partner: Invoice


async def _invoices(sessionmaker: Maker, ids: list[int]) -> dict[int, Invoice]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(Invoice).where(Invoice.id.in_(ids)))
        return {row.id: row for row in rows}


async def _put_in_state(sessionmaker: Maker, world: Any, state: str) -> None:
    grant_id = world.grants[FULL_CLIENT]
    p0, p1, _ = world.products[FULL_CLIENT]
    now = utcnow()
    future, past = now + timedelta(days=7), now - timedelta(minutes=1)
    pending = {"status": GrantStatus.PENDING, "accepted_at": None}
    if state == "none":
        await delete_grant(sessionmaker, grant_id)
        return
    if state == "pending_by_partner":
        await update_grant(
            sessionmaker,
            grant_id,
            **pending,
            initiated_by=Side.PARTNER,
            invitee_email="rep@full.example",
            requested_level=AccessLevel.FULL,
            requested_payment_methods=PaymentMethods.PARTNER,
            level=None,
            payment_methods=None,
            invitation_expires_at=future,
        )
        return
    # The client offered LIMITED on p0 (its grant_products row exists while pending, and
    # stays after a refusal or cancellation): none of it may show before acceptance.
    offered = {
        "initiated_by": Side.CLIENT,
        "requested_level": AccessLevel.LIMITED,
        "requested_payment_methods": None,
        "level": AccessLevel.LIMITED,
        "payment_methods": None,
    }
    if state in ("pending_by_client", "expired", "refused", "cancelled"):
        expires = past if state == "expired" else future
        status = {
            "pending_by_client": GrantStatus.PENDING,
            "expired": GrantStatus.PENDING,  # past its expiry, not yet swept
            "refused": GrantStatus.REFUSED,
            "cancelled": GrantStatus.CANCELLED,
        }[state]
        await update_grant(
            sessionmaker,
            grant_id,
            **offered,
            status=status,
            accepted_at=None,
            invitation_expires_at=expires,
        )
        await set_grant_products(sessionmaker, grant_id, [p0])
        return
    if state == "stopped_full":
        await update_grant(sessionmaker, grant_id, status=GrantStatus.STOPPED, ended_at=now)
        return
    if state in ("stopped_limited", "limited"):
        await update_grant(
            sessionmaker,
            grant_id,
            status=GrantStatus.STOPPED if state == "stopped_limited" else GrantStatus.ACTIVE,
            level=AccessLevel.LIMITED,
            payment_methods=None,
        )
        await set_grant_products(sessionmaker, grant_id, [p0, p1])
        return
    if state == "full_client":
        await update_grant(sessionmaker, grant_id, payment_methods=PaymentMethods.CLIENT)
        return
    assert state == "full_partner"  # the demo grant as seeded


async def _scene(api: Api, sessionmaker: Maker, world: Any, state: str) -> Scene:
    orgs = world.organizations
    partner_org, client_org = orgs[PARTNER], orgs[FULL_CLIENT]
    await add_member(
        sessionmaker, partner_org, EMAILS["collab_all"], Role.COLLABORATOR, all_clients=True
    )
    await add_member(
        sessionmaker,
        partner_org,
        EMAILS["collab_other"],
        Role.COLLABORATOR,
        client_ids=(orgs[LIMITED_CLIENT],),
    )
    await add_member(sessionmaker, partner_org, EMAILS["external"], Role.EXTERNAL)
    for name, (role, _) in CLIENT_ROLES.items():
        if role is not Role.LEGAL_REPRESENTATIVE:
            await add_member(sessionmaker, client_org, EMAILS[name], role)
    await _put_in_state(sessionmaker, world, state)
    by_email = await session_tokens(sessionmaker, list(EMAILS.values()))
    tokens = {name: by_email[email] for name, email in EMAILS.items()}
    by_client_id, by_partner_id = world.invoices[FULL_CLIENT]
    invoices = await _invoices(sessionmaker, [by_client_id, by_partner_id])
    assert invoices[by_client_id].organization_id == client_org
    assert invoices[by_partner_id].organization_id == partner_org
    names = ["favre-chocolatier.ch", "mail.favre-chocolatier.ch", "favre-chocolatier.ch domain"]
    return Scene(
        api=api,
        tokens=tokens,
        grant_id=world.grants[FULL_CLIENT],
        partner_id=world.partner_id,
        partner_org=partner_org,
        client_org=client_org,
        products=world.products[FULL_CLIENT],
        product_names=names,
        paid_by_client=invoices[by_client_id],
        paid_by_partner=invoices[by_partner_id],
    )


def _visible_products(scene: Scene, sees: str) -> list[str]:
    if sees.startswith("whole"):
        return scene.product_names
    if sees == "products":
        return scene.product_names[:2]
    return []


def _errors_by_path(result: GraphQLResult) -> dict[tuple[Any, ...], str | None]:
    return {tuple(e.get("path") or ()): e.get("extensions", {}).get("code") for e in result.errors}


def _edges(connection: dict[str, Any] | None) -> list[dict[str, Any]]:
    assert connection is not None
    return [edge["node"] for edge in connection["edges"]]


def _assert_client_view(
    scene: Scene,
    node: dict[str, Any],
    errors: dict[tuple[Any, ...], str | None],
    path: tuple[Any, ...],
    sees: str,
) -> None:
    """A client as the partner-side role sees it (listed, or looked up by its ID)."""
    assert node["name"] == "Favre Chocolatier"
    if sees == "name":
        assert node["products"] is None
        assert errors.pop((*path, "products")) == "FORBIDDEN"
    else:
        names = [p["name"] for p in _edges(node["products"])]
        assert sorted(names) == sorted(_visible_products(scene, sees))
    if sees.endswith("+$"):
        numbers = [i["number"] for i in _edges(node["invoices"])]
        assert numbers == [scene.paid_by_partner.number]
    else:
        assert node["invoices"] is None
        assert errors.pop((*path, "invoices")) == "FORBIDDEN"


async def _check_partner_role(scene: Scene, state: str, role: str) -> str:
    sees = EXPECTED[state][role]
    p0, p1, p2 = scene.products
    variables = {
        "partner": gid("Partner", scene.partner_id),
        "client": gid("Client", scene.grant_id),
        "grant": gid("Grant", scene.grant_id),
        "p0": gid("Product", p0),
        "p1": gid("Product", p1),
        "p2": gid("Product", p2),
        "byClient": gid("Invoice", scene.paid_by_client.id),
        "byPartner": gid("Invoice", scene.paid_by_partner.id),
        "clientOrg": gid("Organization", scene.client_org),
        "missing": gid("Invoice", 987654),
    }
    result = await scene.api.gql(PARTNER_VIEW, variables, token=scene.tokens[role])
    data = result.data
    assert data is not None, result.errors
    errors = _errors_by_path(result)
    context = f"{state}/{role}: {json.dumps(data)[:400]}"

    # The partner's client list, and the client looked up by its ID.
    listed = {c["id"]: (i, c) for i, c in enumerate(_edges(data["partner"]["clients"]))}
    client_gid = gid("Client", scene.grant_id)
    if sees == "-":
        assert client_gid not in listed, context
        assert data["client"] is None, context
    else:
        assert client_gid in listed, context
        index, listed_node = listed[client_gid]
        _assert_client_view(
            scene, listed_node, errors, ("partner", "clients", "edges", index, "node"), sees
        )
        _assert_client_view(scene, data["client"], errors, ("client",), sees)
        grant = listed_node["grant"]
        assert grant["clientName"] == "Favre Chocolatier", context
        granted = [p["name"] for p in grant["grantedProducts"]]
        assert granted == (scene.product_names[:2] if sees == "products" else []), context
    # The other clients of the list (Bergbahn AG) raise their own FORBIDDEN: not ours here.
    ours = listed[client_gid][0] if client_gid in listed else None
    for path in list(errors):
        if path[:3] == ("partner", "clients", "edges") and path[3] != ours:
            errors.pop(path)

    # The grant looked up by its ID never names the client where the partner sees nothing.
    if data["grant"] is not None:
        expected_name = None if sees == "-" else "Favre Chocolatier"
        assert data["grant"]["clientName"] == expected_name, context
        granted = [p["name"] for p in data["grant"]["grantedProducts"]]
        assert granted == (scene.product_names[:2] if sees == "products" else []), context
    if sees != "-":
        assert data["grant"] is not None, context

    # Products by ID: exactly those the grant shows.
    visible = _visible_products(scene, sees)
    for alias, name in zip(("p0", "p1", "p2"), scene.product_names, strict=True):
        expected = {"name": name} if name in visible else None
        assert data[alias] == expected, f"{alias} {context}"

    # Invoices: the client-paid one never; the partner-paid one by partner billing members.
    # The client-paid invoice answers exactly like one that does not exist (and no error
    # names either: `errors` must be empty at the end).
    assert data["byClient"] is None, context
    assert data["missing"] is None, context
    if role in ("rep", "admin"):
        assert data["byPartner"]["number"] == scene.paid_by_partner.number, context
    else:
        assert data["byPartner"] is None, context
    # The client organization itself (and its invoices) is never reachable by the partner.
    assert data["clientOrg"] is None, context
    assert errors == {}, f"unexpected errors {errors} in {context}"
    return json.dumps({"data": data, "errors": result.errors})


async def _check_client_role(scene: Scene, state: str, role: str) -> None:
    _, billing = CLIENT_ROLES[role]
    variables = {
        "org": gid("Organization", scene.client_org),
        "partner": gid("Partner", scene.partner_id),
        "byClient": gid("Invoice", scene.paid_by_client.id),
        "byPartner": gid("Invoice", scene.paid_by_partner.id),
    }
    result = await scene.api.gql(CLIENT_VIEW, variables, token=scene.tokens[role])
    data = result.data
    errors = _errors_by_path(result)
    context = f"{state}/{role}: {json.dumps(data)[:400]}"
    org = data["org"]
    assert org["name"] == "Favre Chocolatier", context
    assert sorted(p["name"] for p in _edges(org["products"])) == sorted(scene.product_names)
    if billing:
        # Only what the client paid; the partner-paid invoice is the partner's alone.
        assert [i["number"] for i in _edges(org["invoices"])] == [scene.paid_by_client.number]
        assert data["byClient"] == {"number": scene.paid_by_client.number}, context
    else:
        assert org["invoices"] is None, context
        assert errors.pop(("org", "invoices")) == "FORBIDDEN"
        assert data["byClient"] is None, context
    assert data["byPartner"] is None, context
    partnerships = _edges(org["partnerships"])
    if state == "none":
        assert partnerships == []
    else:
        assert [p["partner"]["name"] for p in partnerships] == [PARTNER], context
    # A client is not a member of its partner: the partner's client list is closed to it.
    assert data["partner"]["clients"] is None, context
    assert errors.pop(("partner", "clients")) == "FORBIDDEN"
    assert errors == {}, context


@pytest.mark.parametrize("state", STATES)
async def test_what_each_side_sees(api: Api, sessionmaker: Maker, world: Any, state: str) -> None:
    scene = await _scene(api, sessionmaker, world, state)
    client_paid = scene.paid_by_client
    for role in PARTNER_ROLES:
        raw = await _check_partner_role(scene, state, role)
        # Nothing of the client-paid invoice reaches the partner side, in any form.
        assert client_paid.number not in raw, (state, role)
        assert str(client_paid.total_amount) not in raw, (state, role)
    for role in CLIENT_ROLES:
        await _check_client_role(scene, state, role)


async def test_partner_paid_invoices_follow_the_payment_methods_at_once(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    """FULL+PARTNER shows the invoices; switching to CLIENT closes Client.invoices at once,
    while the rest of the same query still answers."""
    scene = await _scene(api, sessionmaker, world, "full_partner")
    query = """query($c: ID!) { node(id: $c) { ... on Client { name
        grant { paymentMethods }
        invoices(first: 10) { edges { node { number } } } } } }"""
    variables = {"c": gid("Client", scene.grant_id)}
    before = await api.gql(query, variables, token=scene.tokens["rep"])
    assert before.errors == []
    node = before.data["node"]
    assert [e["node"]["number"] for e in node["invoices"]["edges"]] == [
        scene.paid_by_partner.number
    ]
    await update_grant(sessionmaker, scene.grant_id, payment_methods=PaymentMethods.CLIENT)
    after = await api.gql(query, variables, token=scene.tokens["rep"])
    assert after.data["node"]["name"] == "Favre Chocolatier"
    assert after.data["node"]["grant"] == {"paymentMethods": "CLIENT"}
    assert after.data["node"]["invoices"] is None
    assert after.error_codes() == ["FORBIDDEN"]
    assert after.errors[0]["path"] == ["node", "invoices"]
    # The error says nothing about the invoices themselves.
    assert scene.paid_by_partner.number not in json.dumps(after.errors)


async def test_malformed_and_foreign_node_ids_answer_like_missing(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    token = await session_token(sessionmaker, "rep@partner.example")
    invoice_id = world.invoices[FULL_CLIENT][0]  # paid by the client
    answers = []
    for raw in [
        "nonsense",
        gid("Invoice", 987654),
        gid("Invoice", invoice_id),
        gid("InvoiceLine", 1),
        gid("Money", 1),
        gid("ApiToken", 1),
        str(relay.GlobalID("Invoice", "x")),
        gid("Organization", world.organizations[FULL_CLIENT]),
    ]:
        result = await api.gql(INVOICE_LOOKUP, {"id": raw}, token=token)
        answers.append((raw, result.data, result.errors))
    assert all((data, errors) == ({"node": None}, []) for _, data, errors in answers), answers


async def test_unauthenticated_node_lookup(api: Api, world: Any) -> None:
    result = await api.gql(INVOICE_LOOKUP, {"id": gid("Invoice", world.invoices[FULL_CLIENT][0])})
    assert result.data == {"node": None} or result.data is None
    assert result.error_codes() == ["UNAUTHENTICATED"]
