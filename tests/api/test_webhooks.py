"""Webhooks end to end against a real HTTP receiver on loopback, its signatures verified
with the `standardwebhooks` package: order per object, retries while the receiver fails,
replay, secret rotation, disabling after 3 days, and who may manage endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.relay import GlobalID

from config.settings import Settings
from db.models import (
    AuditEvent,
    OutboxMessage,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEndpointStatus,
)
from resolvers.webhooks.delivery import attempt_delivery
from tests.api.spine_support import ACCEPT, CANCEL, INVITE, session_tokens, user_errors
from tests.api.webhook_receiver import Receiver, serve
from tests.conftest import Api, gid

Maker = async_sessionmaker[AsyncSession]
PARTNER = "Alpine Web Partners"
CREATE = """mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) {
  secret endpoint { id url status eventKinds } userErrors { field code } } }"""
ROTATE = """mutation($i: WebhookEndpointInput!) { rotateWebhookSecret(input: $i) {
  secret endpoint { id } userErrors { code } } }"""
UPDATE = """mutation($i: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $i) {
  endpoint { id status eventKinds description } userErrors { field code } } }"""
DELETE = """mutation($i: WebhookEndpointInput!) { deleteWebhookEndpoint(input: $i) {
  endpointId userErrors { code } } }"""
REPLAY = """mutation($i: ReplayWebhookDeliveryInput!) { replayWebhookDelivery(input: $i) {
  deliveryId userErrors { code } } }"""
ENDPOINTS = """query($id: ID!) { node(id: $id) { ... on Organization { webhookEndpoints {
  edges { node { id url status deliveries { edges { node { id status attempts lastHttpStatus
  lastDurationMs nextAttemptAt event { id kind } } } } } } } } } }"""
GRANT_KINDS = ["GRANT_INVITED", "GRANT_ACCEPTED", "GRANT_CANCELLED"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve()


class Hooks:
    """The partner's representative, its endpoint, and the deliveries driven by hand."""

    def __init__(self, api: Api, world: Any, sm: Maker, settings: Settings) -> None:
        self.api, self.world, self.sm, self.settings = api, world, sm, settings
        self.org = gid("Organization", world.organizations[PARTNER])
        self.tokens: dict[str, str] = {}
        self.secret = ""
        self.endpoint_id = ""

    async def setup(self, url: str) -> None:
        self.tokens = await session_tokens(
            self.sm, ["rep@partner.example", "admin@partner.example", "rep@new.example"]
        )
        data = await self.api.ok(
            CREATE,
            {"i": {"organizationId": self.org, "url": url, "eventKinds": GRANT_KINDS}},
            token=self.tokens["rep@partner.example"],
        )
        made = data["createWebhookEndpoint"]
        assert made["userErrors"] == [], made
        self.secret, self.endpoint_id = made["secret"], made["endpoint"]["id"]
        assert self.secret.startswith("whsec_")

    async def invite(self, email: str) -> str:
        data = await self.api.ok(
            INVITE,
            {
                "i": {
                    "organizationId": self.org,
                    "clientEmail": email,
                    "access": {"level": "FULL", "paymentMethods": "CLIENT"},
                }
            },
            token=self.tokens["rep@partner.example"],
        )
        assert user_errors(data, "invite") == []
        return str(data["invite"]["grant"]["id"])

    async def deliveries(self) -> list[WebhookDelivery]:
        async with self.sm() as session:
            return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))

    async def attempt(self, delivery_id: int, now: datetime | None = None) -> list[int]:
        follow = await attempt_delivery(self.sm, delivery_id, settings=self.settings, now=now)
        return follow.now


@pytest.fixture
async def hooks(
    api: Api, world: Any, sessionmaker: Maker, settings: Settings, receiver: Receiver
) -> Hooks:
    made = Hooks(api, world, sessionmaker, settings)
    await made.setup(receiver.url)
    return made


async def test_deliveries_are_signed_written_with_the_change_and_in_order_per_object(
    hooks: Hooks, receiver: Receiver
) -> None:
    grant = await hooks.invite("rep@new.example")
    accepted = await hooks.api.ok(
        ACCEPT, {"i": {"grantId": grant}}, token=hooks.tokens["rep@new.example"]
    )
    assert user_errors(accepted, "accept") == []
    first, second = await hooks.deliveries()
    async with hooks.sm() as session:  # each delivery left its outbox row with the change
        dispatch = list(
            await session.scalars(
                select(OutboxMessage.payload).where(OutboxMessage.actor_name == "dispatch_webhook")
            )
        )
    assert dispatch == [{"delivery_id": first.id}, {"delivery_id": second.id}]

    # The later event of the same grant waits for the earlier one...
    assert await hooks.attempt(second.id) == []
    assert receiver.requests == []
    # ...which, delivered, hands the next one on.
    assert await hooks.attempt(first.id) == [second.id]
    await hooks.attempt(second.id)
    payloads = receiver.payloads(hooks.secret)
    assert [p["type"] for p in payloads] == ["grant.invited", "grant.accepted"]
    assert {p["data"]["id"] for p in payloads} == {grant}
    assert set(payloads[1]) == {"id", "type", "timestamp", "data"}
    assert receiver.requests[0].headers["webhook-id"] == payloads[0]["id"]
    # Another secret does not verify them.
    assert receiver.requests[0].verified_with("whsec_" + "A" * 43 + "=") is None
    # A second delivery of a done message does nothing.
    assert await hooks.attempt(first.id) == []
    assert len(receiver.requests) == 2


