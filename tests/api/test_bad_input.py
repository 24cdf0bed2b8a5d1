"""Every "Bad input" item of issue 2: a `userErrors` entry with a stable code, and nothing
written (no grant, grant product, audit event or outbox message: counted before/after).

Cases are grouped by the world they need; each group runs its cases one after the other
on the same database, checking the row counts around every single case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from strawberry import relay

from config.settings import Settings
from db.models import Grant, Organization, Partner, User, utcnow
from domain.enums import AccessLevel, GrantStatus, PartnerStatus, PaymentMethods, Role, Side
from domain.money import Currency
from resolvers.demo import DEMO_PASSWORD, FULL_CLIENT, LIMITED_CLIENT, NEW_CLIENT, PARTNER
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
    row_counts,
    session_tokens,
)
from tests.conftest import Api, gid

SIGN_UP = "mutation($i: SignUpInput!) { signUp(input: $i) { email userErrors { field code } } }"
CREATE_TOKEN = """mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) {
  secret userErrors { field code } } }"""
MUTATIONS = {
    "invite": INVITE,
    "accept": ACCEPT,
    "refuse": REFUSE,
    "resendInvitation": RESEND,
    "cancelInvitation": CANCEL,
    "editAccess": EDIT_ACCESS,
    "changePaymentMethods": CHANGE_PAYMENT_METHODS,
    "stopCollaboration": STOP,
    "signUp": SIGN_UP,
    "createApiToken": CREATE_TOKEN,
}


@dataclass
class Case:
    label: str
    who: str  # an email (logged in), or "" for no token
    mutation: str
    input: dict[str, Any]
    code: str  # the expected userErrors code


class World:
    """The demo world plus a few extra members, grants in every state and a token each."""

    def __init__(self, api: Api, sessionmaker: Maker, demo: Any) -> None:
        self.api = api
        self.sessionmaker = sessionmaker
        self.demo = demo
        self.tokens: dict[str, str] = {}
        self.grants: dict[str, int] = dict(demo.grants)

    def org(self, name: str) -> str:
        return gid("Organization", self.demo.organizations[name])

    def product(self, client: str, index: int = 0) -> str:
        return gid("Product", self.demo.products[client][index])

    def grant(self, name: str) -> str:
        return gid("Grant", self.grants[name])

    async def login(self, *emails: str) -> None:
        self.tokens.update(await session_tokens(self.sessionmaker, list(emails)))

    async def add_grant(self, name: str, **values: Any) -> None:
        """A grant row of the demo partner in any state, written directly."""
        defaults: dict[str, Any] = {
            "partner_id": self.demo.partner_id,
            "initiated_by": Side.PARTNER,
            "requested_level": AccessLevel.FULL,
            "requested_payment_methods": PaymentMethods.CLIENT,
            "requested_families": [],
            "requested_product_ids": [],
            "invited_by_user_id": self.demo.users["rep@partner.example"],
            "invitation_expires_at": utcnow() + timedelta(days=7),
        }
        async with self.sessionmaker() as session, session.begin():
            grant = Grant(**{**defaults, **values})
            session.add(grant)
            await session.flush()
            self.grants[name] = grant.id

    async def check(self, case: Case) -> None:
        before = await row_counts(self.sessionmaker)
        token = self.tokens[case.who] if case.who else None
        result = await self.api.gql(MUTATIONS[case.mutation], {"i": case.input}, token=token)
        assert result.errors == [], (case.label, result.errors)
        payload = result.data[case.mutation]
        codes = [e["code"] for e in payload["userErrors"]]
        assert codes == [case.code], (case.label, payload)
        assert all(v is None for k, v in payload.items() if k != "userErrors"), case.label
        assert await row_counts(self.sessionmaker) == before, f"{case.label}: rows written"

    async def check_all(self, cases: list[Case]) -> None:
        for case in cases:
            await self.check(case)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # These cases count rules, not throttles (tests/edge covers each limit): the many
    # invitations to one address here would trip the email limit.
    return settings.model_copy(update={"throttle_email_account": "", "throttle_email_ip": ""})


@pytest.fixture
async def w(api: Api, sessionmaker: Maker, world: Any) -> World:
    w = World(api, sessionmaker, world)
    orgs = world.organizations
    await add_member(sessionmaker, orgs[PARTNER], "external@partner.example", Role.EXTERNAL)
    await add_member(sessionmaker, orgs[FULL_CLIENT], "collab@full.example", Role.COLLABORATOR)
    await add_member(sessionmaker, orgs[FULL_CLIENT], "external@full.example", Role.EXTERNAL)
    await add_member(sessionmaker, orgs[FULL_CLIENT], "admin@full.example", Role.ADMINISTRATOR)
    await w.login(
        "rep@partner.example",
        "admin@partner.example",
        "collab@partner.example",
        "external@partner.example",
        "rep@full.example",
        "admin@full.example",
        "collab@full.example",
        "external@full.example",
        "rep@limited.example",
        "rep@new.example",
    )
    return w


FULL_CLIENT_PAYS = {"level": "FULL", "paymentMethods": "CLIENT"}
REP = "rep@partner.example"


def partner_invite(w: World, email: str, access: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "organizationId": w.org(PARTNER),
        "clientEmail": email,
        "access": access or FULL_CLIENT_PAYS,
    }


def client_invite(w: World, client: str, access: dict[str, Any]) -> dict[str, Any]:
    return {
        "organizationId": w.org(client),
        "partnerId": gid("Partner", w.demo.partner_id),
        "access": access,
    }


async def test_malformed_and_foreign_ids(w: World) -> None:
    grant = w.grant(FULL_CLIENT)
    await w.check_all(
        [
            Case(
                "malformed org",
                REP,
                "invite",
                partner_invite(w, "a@b.example") | {"organizationId": "nonsense"},
                "INVALID_ID",
            ),
            Case(
                "org id of a product",
                REP,
                "invite",
                partner_invite(w, "a@b.example") | {"organizationId": w.product(FULL_CLIENT)},
                "INVALID_ID",
            ),
            Case(
                "org id not a number",
                REP,
                "invite",
                partner_invite(w, "a@b.example")
                | {"organizationId": str(relay.GlobalID("Organization", "x"))},
                "INVALID_ID",
            ),
            Case(
                "someone else's org",
                REP,
                "invite",
                partner_invite(w, "a@b.example") | {"organizationId": w.org(FULL_CLIENT)},
                "NOT_FOUND",
            ),
            Case(
                "missing org",
                REP,
                "invite",
                partner_invite(w, "a@b.example") | {"organizationId": gid("Organization", 99999)},
                "NOT_FOUND",
            ),
            Case(
                "malformed partner",
                "rep@new.example",
                "invite",
                client_invite(w, NEW_CLIENT, FULL_CLIENT_PAYS) | {"partnerId": "%%%"},
                "INVALID_ID",
            ),
            Case(
                "partner id of an org",
                "rep@new.example",
                "invite",
                client_invite(w, NEW_CLIENT, FULL_CLIENT_PAYS) | {"partnerId": w.org(PARTNER)},
                "INVALID_ID",
            ),
            Case(
                "missing partner",
                "rep@new.example",
                "invite",
                client_invite(w, NEW_CLIENT, FULL_CLIENT_PAYS) | {"partnerId": gid("Partner", 999)},
                "NOT_FOUND",
            ),
            Case(
                "malformed product",
                "rep@new.example",
                "invite",
                client_invite(w, NEW_CLIENT, {"level": "LIMITED", "productIds": ["???"]}),
                "INVALID_ID",
            ),
            Case(
                "product id of a grant",
                "rep@new.example",
                "invite",
                client_invite(w, NEW_CLIENT, {"level": "LIMITED", "productIds": [grant]}),
                "INVALID_ID",
            ),
            Case(
                "malformed grant",
                "rep@full.example",
                "changePaymentMethods",
                {"grantId": "", "paymentMethods": "CLIENT"},
                "INVALID_ID",
            ),
            Case(
                "grant id of a client",
                "rep@full.example",
                "changePaymentMethods",
                {"grantId": gid("Client", w.grants[FULL_CLIENT]), "paymentMethods": "CLIENT"},
                "INVALID_ID",
            ),
            Case(
                "someone else's grant",
                "rep@new.example",
                "changePaymentMethods",
                {"grantId": grant, "paymentMethods": "CLIENT"},
                "NOT_FOUND",
            ),
            Case(
                "missing grant",
                "rep@full.example",
                "stopCollaboration",
                {"grantId": gid("Grant", 99999), "password": DEMO_PASSWORD},
                "NOT_FOUND",
            ),
            Case(
                "malformed grant on accept",
                "rep@new.example",
                "accept",
                {"grantId": "Z3JhbnQ"},
                "INVALID_ID",
            ),
            Case("unknown token", "rep@new.example", "accept", {"token": "pgi_nope"}, "NOT_FOUND"),
            Case("refuse with nothing", "rep@new.example", "refuse", {}, "NOT_FOUND"),
            Case("accept with nothing", "rep@new.example", "accept", {}, "INVALID_INPUT"),
            Case(
                "api token for a foreign org",
                REP,
                "createApiToken",
                {"organizationId": w.org(FULL_CLIENT), "name": "ci", "access": "READ"},
                "NOT_FOUND",
            ),
            Case(
                "api token org malformed",
                REP,
                "createApiToken",
                {"organizationId": "x", "name": "ci", "access": "READ"},
                "INVALID_ID",
            ),
        ]
    )


async def test_inviting_oneself_or_a_non_partner(w: World) -> None:
    async with w.sessionmaker() as session, session.begin():
        org = Organization(name="Suspended Partner", currency=Currency.CHF, support_code="S1")
        session.add(org)
        await session.flush()
        suspended = Partner(organization_id=org.id, status=PartnerStatus.SUSPENDED)
        session.add(suspended)
        await session.flush()
    await w.check_all(
        [
            Case(
                "partner invites its own rep",
                REP,
                "invite",
                partner_invite(w, "rep@partner.example"),
                "CANNOT_INVITE_SELF",
            ),
            Case(
                "partner invites its own rep, other case",
                REP,
                "invite",
                partner_invite(w, " REP@Partner.Example "),
                "CANNOT_INVITE_SELF",
            ),
            Case(
                "partner invites itself as client",
                REP,
                "invite",
                client_invite(w, PARTNER, FULL_CLIENT_PAYS),
                "CANNOT_INVITE_SELF",
            ),
            Case(
                "a non-partner invites a client",
                "rep@new.example",
                "invite",
                {
                    "organizationId": w.org(NEW_CLIENT),
                    "clientEmail": "x@y.example",
                    "access": FULL_CLIENT_PAYS,
                },
                "NOT_A_PARTNER",
            ),
            Case(
                "a client invites a suspended partner",
                "rep@new.example",
                "invite",
                client_invite(w, NEW_CLIENT, FULL_CLIENT_PAYS)
                | {"partnerId": gid("Partner", suspended.id)},
                "NOT_FOUND",
            ),
            Case(
                "both targets",
                REP,
                "invite",
                partner_invite(w, "x@y.example") | {"partnerId": gid("Partner", w.demo.partner_id)},
                "INVALID_INPUT",
            ),
            Case(
                "no target",
                REP,
                "invite",
                {"organizationId": w.org(PARTNER), "access": FULL_CLIENT_PAYS},
                "INVALID_INPUT",
            ),
        ]
    )


async def test_a_second_live_grant_for_the_same_pair(w: World) -> None:
    ok = await w.api.ok(INVITE, {"i": partner_invite(w, "nobody@yet.example")}, token=w.tokens[REP])
    assert ok["invite"]["userErrors"] == []
    ok = await w.api.ok(INVITE, {"i": partner_invite(w, "rep@new.example")}, token=w.tokens[REP])
    assert ok["invite"]["userErrors"] == []
    await w.check_all(
        [
            # Caught by the use case (known client) ...
            Case(
                "partner re-invites an active client",
                REP,
                "invite",
                partner_invite(w, "rep@full.example"),
                "GRANT_EXISTS",
            ),
            Case(
                "partner re-invites a pending client",
                REP,
                "invite",
                partner_invite(w, "rep@new.example"),
                "GRANT_EXISTS",
            ),
            Case(
                "client re-invites its active partner",
                "rep@full.example",
                "invite",
                client_invite(w, FULL_CLIENT, FULL_CLIENT_PAYS),
                "GRANT_EXISTS",
            ),
            Case(
                "client invites its pending partner",
                "rep@new.example",
                "invite",
                client_invite(w, NEW_CLIENT, FULL_CLIENT_PAYS),
                "GRANT_EXISTS",
            ),
            # ... and by the database's unique index (an email without an account).
            Case(
                "partner re-invites the same email",
                REP,
                "invite",
                partner_invite(w, "Nobody@Yet.example"),
                "GRANT_EXISTS",
            ),
        ]
    )


async def test_access_that_does_not_hold(w: World) -> None:
    limited = w.grant(LIMITED_CLIENT)
    await w.check_all(
        [
            Case(
                "client: LIMITED without products",
                "rep@new.example",
                "invite",
                client_invite(w, NEW_CLIENT, {"level": "LIMITED"}),
                "PRODUCTS_REQUIRED",
            ),
            Case(
                "client: LIMITED with an empty list",
                "rep@new.example",
                "invite",
                client_invite(w, NEW_CLIENT, {"level": "LIMITED", "productIds": []}),
                "PRODUCTS_REQUIRED",
            ),
            Case(
                "partner: LIMITED without families",
                REP,
                "invite",
                partner_invite(w, "x@y.example", {"level": "LIMITED"}),
                "PRODUCTS_REQUIRED",
            ),
            Case(
                "client: another org's product",
                "rep@new.example",
                "invite",
                client_invite(
                    w, NEW_CLIENT, {"level": "LIMITED", "productIds": [w.product(FULL_CLIENT)]}
                ),
                "PRODUCT_NOT_IN_ORGANIZATION",
            ),
            Case(
                "client: one own and one foreign product",
                "rep@new.example",
                "invite",
                client_invite(
                    w,
                    NEW_CLIENT,
                    {
                        "level": "LIMITED",
                        "productIds": [w.product(NEW_CLIENT), w.product(LIMITED_CLIENT)],
                    },
                ),
                "PRODUCT_NOT_IN_ORGANIZATION",
            ),
            Case(
                "client: a missing product",
                "rep@new.example",
                "invite",
                client_invite(
                    w, NEW_CLIENT, {"level": "LIMITED", "productIds": [gid("Product", 9999)]}
                ),
                "PRODUCT_NOT_IN_ORGANIZATION",
            ),
            Case(
                "client: FULL without payment methods",
                "rep@new.example",
                "invite",
                client_invite(w, NEW_CLIENT, {"level": "FULL"}),
                "PAYMENT_METHODS_REQUIRED",
            ),
            Case(
                "partner: FULL without payment methods",
                REP,
                "invite",
                partner_invite(w, "x@y.example", {"level": "FULL"}),
                "PAYMENT_METHODS_REQUIRED",
            ),
            Case(
                "LIMITED with payment methods",
                "rep@new.example",
                "invite",
                client_invite(
                    w,
                    NEW_CLIENT,
                    {
                        "level": "LIMITED",
                        "paymentMethods": "CLIENT",
                        "productIds": [w.product(NEW_CLIENT)],
                    },
                ),
                "PAYMENT_METHODS_NOT_ALLOWED",
            ),
            Case(
                "FULL naming products",
                "rep@new.example",
                "invite",
                client_invite(
                    w, NEW_CLIENT, FULL_CLIENT_PAYS | {"productIds": [w.product(NEW_CLIENT)]}
                ),
                "PRODUCTS_NOT_ALLOWED",
            ),
            Case(
                "edit: another org's product",
                "rep@limited.example",
                "editAccess",
                {
                    "grantId": limited,
                    "access": {"level": "LIMITED", "productIds": [w.product(FULL_CLIENT)]},
                },
                "PRODUCT_NOT_IN_ORGANIZATION",
            ),
            Case(
                "edit: no products",
                "rep@limited.example",
                "editAccess",
                {"grantId": limited, "access": {"level": "LIMITED", "productIds": []}},
                "PRODUCTS_REQUIRED",
            ),
            Case(
                "edit: FULL without payment methods",
                "rep@limited.example",
                "editAccess",
                {"grantId": limited, "access": {"level": "FULL"}},
                "PAYMENT_METHODS_REQUIRED",
            ),
            Case(
                "payment methods of a LIMITED grant",
                "rep@limited.example",
                "changePaymentMethods",
                {"grantId": limited, "paymentMethods": "CLIENT"},
                "NOT_FULL_ACCESS",
            ),
        ]
    )


async def test_the_wrong_side(w: World) -> None:
    bound = await w.api.ok(INVITE, {"i": partner_invite(w, "rep@new.example")}, token=w.tokens[REP])
    unbound = await w.api.ok(
        INVITE, {"i": partner_invite(w, "nobody@yet.example")}, token=w.tokens[REP]
    )
    bound_id = bound["invite"]["grant"]["id"]
    unbound_id = unbound["invite"]["grant"]["id"]
    full = w.grant(FULL_CLIENT)
    await w.check_all(
        [
            Case(
                "the inviting partner accepts", REP, "accept", {"grantId": bound_id}, "WRONG_SIDE"
            ),
            Case(
                "the inviting partner refuses", REP, "refuse", {"grantId": bound_id}, "WRONG_SIDE"
            ),
            Case(
                "the inviting partner accepts its email invitation",
                REP,
                "accept",
                {"grantId": unbound_id, "organizationId": w.org(PARTNER)},
                "WRONG_SIDE",
            ),
            Case(
                "the inviting partner accepts it for another org",
                REP,
                "accept",
                {"grantId": unbound_id, "organizationId": w.org(NEW_CLIENT)},
                "WRONG_SIDE",
            ),
            Case(
                "the inviting partner refuses its email invitation",
                REP,
                "refuse",
                {"grantId": unbound_id},
                "WRONG_SIDE",
            ),
            Case(
                "the invited client resends",
                "rep@new.example",
                "resendInvitation",
                {"grantId": bound_id},
                "WRONG_SIDE",
            ),
            Case(
                "the invited client cancels",
                "rep@new.example",
                "cancelInvitation",
                {"grantId": bound_id},
                "WRONG_SIDE",
            ),
            Case(
                "the partner edits access",
                REP,
                "editAccess",
                {"grantId": full, "access": FULL_CLIENT_PAYS},
                "WRONG_SIDE",
            ),
            Case(
                "the partner changes payment methods",
                REP,
                "changePaymentMethods",
                {"grantId": full, "paymentMethods": "CLIENT"},
                "WRONG_SIDE",
            ),
            Case(
                "another client accepts",
                "rep@limited.example",
                "accept",
                {"grantId": bound_id},
                "NOT_FOUND",
            ),
        ]
    )


async def test_client_initiated_wrong_side(w: World) -> None:
    stopped = await w.api.ok(
        STOP,
        {"i": {"grantId": w.grant(LIMITED_CLIENT), "password": DEMO_PASSWORD}},
        token=w.tokens["rep@limited.example"],
    )
    assert stopped["stopCollaboration"]["userErrors"] == []
    offered = await w.api.ok(
        INVITE,
        {
            "i": client_invite(
                w,
                LIMITED_CLIENT,
                {"level": "LIMITED", "productIds": [w.product(LIMITED_CLIENT, 2)]},
            )
        },
        token=w.tokens["rep@limited.example"],
    )
    assert offered["invite"]["userErrors"] == []
    grant = offered["invite"]["grant"]["id"]
    await w.check_all(
        [
            Case(
                "the inviting client accepts",
                "rep@limited.example",
                "accept",
                {"grantId": grant},
                "WRONG_SIDE",
            ),
            Case(
                "the inviting client refuses",
                "rep@limited.example",
                "refuse",
                {"grantId": grant},
                "WRONG_SIDE",
            ),
            Case(
                "the invited partner resends",
                REP,
                "resendInvitation",
                {"grantId": grant},
                "WRONG_SIDE",
            ),
            Case(
                "the invited partner cancels",
                REP,
                "cancelInvitation",
                {"grantId": grant},
                "WRONG_SIDE",
            ),
            Case(
                "the partner changes the offered access",
                REP,
                "accept",
                {"grantId": grant, "access": FULL_CLIENT_PAYS},
                "ACCESS_SET_BY_CLIENT",
            ),
        ]
    )


async def test_acting_on_ended_grants(w: World) -> None:
    new_client = w.demo.organizations[NEW_CLIENT]
    past = utcnow() - timedelta(minutes=1)
    for status in (GrantStatus.CANCELLED, GrantStatus.REFUSED, GrantStatus.EXPIRED):
        await w.add_grant(status.value, client_id=new_client, status=status)
    await w.add_grant(
        "STOPPED",
        client_id=new_client,
        status=GrantStatus.STOPPED,
        level=AccessLevel.FULL,
        payment_methods=PaymentMethods.CLIENT,
    )
    # Pending in the table, but past its expiry: it is expired for every action.
    await w.add_grant(
        "LATE", client_id=new_client, status=GrantStatus.PENDING, invitation_expires_at=past
    )
    client = "rep@new.example"
    cases = []
    for name in ("CANCELLED", "REFUSED", "EXPIRED", "LATE"):
        grant = w.grant(name)
        cases += [
            Case(f"accept {name}", client, "accept", {"grantId": grant}, "INVALID_STATE"),
            Case(f"refuse {name}", client, "refuse", {"grantId": grant}, "INVALID_STATE"),
            Case(f"resend {name}", REP, "resendInvitation", {"grantId": grant}, "INVALID_STATE"),
            Case(f"cancel {name}", REP, "cancelInvitation", {"grantId": grant}, "INVALID_STATE"),
        ]
    stopped = w.grant("STOPPED")
    cases += [
        Case(
            "edit a stopped grant",
            client,
            "editAccess",
            {"grantId": stopped, "access": FULL_CLIENT_PAYS},
            "INVALID_STATE",
        ),
        Case(
            "pay on a stopped grant",
            client,
            "changePaymentMethods",
            {"grantId": stopped, "paymentMethods": "PARTNER"},
            "INVALID_STATE",
        ),
        Case(
            "stop a stopped grant",
            client,
            "stopCollaboration",
            {"grantId": stopped, "password": DEMO_PASSWORD},
            "INVALID_STATE",
        ),
        Case("accept a stopped grant", client, "accept", {"grantId": stopped}, "INVALID_STATE"),
        Case(
            "cancel an active grant",
            "rep@full.example",
            "cancelInvitation",
            {"grantId": w.grant(FULL_CLIENT)},
            "INVALID_STATE",
        ),
        Case(
            "resend an active grant",
            "rep@full.example",
            "resendInvitation",
            {"grantId": w.grant(FULL_CLIENT)},
            "INVALID_STATE",
        ),
        Case(
            "accept an active grant",
            REP,
            "accept",
            {"grantId": w.grant(FULL_CLIENT)},
            "INVALID_STATE",
        ),
    ]
    await w.check_all(cases)


async def test_roles_that_may_not_act(w: World) -> None:
    full = w.grant(FULL_CLIENT)
    invited = await w.api.ok(
        INVITE, {"i": partner_invite(w, "rep@new.example")}, token=w.tokens[REP]
    )
    pending = invited["invite"]["grant"]["id"]
    await add_member(
        w.sessionmaker, w.demo.organizations[NEW_CLIENT], "collab@full.example", Role.COLLABORATOR
    )
    await w.check_all(
        [
            Case(
                "partner admin invites",
                "admin@partner.example",
                "invite",
                partner_invite(w, "x@y.example"),
                "ROLE_NOT_ALLOWED",
            ),
            Case(
                "partner collaborator invites",
                "collab@partner.example",
                "invite",
                partner_invite(w, "x@y.example"),
                "ROLE_NOT_ALLOWED",
            ),
            Case(
                "partner external invites",
                "external@partner.example",
                "invite",
                partner_invite(w, "x@y.example"),
                "ROLE_NOT_ALLOWED",
            ),
            Case(
                "partner collaborator (rights on it) stops",
                "collab@partner.example",
                "stopCollaboration",
                {"grantId": full, "password": DEMO_PASSWORD},
                "ROLE_NOT_ALLOWED",
            ),
            Case(
                "partner admin stops",
                "admin@partner.example",
                "stopCollaboration",
                {"grantId": full, "password": DEMO_PASSWORD},
                "ROLE_NOT_ALLOWED",
            ),
            Case(
                "partner external stops",
                "external@partner.example",
                "stopCollaboration",
                {"grantId": full, "password": DEMO_PASSWORD},
                "NOT_FOUND",
            ),
            Case(
                "partner collaborator cancels",
                "collab@partner.example",
                "cancelInvitation",
                {"grantId": pending},
                "NOT_FOUND",
            ),  # no rights on that client
            Case(
                "partner admin resends",
                "admin@partner.example",
                "resendInvitation",
                {"grantId": pending},
                "ROLE_NOT_ALLOWED",
            ),
            Case(
                "client admin edits access",
                "admin@full.example",
                "editAccess",
                {"grantId": full, "access": FULL_CLIENT_PAYS},
                "ROLE_NOT_ALLOWED",
            ),
            Case(
                "client collaborator changes payment",
                "collab@full.example",
                "changePaymentMethods",
                {"grantId": full, "paymentMethods": "CLIENT"},
                "ROLE_NOT_ALLOWED",
            ),
            Case(
                "client external stops",
                "external@full.example",
                "stopCollaboration",
                {"grantId": full, "password": DEMO_PASSWORD},
                "ROLE_NOT_ALLOWED",
            ),
            Case(
                "client collaborator accepts",
                "collab@full.example",
                "accept",
                {"grantId": pending},
                "ROLE_NOT_ALLOWED",
            ),
            Case(
                "client collaborator invites a partner",
                "collab@full.example",
                "invite",
                client_invite(w, FULL_CLIENT, FULL_CLIENT_PAYS),
                "ROLE_NOT_ALLOWED",
            ),
            Case(
                "client admin creates an API token",
                "admin@full.example",
                "createApiToken",
                {"organizationId": w.org(FULL_CLIENT), "name": "ci", "access": "READ"},
                "ROLE_NOT_ALLOWED",
            ),
        ]
    )


async def test_wrong_password_long_strings_and_bad_emails(w: World) -> None:
    full = w.grant(FULL_CLIENT)
    sign_up = {
        "email": "new@person.example",
        "password": "long-enough-pw",
        "fullName": "New Person",
        "organizationName": "New Org",
        "currency": "EUR",
    }
    cases = [
        Case(
            "wrong password",
            "rep@full.example",
            "stopCollaboration",
            {"grantId": full, "password": "not-the-password"},
            "WRONG_PASSWORD",
        ),
        Case(
            "someone else's password",
            REP,
            "stopCollaboration",
            {"grantId": full, "password": "long-enough-pw"},
            "WRONG_PASSWORD",
        ),
        Case(
            "message of 1001 characters",
            REP,
            "invite",
            partner_invite(w, "x@y.example") | {"message": "m" * 1001},
            "TOO_LONG",
        ),
        Case(
            "email of 300 characters",
            REP,
            "invite",
            partner_invite(w, "a" * 290 + "@y.example"),
            "INVALID_EMAIL",
        ),
        Case(
            "API token name of 101 characters",
            REP,
            "createApiToken",
            {"organizationId": w.org(PARTNER), "name": "n" * 101, "access": "READ"},
            "TOO_LONG",
        ),
        Case(
            "sign-up name of 201 characters",
            "",
            "signUp",
            sign_up | {"fullName": "n" * 201},
            "TOO_LONG",
        ),
        Case(
            "sign-up organization of 201 characters",
            "",
            "signUp",
            sign_up | {"organizationName": "o" * 201},
            "TOO_LONG",
        ),
        Case(
            "sign-up password of 257 characters",
            "",
            "signUp",
            sign_up | {"password": "p" * 257},
            "TOO_LONG",
        ),
        Case(
            "sign-up password too short",
            "",
            "signUp",
            sign_up | {"password": "short"},
            "PASSWORD_TOO_SHORT",
        ),
        Case("sign-up blank name", "", "signUp", sign_up | {"fullName": "   "}, "INVALID_INPUT"),
    ]
    for bad in [
        "not-an-email",
        "a@b",
        "x@@y.example",
        "",
        "two words@y.example",
        "line\nbreak@y.example",
    ]:
        cases.append(
            Case(f"invite {bad!r}", REP, "invite", partner_invite(w, bad), "INVALID_EMAIL")
        )
        cases.append(
            Case(f"sign up {bad!r}", "", "signUp", sign_up | {"email": bad}, "INVALID_EMAIL")
        )
    async with w.sessionmaker() as session:
        users = await session.scalar(select(func.count()).select_from(User))
    await w.check_all(cases)
    async with w.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == users


ALL_MUTATIONS = [
    ("invite", {"organizationId": "x", "clientEmail": "a@b.example", "access": FULL_CLIENT_PAYS}),
    ("accept", {"grantId": "x"}),
    ("refuse", {"grantId": "x"}),
    ("resendInvitation", {"grantId": "x"}),
    ("cancelInvitation", {"grantId": "x"}),
    ("editAccess", {"grantId": "x", "access": FULL_CLIENT_PAYS}),
    ("changePaymentMethods", {"grantId": "x", "paymentMethods": "CLIENT"}),
    ("stopCollaboration", {"grantId": "x", "password": "p"}),
    ("createApiToken", {"organizationId": "x", "name": "n", "access": "READ"}),
]


async def test_unauthenticated_requests(w: World) -> None:
    before = await row_counts(w.sessionmaker)
    for mutation, variables in ALL_MUTATIONS:
        result = await w.api.gql(MUTATIONS[mutation], {"i": variables})
        assert result.data is None, mutation
        assert result.error_codes() == ["UNAUTHENTICATED"], (mutation, result.errors)
    for query in [
        "query { viewer { user { email } } }",
        "query { partners { edges { node { id } } } }",
        'query { node(id: "x") { id } }',
    ]:
        result = await w.api.gql(query)
        assert result.error_codes() == ["UNAUTHENTICATED"], (query, result.errors)
    # A token that does not exist is no login either.
    result = await w.api.gql("query { viewer { user { email } } }", token="pgs_forged")
    assert result.error_codes() == ["UNAUTHENTICATED"]
    assert await row_counts(w.sessionmaker) == before


async def test_a_read_only_api_token_cannot_mutate(w: World) -> None:
    created = await w.api.ok(
        CREATE_TOKEN,
        {"i": {"organizationId": w.org(PARTNER), "name": "reporting", "access": "READ"}},
        token=w.tokens[REP],
    )
    w.tokens["read-token"] = created["createApiToken"]["secret"]
    full = w.grant(FULL_CLIENT)
    await w.check_all(
        [
            Case(
                "read token invites",
                "read-token",
                "invite",
                partner_invite(w, "x@y.example"),
                "READ_ONLY_TOKEN",
            ),
            Case(
                "read token resends",
                "read-token",
                "resendInvitation",
                {"grantId": full},
                "READ_ONLY_TOKEN",
            ),
            Case(
                "read token cancels",
                "read-token",
                "cancelInvitation",
                {"grantId": full},
                "READ_ONLY_TOKEN",
            ),
            Case(
                "read token accepts", "read-token", "accept", {"grantId": full}, "READ_ONLY_TOKEN"
            ),
            Case(
                "read token refuses", "read-token", "refuse", {"grantId": full}, "READ_ONLY_TOKEN"
            ),
        ]
    )
    # It still reads: the partner's clients, with the partner-paid invoices.
    data = await w.api.ok(
        "query($p: ID!) { node(id: $p) { ... on Partner { clients { edges { node { name } } }"
        " } } }",
        {"p": gid("Partner", w.demo.partner_id)},
        token=w.tokens["read-token"],
    )
    names = sorted(e["node"]["name"] for e in data["node"]["clients"]["edges"])
    assert names == [LIMITED_CLIENT, FULL_CLIENT]
    # A person's password is needed to stop a collaboration: no API token may.
    result = await w.api.gql(
        STOP, {"i": {"grantId": full, "password": DEMO_PASSWORD}}, token=w.tokens["read-token"]
    )
    assert result.error_codes() == ["UNAUTHENTICATED"]
