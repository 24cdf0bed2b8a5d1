"""The grant lifecycle through the API, step by step.

Each step asserts the resulting status, the audit event it wrote (action, before and
after) and the emails it queued in the outbox (template and recipients; the context fits
the email worker's template contract).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

from domain.enums import Role
from resolvers.demo import DEMO_PASSWORD, FULL_CLIENT, LIMITED_CLIENT, NEW_CLIENT, PARTNER
from tests.api.people_support import sign_up_and_verify
from tests.api.spine_support import (
    ACCEPT,
    CANCEL,
    CHANGE_PAYMENT_METHODS,
    EDIT_ACCESS,
    INVITE,
    REFUSE,
    RESEND,
    STOP,
    Maker,
    add_member,
    audit_events,
    last_ids,
    outbox_emails,
    session_tokens,
)
from tests.conftest import Api, gid
from workers.email import validate_context

MY_ORGS = "query { viewer { memberships { role organization { id name } } } }"
PARTNER_CLIENTS = """query($p: ID!) { node(id: $p) { ... on Partner { clients(first: 50) {
  edges { node { id name grant { status level paymentMethods }
    products(first: 50) { edges { node { name } } } } } } } } }"""
SEARCH = "query($s: String) { partners(search: $s) { edges { node { id name } } } }"
PRODUCT = "query($id: ID!) { node(id: $id) { ... on Product { name } } }"


@dataclass
class Step:
    data: dict[str, Any]
    audit: list[Any]
    emails: list[tuple[str, str]]  # (template, recipient)
    payloads: list[dict[str, Any]]

    @property
    def grant(self) -> dict[str, Any]:
        (payload,) = self.data.values()
        assert payload["userErrors"] == [], payload
        grant: dict[str, Any] = payload["grant"]
        return grant


class Flow:
    def __init__(self, api: Api, sessionmaker: Maker, world: Any) -> None:
        self.api = api
        self.sessionmaker = sessionmaker
        self.world = world
        self.tokens: dict[str, str] = {}

    async def login_all(self, *emails: str) -> None:
        self.tokens.update(await session_tokens(self.sessionmaker, list(emails)))

    async def run(self, document: str, variables: dict[str, Any], who: str) -> Step:
        audit_before, outbox_before = await last_ids(self.sessionmaker)
        token = self.tokens.get(who, who)
        data = await self.api.ok(document, {"i": variables}, token=token)
        emails = await outbox_emails(self.sessionmaker, outbox_before)
        for message in emails:
            # The email worker renders only contexts that fit its template exactly.
            validate_context(message.payload["template"], message.payload["context"])
        return Step(
            data=data,
            audit=await audit_events(self.sessionmaker, audit_before),
            emails=sorted((m.payload["template"], m.payload["to"]) for m in emails),
            payloads=[m.payload for m in emails],
        )

    async def clients(self, who: str) -> dict[str, dict[str, Any]]:
        result = await self.api.gql(
            PARTNER_CLIENTS, {"p": gid("Partner", self.world.partner_id)}, token=self.tokens[who]
        )
        # Pending clients answer their products FORBIDDEN; nothing else may fail.
        assert set(result.error_codes()) <= {"FORBIDDEN"}, result.errors
        edges = result.data["node"]["clients"]["edges"]
        return {e["node"]["name"]: e["node"] for e in edges}

    def org(self, name: str) -> str:
        return gid("Organization", self.world.organizations[name])


def audit_of(step: Step, action: str) -> Any:
    assert [e.action for e in step.audit] == [f"grant.{action}"], step.audit
    event = step.audit[0]
    assert event.subject_type == "Grant"
    return event


def accept_token(payload: dict[str, Any]) -> str:
    url = str(payload["context"]["accept_url"])
    return parse_qs(urlparse(url).query)["token"][0]


def snapshot(
    status: str, client: int | None, level: str | None, pm: str | None, products: Any
) -> dict[str, Any]:
    """A grant as the audit trail records it (resolvers.grants.common.LoadedGrant.snapshot)."""
    return {
        "status": status,
        "client_id": client,
        "level": level,
        "payment_methods": pm,
        "product_ids": sorted(products),
        # No end date in these flows (time-bound grants: tests/api/test_grant_terms.py).
        "ends_at": None,
        "renews_automatically": False,
    }


async def test_invite_an_email_without_account_then_sign_up_and_accept_with_the_token(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    flow = Flow(api, sessionmaker, world)
    await flow.login_all("rep@partner.example")
    invite = await flow.run(
        INVITE,
        {
            "organizationId": flow.org(PARTNER),
            "clientEmail": "Boss@NewCo.example",
            "access": {"level": "FULL", "paymentMethods": "CLIENT"},
            "message": "Let us manage your hosting.",
        },
        "rep@partner.example",
    )
    grant = invite.grant
    assert grant["status"] == "PENDING"
    assert grant["initiatedBy"] == "PARTNER"
    assert grant["clientName"] is None
    assert grant["requestedAccess"] == {
        "level": "FULL",
        "paymentMethods": "CLIENT",
        "productFamilies": [],
    }
    event = audit_of(invite, "invite")
    assert event.before is None
    assert event.after == snapshot("PENDING", None, None, None, [])
    assert event.organization_id == world.organizations[PARTNER]
    assert event.actor_user_id == world.users["rep@partner.example"]
    assert invite.emails == [("grant_invitation_to_client", "boss@newco.example")]
    token = accept_token(invite.payloads[0])
    assert token.startswith("pgi_")
    # The partner sees its pending invitation, named by the invited email.
    assert "boss@newco.example" in await flow.clients("rep@partner.example")

    client_token = await sign_up_and_verify(
        api,
        sessionmaker,
        "boss@newco.example",
        fullName="Nora Boss",
        organizationName="NewCo SA",
    )
    orgs = await api.ok(MY_ORGS, token=client_token)
    (membership,) = orgs["viewer"]["memberships"]
    assert membership["role"] == "LEGAL_REPRESENTATIVE"
    new_org = membership["organization"]["id"]

    accept = await flow.run(ACCEPT, {"token": token, "organizationId": new_org}, client_token)
    grant = accept.grant
    assert (grant["status"], grant["level"], grant["paymentMethods"]) == (
        "ACTIVE",
        "FULL",
        "CLIENT",
    )
    assert grant["clientName"] == "NewCo SA"
    event = audit_of(accept, "accept")
    new_org_pk = event.after["client_id"]
    assert event.before == snapshot("PENDING", None, None, None, [])
    assert event.after == snapshot("ACTIVE", new_org_pk, "FULL", "CLIENT", [])
    assert event.organization_id == new_org_pk
    assert gid("Organization", new_org_pk) == new_org
    # The inviting partner's legal representatives hear of it.
    assert accept.emails == [("grant_accepted", "rep@partner.example")]
    # What was granted, what was asked, and the payment methods.
    mailed = accept.payloads[0]["context"]
    assert (mailed["level"], mailed["payment_methods"], mailed["requested_level"]) == (
        "FULL",
        ["CLIENT"],
        "FULL",
    )
    clients = await flow.clients("rep@partner.example")
    assert clients["NewCo SA"]["grant"] == {
        "status": "ACTIVE",
        "level": "FULL",
        "paymentMethods": "CLIENT",
    }
    # The token was used up: a second accept finds nothing, and writes nothing.
    again = await flow.run(ACCEPT, {"token": token, "organizationId": new_org}, client_token)
    assert [e["code"] for e in again.data["accept"]["userErrors"]] == ["NOT_FOUND"]
    assert again.audit == []
    assert again.emails == []


async def test_invite_a_known_client_who_grants_other_rights_than_requested(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    flow = Flow(api, sessionmaker, world)
    await flow.login_all("rep@partner.example", "rep@new.example")
    client_org = world.organizations[NEW_CLIENT]
    invite = await flow.run(
        INVITE,
        {
            "organizationId": flow.org(PARTNER),
            "clientEmail": "rep@new.example",
            "access": {"level": "FULL", "paymentMethods": "PARTNER"},
        },
        "rep@partner.example",
    )
    grant = invite.grant
    # A known client (legal representative of one organization) is bound at once.
    assert grant["status"] == "PENDING"
    assert grant["clientName"] == NEW_CLIENT
    assert audit_of(invite, "invite").after == snapshot("PENDING", client_org, None, None, [])
    assert invite.emails == [("grant_invitation_to_client", "rep@new.example")]
    # The client sees the request among its partnerships.
    seen = await api.ok(
        "query($o: ID!) { node(id: $o) { ... on Organization { partnerships { edges { node {"
        " id status requestedAccess { level paymentMethods } } } } } } }",
        {"o": flow.org(NEW_CLIENT)},
        token=flow.tokens["rep@new.example"],
    )
    (edge,) = seen["node"]["partnerships"]["edges"]
    assert edge["node"]["id"] == grant["id"]

    product = world.products[NEW_CLIENT][0]
    accept = await flow.run(
        ACCEPT,
        {
            "grantId": grant["id"],
            "access": {"level": "LIMITED", "productIds": [gid("Product", product)]},
        },
        "rep@new.example",
    )
    grant = accept.grant
    assert (grant["status"], grant["level"], grant["paymentMethods"]) == (
        "ACTIVE",
        "LIMITED",
        None,
    )
    event = audit_of(accept, "accept")
    assert event.before == snapshot("PENDING", client_org, None, None, [])
    assert event.after == snapshot("ACTIVE", client_org, "LIMITED", None, [product])
    assert accept.emails == [("grant_accepted", "rep@partner.example")]
    clients = await flow.clients("rep@partner.example")
    assert [p["node"]["name"] for p in clients[NEW_CLIENT]["products"]["edges"]] == [
        "lacleman-yachts.ch"
    ]


async def test_accepting_a_limited_request_as_is_grants_the_requested_families(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    flow = Flow(api, sessionmaker, world)
    await flow.login_all("rep@partner.example", "rep@limited.example", "rep@new.example")
    invite = await flow.run(
        INVITE,
        {
            "organizationId": flow.org(PARTNER),
            "clientEmail": "rep@new.example",
            "access": {"level": "LIMITED", "productFamilies": ["WEB_HOSTING"]},
        },
        "rep@partner.example",
    )
    assert invite.grant["requestedAccess"]["productFamilies"] == ["WEB_HOSTING"]
    accept = await flow.run(ACCEPT, {"grantId": invite.grant["id"]}, "rep@new.example")
    grant = accept.grant
    assert (grant["status"], grant["level"]) == ("ACTIVE", "LIMITED")
    assert [p["name"] for p in grant["grantedProducts"]] == ["lacleman-yachts.ch"]
    assert audit_of(accept, "accept").after["product_ids"] == world.products[NEW_CLIENT]


async def test_client_invites_a_partner_found_by_search_and_the_partner_accepts(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    flow = Flow(api, sessionmaker, world)
    await flow.login_all("rep@new.example", "rep@partner.example")
    found = await api.ok(SEARCH, {"s": "alpine"}, token=flow.tokens["rep@new.example"])
    (partner,) = [e["node"] for e in found["partners"]["edges"]]
    assert partner == {"id": gid("Partner", world.partner_id), "name": PARTNER}
    # Or by the exact email of its legal representative (SPEC: "by name or email").
    by_email = await api.ok(
        SEARCH, {"s": " Rep@Partner.example"}, token=flow.tokens["rep@new.example"]
    )
    assert [e["node"] for e in by_email["partners"]["edges"]] == [partner]
    for miss in ["no such partner", "rep@partner", "admin@partner.example", "%", "_lpine"]:
        nothing = await api.ok(SEARCH, {"s": miss}, token=flow.tokens["rep@new.example"])
        assert nothing["partners"]["edges"] == [], miss

    client_org = world.organizations[NEW_CLIENT]
    invite = await flow.run(
        INVITE,
        {
            "organizationId": flow.org(NEW_CLIENT),
            "partnerId": partner["id"],
            "access": {"level": "FULL", "paymentMethods": "CLIENT"},
        },
        "rep@new.example",
    )
    assert invite.grant["status"] == "PENDING"
    assert invite.grant["initiatedBy"] == "CLIENT"
    event = audit_of(invite, "invite")
    assert event.before is None
    assert event.after == snapshot("PENDING", client_org, "FULL", "CLIENT", [])
    assert event.organization_id == client_org
    # Only the partner's legal representative (not its administrator) is invited.
    assert invite.emails == [("grant_invitation_to_partner", "rep@partner.example")]
    # While pending, the partner sees the client's name only.
    pending = (await flow.clients("rep@partner.example"))[NEW_CLIENT]
    assert pending["products"] is None

    accept = await flow.run(ACCEPT, {"grantId": invite.grant["id"]}, "rep@partner.example")
    grant = accept.grant
    assert (grant["status"], grant["level"], grant["paymentMethods"]) == (
        "ACTIVE",
        "FULL",
        "CLIENT",
    )
    event = audit_of(accept, "accept")
    assert event.before == snapshot("PENDING", client_org, "FULL", "CLIENT", [])
    assert event.after == snapshot("ACTIVE", client_org, "FULL", "CLIENT", [])
    assert accept.emails == [("grant_accepted", "rep@new.example")]
    active = (await flow.clients("rep@partner.example"))[NEW_CLIENT]
    assert [p["node"]["name"] for p in active["products"]["edges"]] == ["lacleman-yachts.ch"]


async def test_refuse(api: Api, sessionmaker: Maker, world: Any) -> None:
    flow = Flow(api, sessionmaker, world)
    await flow.login_all("rep@partner.example", "rep@new.example")
    client_org = world.organizations[NEW_CLIENT]
    invite = await flow.run(
        INVITE,
        {
            "organizationId": flow.org(PARTNER),
            "clientEmail": "rep@new.example",
            "access": {"level": "FULL", "paymentMethods": "CLIENT"},
        },
        "rep@partner.example",
    )
    refuse = await flow.run(REFUSE, {"grantId": invite.grant["id"]}, "rep@new.example")
    assert refuse.grant["status"] == "REFUSED"
    event = audit_of(refuse, "refuse")
    assert event.before == snapshot("PENDING", client_org, None, None, [])
    assert event.after == snapshot("REFUSED", client_org, None, None, [])
    assert refuse.emails == [("grant_refused", "rep@partner.example")]
    # A refused invitation shows the partner nothing of the client any more.
    assert NEW_CLIENT not in await flow.clients("rep@partner.example")
    # The invitation link died with the refusal.
    token = accept_token(invite.payloads[0])
    late = await flow.run(ACCEPT, {"token": token}, "rep@new.example")
    assert [e["code"] for e in late.data["accept"]["userErrors"]] == ["NOT_FOUND"]


async def test_resend_sends_a_new_link_and_the_old_one_stops_working(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    flow = Flow(api, sessionmaker, world)
    await flow.login_all("rep@partner.example", "rep@new.example")
    invite = await flow.run(
        INVITE,
        {
            "organizationId": flow.org(PARTNER),
            "clientEmail": "rep@new.example",
            "access": {"level": "FULL", "paymentMethods": "CLIENT"},
        },
        "rep@partner.example",
    )
    old_token = accept_token(invite.payloads[0])
    resend = await flow.run(RESEND, {"grantId": invite.grant["id"]}, "rep@partner.example")
    assert resend.grant["status"] == "PENDING"
    event = audit_of(resend, "resend")
    pending = snapshot("PENDING", world.organizations[NEW_CLIENT], None, None, [])
    assert event.before == event.after == pending
    assert event.organization_id == world.organizations[PARTNER]
    assert resend.emails == [("grant_invitation_to_client", "rep@new.example")]
    new_token = accept_token(resend.payloads[0])
    assert new_token != old_token
    stale = await flow.run(ACCEPT, {"token": old_token}, "rep@new.example")
    assert [e["code"] for e in stale.data["accept"]["userErrors"]] == ["NOT_FOUND"]
    assert stale.audit == []
    assert stale.emails == []
    fresh = await flow.run(ACCEPT, {"token": new_token}, "rep@new.example")
    assert fresh.grant["status"] == "ACTIVE"


async def test_cancel(api: Api, sessionmaker: Maker, world: Any) -> None:
    flow = Flow(api, sessionmaker, world)
    await flow.login_all("rep@partner.example", "rep@new.example")
    # Unbound (an email without account): the cancellation goes to that email.
    invite = await flow.run(
        INVITE,
        {
            "organizationId": flow.org(PARTNER),
            "clientEmail": "someone@elsewhere.example",
            "access": {"level": "LIMITED", "productFamilies": ["MAIL_HOSTING"]},
        },
        "rep@partner.example",
    )
    cancel = await flow.run(CANCEL, {"grantId": invite.grant["id"]}, "rep@partner.example")
    assert cancel.grant["status"] == "CANCELLED"
    event = audit_of(cancel, "cancel")
    assert event.before == snapshot("PENDING", None, None, None, [])
    assert event.after == snapshot("CANCELLED", None, None, None, [])
    assert event.organization_id == world.organizations[PARTNER]
    assert cancel.emails == [("grant_cancelled", "someone@elsewhere.example")]
    assert "someone@elsewhere.example" not in await flow.clients("rep@partner.example")
    # Bound (a known client): its legal representatives are told.
    invite = await flow.run(
        INVITE,
        {
            "organizationId": flow.org(PARTNER),
            "clientEmail": "rep@new.example",
            "access": {"level": "FULL", "paymentMethods": "CLIENT"},
        },
        "rep@partner.example",
    )
    cancel = await flow.run(CANCEL, {"grantId": invite.grant["id"]}, "rep@partner.example")
    assert cancel.grant["status"] == "CANCELLED"
    assert cancel.emails == [("grant_cancelled", "rep@new.example")]
    late = await flow.run(ACCEPT, {"grantId": invite.grant["id"]}, "rep@new.example")
    assert [e["code"] for e in late.data["accept"]["userErrors"]] == ["INVALID_STATE"]


async def test_edit_access_removes_a_product_from_the_partner_at_once(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    flow = Flow(api, sessionmaker, world)
    await flow.login_all("rep@partner.example", "rep@limited.example")
    grant_id = gid("Grant", world.grants[LIMITED_CLIENT])
    client_org = world.organizations[LIMITED_CLIENT]
    p0, p1, p2 = world.products[LIMITED_CLIENT]
    seen = await api.ok(
        PRODUCT, {"id": gid("Product", p1)}, token=flow.tokens["rep@partner.example"]
    )
    assert seen["node"] == {"name": "mail.bergbahn.ch"}

    edit = await flow.run(
        EDIT_ACCESS,
        {"grantId": grant_id, "access": {"level": "LIMITED", "productIds": [gid("Product", p0)]}},
        "rep@limited.example",
    )
    assert edit.grant["status"] == "ACTIVE"
    event = audit_of(edit, "edit_access")
    assert event.before == snapshot("ACTIVE", client_org, "LIMITED", None, [p0, p1])
    assert event.after == snapshot("ACTIVE", client_org, "LIMITED", None, [p0])
    assert event.organization_id == client_org
    assert edit.emails == [("grant_access_changed", "rep@partner.example")]
    # At once: the removed product is gone from the client view and from node(id:).
    client = (await flow.clients("rep@partner.example"))[LIMITED_CLIENT]
    assert [p["node"]["name"] for p in client["products"]["edges"]] == ["bergbahn.ch"]
    gone = await api.ok(
        PRODUCT, {"id": gid("Product", p1)}, token=flow.tokens["rep@partner.example"]
    )
    assert gone["node"] is None

    full = await flow.run(
        EDIT_ACCESS,
        {"grantId": grant_id, "access": {"level": "FULL", "paymentMethods": "CLIENT"}},
        "rep@limited.example",
    )
    assert (full.grant["level"], full.grant["paymentMethods"]) == ("FULL", "CLIENT")
    assert audit_of(full, "edit_access").after == snapshot(
        "ACTIVE", client_org, "FULL", "CLIENT", []
    )
    client = (await flow.clients("rep@partner.example"))[LIMITED_CLIENT]
    assert len(client["products"]["edges"]) == 3
    assert (
        await api.ok(PRODUCT, {"id": gid("Product", p2)}, token=flow.tokens["rep@partner.example"])
    )["node"] == {"name": "Bergbahn kDrive"}


async def test_change_payment_methods(api: Api, sessionmaker: Maker, world: Any) -> None:
    flow = Flow(api, sessionmaker, world)
    await flow.login_all("rep@partner.example", "rep@full.example")
    grant_id = gid("Grant", world.grants[FULL_CLIENT])
    client_org = world.organizations[FULL_CLIENT]
    change = await flow.run(
        CHANGE_PAYMENT_METHODS,
        {"grantId": grant_id, "paymentMethods": "CLIENT"},
        "rep@full.example",
    )
    assert (change.grant["status"], change.grant["paymentMethods"]) == ("ACTIVE", "CLIENT")
    event = audit_of(change, "change_payment_methods")
    assert event.before == snapshot("ACTIVE", client_org, "FULL", "PARTNER", [])
    assert event.after == snapshot("ACTIVE", client_org, "FULL", "CLIENT", [])
    assert change.emails == [("grant_payment_methods_changed", "rep@partner.example")]
    # The partner-paid invoices of this client are no longer the partner's to list here.
    query = """query($c: ID!) { node(id: $c) { ... on Client { name
        invoices { edges { node { number } } } } } }"""
    result = await api.gql(
        query,
        {"c": gid("Client", world.grants[FULL_CLIENT])},
        token=flow.tokens["rep@partner.example"],
    )
    assert result.data["node"]["name"] == FULL_CLIENT
    assert result.data["node"]["invoices"] is None
    assert result.error_codes() == ["FORBIDDEN"]


async def test_stop_collaboration_with_password_cuts_the_partner_off_at_once(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    flow = Flow(api, sessionmaker, world)
    await flow.login_all("rep@partner.example", "collab@partner.example", "rep@limited.example")
    client_org = world.organizations[FULL_CLIENT]
    product = gid("Product", world.products[FULL_CLIENT][0])
    for who in ("rep@partner.example", "collab@partner.example"):
        assert (await api.ok(PRODUCT, {"id": product}, token=flow.tokens[who]))["node"]
    stop = await flow.run(
        STOP,
        {"grantId": gid("Grant", world.grants[FULL_CLIENT]), "password": DEMO_PASSWORD},
        "rep@partner.example",
    )
    assert stop.grant["status"] == "STOPPED"
    event = audit_of(stop, "stop")
    assert event.before == snapshot("ACTIVE", client_org, "FULL", "PARTNER", [])
    assert event.after == snapshot("STOPPED", client_org, "FULL", "PARTNER", [])
    assert event.organization_id == world.organizations[PARTNER]
    # The other side (the client's legal representative) is told.
    assert stop.emails == [("grant_stopped", "rep@full.example")]
    for who in ("rep@partner.example", "collab@partner.example"):
        assert (await api.ok(PRODUCT, {"id": product}, token=flow.tokens[who]))["node"] is None
        assert FULL_CLIENT not in await flow.clients(who)
        client = await api.ok(
            "query($c: ID!) { node(id: $c) { id } }",
            {"c": gid("Client", world.grants[FULL_CLIENT])},
            token=flow.tokens[who],
        )
        assert client["node"] is None

    # The client side may stop too; the partner is told.
    stop = await flow.run(
        STOP,
        {"grantId": gid("Grant", world.grants[LIMITED_CLIENT]), "password": DEMO_PASSWORD},
        "rep@limited.example",
    )
    assert stop.grant["status"] == "STOPPED"
    assert audit_of(stop, "stop").organization_id == world.organizations[LIMITED_CLIENT]
    assert stop.emails == [("grant_stopped", "rep@partner.example")]
    assert await flow.clients("rep@partner.example") == {}


async def test_a_partner_representative_who_is_external_in_the_client_stops_as_partner(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    """SPEC: partner users may also be EXTERNAL members of the client organization."""
    flow = Flow(api, sessionmaker, world)
    await add_member(
        sessionmaker, world.organizations[FULL_CLIENT], "rep@partner.example", Role.EXTERNAL
    )
    await flow.login_all("rep@partner.example")
    stop = await flow.run(
        STOP,
        {"grantId": gid("Grant", world.grants[FULL_CLIENT]), "password": DEMO_PASSWORD},
        "rep@partner.example",
    )
    assert stop.grant["status"] == "STOPPED"
    assert audit_of(stop, "stop").organization_id == world.organizations[PARTNER]
    assert stop.emails == [("grant_stopped", "rep@full.example")]


async def test_an_external_member_from_the_partner_is_absorbed_when_the_partnership_begins(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    """SPEC: a partner user who was already an EXTERNAL member of the client organization
    has that membership updated once the partnership begins (resolvers.program decides
    how: removed, the partner-side rights cover the client)."""
    flow = Flow(api, sessionmaker, world)
    client_org = world.organizations[NEW_CLIENT]
    await add_member(sessionmaker, client_org, "collab@partner.example", Role.EXTERNAL)
    await flow.login_all("rep@partner.example", "rep@new.example", "collab@partner.example")
    before = await api.ok(MY_ORGS, token=flow.tokens["collab@partner.example"])
    assert {m["organization"]["name"] for m in before["viewer"]["memberships"]} == {
        PARTNER,
        NEW_CLIENT,
    }
    invite = await flow.run(
        INVITE,
        {
            "organizationId": flow.org(PARTNER),
            "clientEmail": "rep@new.example",
            "access": {"level": "FULL", "paymentMethods": "CLIENT"},
        },
        "rep@partner.example",
    )
    accept = await flow.run(ACCEPT, {"grantId": invite.grant["id"]}, "rep@new.example")
    assert accept.grant["status"] == "ACTIVE"
    # Both in the accepting transaction: the grant's and the membership's audit events.
    assert [e.action for e in accept.audit] == [
        "grant.accept",
        "membership.absorbed_by_partnership",
    ]
    absorbed = accept.audit[1]
    assert absorbed.before == {
        "user_id": world.users["collab@partner.example"],
        "role": "EXTERNAL",
    }
    assert absorbed.organization_id == client_org
    # A fresh login sees the change: no EXTERNAL membership; the client through the grant.
    await flow.login_all("collab@partner.example")
    after = await api.ok(MY_ORGS, token=flow.tokens["collab@partner.example"])
    assert [m["organization"]["name"] for m in after["viewer"]["memberships"]] == [PARTNER]
    assert NEW_CLIENT in await flow.clients("collab@partner.example")
