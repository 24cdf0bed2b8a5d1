"""Every mutation of the schema writes exactly one audit event when it succeeds (SPEC: the
audit trail), with its before or after. The people mutations run in
tests/api/test_audit_trail.py; this flow runs all the others, and a last check makes sure no
mutation of the schema is left out of both."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from db.models import AuditEvent, WebhookDelivery
from domain.enums import OrganizationKind, Role
from resolvers.demo import FULL_CLIENT, LIMITED_CLIENT, NEW_CLIENT, PARTNER
from schema.root import build_schema
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
    audit_events,
    last_ids,
)
from tests.api.test_audit_trail import PEOPLE_MUTATIONS, mutation_name
from tests.api.test_bids import AWARD, OFFER, POST, VERIFY, bid_input, emails, run_fan_out_jobs
from tests.api.test_commerce import PLACE, RENEW
from tests.api.test_program import (
    APPLY,
    GRANT_SUPPORT,
    JOIN_AFFILIATE,
    REVOKE_SUPPORT,
    SET_COLLAB,
    UPDATE_LISTING,
    application_input,
    member,
    organization,
    token,
    user,
)
from tests.api.test_webhooks import CREATE as CREATE_WEBHOOK
from tests.api.test_webhooks import DELETE as DELETE_WEBHOOK
from tests.api.test_webhooks import REPLAY as REPLAY_WEBHOOK
from tests.api.test_webhooks import ROTATE as ROTATE_WEBHOOK
from tests.api.test_webhooks import UPDATE as UPDATE_WEBHOOK
from tests.conftest import Api, gid, login

# A mutation that changes nothing writes nothing: `moveBackupCustomer` is always refused
# (SPEC: a Swiss Backup customer cannot move between accounts) and reads nothing.
WRITES_NOTHING = {"moveBackupCustomer"}

LOGIN = """mutation($i: LoginInput!) { login(input: $i) { token userErrors { code } } }"""
CREATE_TOKEN = """mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) {
  secret apiToken { id } userErrors { code } } }"""
REVOKE_TOKEN = """mutation($i: RevokeApiTokenInput!) { revokeApiToken(input: $i) {
  apiToken { id } userErrors { code } } }"""


class Steps:
    def __init__(self, api: Api, sessionmaker: Maker) -> None:
        self.api = api
        self.sessionmaker = sessionmaker
        self.names: set[str] = set()

    async def run(
        self, kind: str, document: str, variables: dict[str, Any], who: str | None = None
    ) -> dict[str, Any]:
        """Runs one mutation, expects no userErrors and exactly one event of `kind`."""
        before_id, _ = await last_ids(self.sessionmaker)
        data = await self.api.ok(document, {"i": variables}, who)
        name = mutation_name(document)
        payload: dict[str, Any] = data[name]
        assert payload.get("userErrors", []) == [], (name, payload)
        events: list[AuditEvent] = await audit_events(self.sessionmaker, before_id)
        assert [e.action for e in events] == [kind], (name, [e.action for e in events])
        assert events[0].before is not None or events[0].after is not None, name
        self.names.add(name)
        return payload


async def test_every_other_mutation_writes_one_event(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    steps = Steps(api, sessionmaker)
    rep = await login(api, "rep@partner.example")
    partner_org = gid("Organization", world.organizations[PARTNER])

    # -- sessions and API tokens -------------------------------------------------------
    await steps.run(
        "session.login", LOGIN, {"email": "rep@partner.example", "password": "partnergraph-demo"}
    )
    created = await steps.run(
        "api_token.create",
        CREATE_TOKEN,
        {"organizationId": partner_org, "name": "crm sync", "access": "READ_WRITE"},
        rep,
    )
    await steps.run("api_token.revoke", REVOKE_TOKEN, {"id": created["apiToken"]["id"]}, rep)

    # -- webhooks: an endpoint receiving the grant invitations below -----------------------
    endpoint = await steps.run(
        "webhook.create",
        CREATE_WEBHOOK,
        {
            "organizationId": partner_org,
            "url": "https://hooks.example/in",
            "eventKinds": ["GRANT_INVITED"],
        },
        rep,
    )
    endpoint_id = endpoint["endpoint"]["id"]

    # -- a grant's life: invite, resend, cancel; invite, refuse; invite, accept, edit -----
    new_org = gid("Organization", world.organizations[NEW_CLIENT])
    client = await login(api, "rep@new.example")
    invite = {
        "organizationId": partner_org,
        "clientEmail": "rep@new.example",
        "access": {"level": "FULL", "paymentMethods": "PARTNER"},
    }
    first = await steps.run("grant.invite", INVITE, invite, rep)
    grant_id = first["grant"]["id"]
    await steps.run("grant.resend", RESEND, {"grantId": grant_id}, rep)
    await steps.run("grant.cancel", CANCEL, {"grantId": grant_id}, rep)
    second = await steps.run("grant.invite", INVITE, invite, rep)
    await steps.run("grant.refuse", REFUSE, {"grantId": second["grant"]["id"]}, client)
    third = await steps.run("grant.invite", INVITE, invite, rep)
    grant_id = third["grant"]["id"]
    await steps.run(
        "grant.accept", ACCEPT, {"grantId": grant_id, "organizationId": new_org}, client
    )
    await steps.run(
        "grant.edit_access",
        EDIT_ACCESS,
        {"grantId": grant_id, "access": {"level": "FULL", "paymentMethods": "CLIENT"}},
        client,
    )
    await steps.run(
        "grant.change_payment_methods",
        CHANGE_PAYMENT_METHODS,
        {"grantId": grant_id, "paymentMethods": "PARTNER"},
        client,
    )

    # -- orders: a partner orders and renews for a client it manages ------------------------
    full_client = gid("Client", world.grants[FULL_CLIENT])
    await steps.run(
        "order.place",
        PLACE,
        {
            "organizationId": partner_org,
            "clientId": full_client,
            "productKind": "domain_ch",
            "quantity": 1,
            "productName": "audit-every-mutation.ch",
        },
        rep,
    )
    await steps.run(
        "order.renew",
        RENEW,
        {
            "organizationId": partner_org,
            "productId": gid("Product", world.products[FULL_CLIENT][0]),
            "quantity": 1,
        },
        rep,
    )
    await steps.run(
        "grant.stop", STOP, {"grantId": grant_id, "password": "partnergraph-demo"}, client
    )

    # -- collaborator rights (the deprecated per-client form) ------------------------------
    await member(
        sessionmaker, world.organizations[PARTNER], "collab@audit.example", Role.COLLABORATOR
    )
    collab_id = await user(sessionmaker, "collab@audit.example")
    await steps.run(
        "collaborator.set_clients",
        SET_COLLAB,
        {
            "organizationId": partner_org,
            "userId": gid("User", collab_id),
            "clientIds": [gid("Client", world.grants[LIMITED_CLIENT])],
        },
        rep,
    )

    # -- support access --------------------------------------------------------------------
    owner = await login(api, "rep@full.example")
    full_org = gid("Organization", world.organizations[FULL_CLIENT])
    access = await steps.run(
        "support_access.grant",
        GRANT_SUPPORT,
        {"organizationId": full_org, "durationHours": 2, "reason": "Mail bounces"},
        owner,
    )
    await steps.run(
        "support_access.revoke",
        REVOKE_SUPPORT,
        {"supportAccessId": access["supportAccess"]["id"]},
        owner,
    )

    # -- the program: apply, join, list --------------------------------------------------
    applicant = await organization(sessionmaker, "Helvetic Audit Sàrl", "rep@helvetic.example")
    await steps.run(
        "partner_application.accept",
        APPLY,
        application_input(applicant),
        await token(sessionmaker, "rep@helvetic.example"),
    )
    solo = await organization(
        sessionmaker, "Jane Solo", "jane@solo.example", kind=OrganizationKind.INDIVIDUAL
    )
    await steps.run(
        "affiliate.join",
        JOIN_AFFILIATE,
        {"organizationId": gid("Organization", solo)},
        await token(sessionmaker, "jane@solo.example"),
    )
    await steps.run(
        "directory_listing.create",
        UPDATE_LISTING,
        {
            "partnerId": gid("Partner", world.partner_id),
            "languages": ["fr"],
            "regions": ["CH"],
            "productFamilies": ["WEB_HOSTING", "STORAGE"],
            "published": True,
        },
        rep,
    )

    # -- bids: a visitor's (verified by email), an offer, the award ------------------------
    await steps.run(
        "bid.post", POST, bid_input(email="vera@visitor.example", contactName="Vera"), None
    )
    [mail] = await emails(sessionmaker, "bid_verify_email")
    link = mail.payload["context"]["verify_url"].split("token=", 1)[1]
    verified = await steps.run("bid.verify", VERIFY, {"token": link}, None)
    await run_fan_out_jobs(sessionmaker)
    made = await steps.run(
        "bid.offer",
        OFFER,
        {
            "bidId": verified["bid"]["id"],
            "partnerId": gid("Partner", world.partner_id),
            "amount": {"amount": "4500.00", "currency": "CHF"},
            "message": "We build shops.",
        },
        rep,
    )
    await steps.run(
        "bid.award",
        AWARD,
        {"offerId": made["offer"]["id"], "authorToken": verified["authorToken"]},
        None,
    )

    # -- webhooks again: replay a delivery of the invitations, update, rotate, delete ------
    async with sessionmaker() as session:
        delivery_id = await session.scalar(select(func.min(WebhookDelivery.id)))
    assert delivery_id is not None
    await steps.run(
        "webhook.replay", REPLAY_WEBHOOK, {"deliveryId": gid("WebhookDelivery", delivery_id)}, rep
    )
    await steps.run(
        "webhook.update", UPDATE_WEBHOOK, {"endpointId": endpoint_id, "description": "CRM"}, rep
    )
    await steps.run("webhook.rotate_secret", ROTATE_WEBHOOK, {"endpointId": endpoint_id}, rep)
    await steps.run("webhook.delete", DELETE_WEBHOOK, {"endpointId": endpoint_id}, rep)

    mutations = set(build_schema()._schema.mutation_type.fields)  # type: ignore[union-attr]
    left_out = mutations - steps.names - PEOPLE_MUTATIONS - WRITES_NOTHING
    assert left_out == set(), f"mutations with no audit check: {sorted(left_out)}"