async def test_a_failing_receiver_is_retried_with_growing_delays_then_replayed(
    hooks: Hooks, receiver: Receiver
) -> None:
    await hooks.invite("someone@shop.example")
    [delivery] = await hooks.deliveries()
    receiver.status = 500
    start = datetime.now(UTC)
    await hooks.attempt(delivery.id, now=start)
    [failed] = await hooks.deliveries()
    assert failed.status is WebhookDeliveryStatus.PENDING
    assert failed.attempts == 1
    assert failed.last_http_status == 500
    assert failed.next_attempt_at is not None
    first_delay = failed.next_attempt_at - start
    assert first_delay == timedelta(seconds=hooks.settings.webhook_retry_delays_seconds[0])
    # Not due yet: nothing is sent.
    await hooks.attempt(delivery.id, now=start + first_delay / 2)
    assert len(receiver.requests) == 1
    # Due: tried again, failing again; the next delay is longer.
    second_try = start + first_delay
    await hooks.attempt(delivery.id, now=second_try)
    [again] = await hooks.deliveries()
    assert again.attempts == 2
    assert again.next_attempt_at is not None
    assert again.next_attempt_at - second_try > first_delay
    # A redirect is not followed, and counts as a failure.
    receiver.status, receiver.location = 302, "http://127.0.0.1:1/elsewhere"
    await hooks.attempt(delivery.id, now=again.next_attempt_at)
    [redirected] = await hooks.deliveries()
    assert redirected.attempts == 3
    assert redirected.last_http_status == 302
    assert len(receiver.requests) == 3
    # The receiver recovers: delivered, and the endpoint is no longer failing.
    receiver.status, receiver.location = 200, None
    assert redirected.next_attempt_at is not None
    await hooks.attempt(delivery.id, now=redirected.next_attempt_at)
    [done] = await hooks.deliveries()
    assert done.status is WebhookDeliveryStatus.SUCCEEDED
    assert done.attempts == 4
    async with hooks.sm() as session:
        endpoint = await session.scalar(select(WebhookEndpoint))
        assert endpoint is not None
        assert endpoint.failing_since is None
    # Every attempt carried the same message id and a valid signature.
    payloads = receiver.payloads(hooks.secret)
    assert len({p["id"] for p in payloads}) == 1

    # Replay: a new delivery of the same event, same webhook-id.
    replay = await hooks.api.ok(
        REPLAY,
        {"i": {"deliveryId": gid("WebhookDelivery", delivery.id)}},
        token=hooks.tokens["rep@partner.example"],
    )
    assert replay["replayWebhookDelivery"]["userErrors"] == []
    replay_id = int(GlobalID.from_id(replay["replayWebhookDelivery"]["deliveryId"]).node_id)
    await hooks.attempt(replay_id)
    assert len(receiver.requests) == 5
    assert receiver.payloads(hooks.secret)[-1]["id"] == payloads[0]["id"]

    # The organization reads its deliveries; an administrator may not.
    data = await hooks.api.ok(
        ENDPOINTS, {"id": hooks.org}, token=hooks.tokens["rep@partner.example"]
    )
    [endpoint_edge] = data["node"]["webhookEndpoints"]["edges"]
    rows = [e["node"] for e in endpoint_edge["node"]["deliveries"]["edges"]]
    assert [(r["status"], r["attempts"], r["lastHttpStatus"]) for r in rows] == [
        ("SUCCEEDED", 4, 200),
        ("SUCCEEDED", 1, 200),
    ]
    assert rows[0]["event"]["kind"] == "GRANT_INVITED"
    refused = await hooks.api.gql(
        ENDPOINTS, {"id": hooks.org}, token=hooks.tokens["admin@partner.example"]
    )
    assert refused.error_codes() == ["FORBIDDEN"]


async def test_rotation_signs_with_both_secrets_for_24_hours(
    hooks: Hooks, receiver: Receiver
) -> None:
    rotated = await hooks.api.ok(
        ROTATE, {"i": {"endpointId": hooks.endpoint_id}}, token=hooks.tokens["rep@partner.example"]
    )
    new_secret = rotated["rotateWebhookSecret"]["secret"]
    assert new_secret.startswith("whsec_")
    assert new_secret != hooks.secret
    await hooks.invite("one@shop.example")
    await hooks.invite("two@shop.example")
    first, second = await hooks.deliveries()
    await hooks.attempt(first.id)
    [during] = receiver.requests
    assert during.verified_with(hooks.secret) is not None
    assert during.verified_with(new_secret) is not None
    await hooks.attempt(second.id, now=datetime.now(UTC) + timedelta(hours=24, minutes=1))
    after = receiver.requests[1]
    assert after.verified_with(new_secret) is not None
    assert after.verified_with(hooks.secret) is None


async def test_an_endpoint_failing_for_3_days_is_disabled_and_its_representatives_told(
    hooks: Hooks, receiver: Receiver
) -> None:
    receiver.status = 503
    grant = await hooks.invite("late@shop.example")
    [delivery] = await hooks.deliveries()
    start = datetime.now(UTC)
    await hooks.attempt(delivery.id, now=start)
    await hooks.attempt(delivery.id, now=start + timedelta(days=3, seconds=10))
    async with hooks.sm() as session:
        endpoint = await session.scalar(select(WebhookEndpoint))
        assert endpoint is not None
        assert endpoint.status is WebhookEndpointStatus.DISABLED
        emails = list(
            await session.scalars(
                select(OutboxMessage.payload).where(OutboxMessage.actor_name == "send_email")
            )
        )
        audits = list(
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.action.like("webhook.%"))
            )
        )
    told = [e for e in emails if e["template"] == "webhook_endpoint_disabled"]
    assert [e["to"] for e in told] == ["rep@partner.example"]
    assert audits == ["webhook.create", "webhook.disable"]
    # Disabled: new events queue nothing for it, and nothing more is sent.
    cancelled = await hooks.api.ok(
        CANCEL, {"i": {"grantId": grant}}, token=hooks.tokens["rep@partner.example"]
    )
    assert user_errors(cancelled, "cancelInvitation") == []
    assert len(await hooks.deliveries()) == 1
    sent = len(receiver.requests)
    await hooks.attempt(delivery.id, now=start + timedelta(days=4))
    assert len(receiver.requests) == sent
    # Enabled again by a representative: delivered.
    receiver.status = 200
    data = await hooks.api.ok(
        UPDATE,
        {"i": {"endpointId": hooks.endpoint_id, "enabled": True}},
        token=hooks.tokens["rep@partner.example"],
    )
    assert data["updateWebhookEndpoint"]["endpoint"]["status"] == "ENABLED"
    await hooks.attempt(delivery.id, now=start + timedelta(days=3, hours=1))
    assert receiver.payloads(hooks.secret)[-1]["type"] == "grant.invited"


async def test_only_legal_representatives_manage_endpoints(
    hooks: Hooks, receiver: Receiver
) -> None:
    admin = hooks.tokens["admin@partner.example"]
    made = await hooks.api.ok(
        CREATE,
        {"i": {"organizationId": hooks.org, "url": receiver.url, "eventKinds": ["ORDER_PLACED"]}},
        token=admin,
    )
    assert [e["code"] for e in made["createWebhookEndpoint"]["userErrors"]] == ["FORBIDDEN"]
    # Another organization's endpoint answers as a missing one, on every path.
    outsider = hooks.tokens["rep@new.example"]
    for mutation, name in ((ROTATE, "rotateWebhookSecret"), (DELETE, "deleteWebhookEndpoint")):
        data = await hooks.api.ok(
            mutation, {"i": {"endpointId": hooks.endpoint_id}}, token=outsider
        )
        assert [e["code"] for e in data[name]["userErrors"]] == ["NOT_FOUND"]
    seen = await hooks.api.ok(
        "query($id: ID!) { node(id: $id) { id } }", {"id": hooks.endpoint_id}, token=outsider
    )
    assert seen["node"] is None
    bad = await hooks.api.ok(
        CREATE,
        {
            "i": {
                "organizationId": hooks.org,
                "url": "ftp://x.example/",
                "eventKinds": ["ORDER_PLACED"],
            }
        },
        token=hooks.tokens["rep@partner.example"],
    )
    assert [e["code"] for e in bad["createWebhookEndpoint"]["userErrors"]] == ["INVALID_URL"]
    gone = await hooks.api.ok(
        DELETE, {"i": {"endpointId": hooks.endpoint_id}}, token=hooks.tokens["rep@partner.example"]
    )
    assert gone["deleteWebhookEndpoint"]["userErrors"] == []
    async with hooks.sm() as session:
        assert await session.scalar(select(WebhookEndpoint)) is None
