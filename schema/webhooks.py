"""Webhooks in the graph: endpoints, their deliveries, and the mutations managing them
(legal representatives only)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from db import models
from domain.integration_events import EventKind as EventKindEnum
from resolvers.webhooks import endpoints as use_cases
from resolvers.webhooks import queries
from resolvers.webhooks.queries import DeliveryRow
from schema.base import (
    After,
    Before,
    Connection,
    First,
    Last,
    UserError,
    mutate,
    page_request,
    to_connection,
)
from schema.context import Info
from schema.ids import decode_id, encode_id, primary_keys
from schema.permissions import IsAuthenticated

EventKind = EventKindEnum
WebhookEndpointStatus = models.WebhookEndpointStatus
WebhookDeliveryStatus = models.WebhookDeliveryStatus
for _enum, _description in [
    (EventKind, "A kind of integration event."),
    (WebhookEndpointStatus, "Whether an endpoint receives deliveries."),
    (WebhookDeliveryStatus, "PENDING (to attempt, or again later), SUCCEEDED, or FAILED."),
]:
    strawberry.enum(_enum, description=_description)


@strawberry.type(description="An integration event, as the organization received it.")
class IntegrationEvent:
    id: str = strawberry.field(description="The event id (the `webhook-id` header).")
    kind: EventKind = strawberry.field(description="What happened.")
    organization_id: strawberry.ID = strawberry.field(
        description="The organization that received it (its view of the object)."
    )
    occurred_at: datetime = strawberry.field(description="When it committed.")
    payload: JSON = strawberry.field(
        description="The body sent: id, type, timestamp and the object (`data`)."
    )

    @classmethod
    def of(cls, row: models.IntegrationEvent) -> IntegrationEvent:
        return cls(
            id=row.event_key,
            kind=EventKindEnum(row.kind),
            organization_id=strawberry.ID(encode_id("Organization", row.organization_id)),
            occurred_at=row.occurred_at,
            payload=cast(Any, row.payload),
        )


@strawberry.type(description="One event sent to one endpoint, with its attempts.")
class WebhookDelivery(relay.Node):
    id: relay.NodeID[int]
    event: IntegrationEvent = strawberry.field(description="The event delivered.")
    status: WebhookDeliveryStatus = strawberry.field(description="Where it stands.")
    attempts: int = strawberry.field(description="Attempts made.")
    last_http_status: int | None = strawberry.field(description="The last answer's status.")
    last_duration_ms: int | None = strawberry.field(description="The last attempt's duration.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed.")
    next_attempt_at: datetime | None = strawberry.field(description="When it is tried again.")
    delivered_at: datetime | None = strawberry.field(description="When it succeeded.")
    created_at: datetime = strawberry.field(description="When it was queued.")

    @classmethod
    def of(cls, row: DeliveryRow) -> WebhookDelivery:
        d = row.delivery
        return cls(
            id=d.id,
            event=IntegrationEvent.of(row.event),
            status=d.status,
            attempts=d.attempts,
            last_http_status=d.last_http_status,
            last_duration_ms=d.last_duration_ms,
            last_error=d.last_error,
            next_attempt_at=d.next_attempt_at,
            delivered_at=d.delivered_at,
            created_at=d.created_at,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[WebhookDelivery | None]:
        # Deliveries are read through their endpoint; by ID they answer as missing.
        return [None for _ in node_ids]


@strawberry.type(description="A URL receiving chosen integration events, signed.")
class WebhookEndpoint(relay.Node):
    id: relay.NodeID[int]
    url: str = strawberry.field(description="Where deliveries are POSTed.")
    description: str = strawberry.field(description="What it is for.")
    event_kinds: list[EventKind] = strawberry.field(description="The kinds it receives.")
    status: WebhookEndpointStatus = strawberry.field(
        description="DISABLED after 3 days of failures (or by hand)."
    )
    failing_since: datetime | None = strawberry.field(
        description="Since when every attempt has failed."
    )
    disabled_at: datetime | None = strawberry.field(description="When it was disabled.")
    created_at: datetime = strawberry.field(description="When it was registered.")
    row: strawberry.Private[models.WebhookEndpoint]

    @classmethod
    def of(cls, row: models.WebhookEndpoint) -> WebhookEndpoint:
        return cls(
            id=row.id,
            url=row.url,
            description=row.description,
            event_kinds=[EventKindEnum(k) for k in row.event_kinds],
            status=row.status,
            failing_since=row.failing_since,
            disabled_at=row.disabled_at,
            created_at=row.created_at,
            row=row,
        )

    @strawberry.field(description="Its deliveries, oldest first.")
    async def deliveries(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[WebhookDelivery]:
        page = await queries.endpoint_deliveries(
            info.context, self.row, page_request(info, first, after, last, before)
        )
        return to_connection(page, WebhookDelivery.of)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[WebhookEndpoint | None]:
        ids = primary_keys(node_ids)
        found = {
            r.id: r
            for r in await queries.endpoints_by_id(info.context, [i for i in ids if i is not None])
        }
        return [cls.of(found[i]) if i in found else None for i in ids]


@strawberry.input(description="Register a webhook endpoint for an organization.")
class CreateWebhookEndpointInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    url: str = strawberry.field(description="An http(s) URL; no redirects are followed.")
    event_kinds: list[EventKind] = strawberry.field(description="The kinds to receive.")
    description: str | None = strawberry.field(default=None, description="What it is for.")


@strawberry.input(description="Change an endpoint; only the fields given.")
class UpdateWebhookEndpointInput:
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint.")
    url: str | None = strawberry.field(default=None, description="A new URL.")
    event_kinds: list[EventKind] | None = strawberry.field(
        default=None, description="The kinds to receive."
    )
    description: str | None = strawberry.field(default=None, description="What it is for.")
    enabled: bool | None = strawberry.field(
        default=None, description="true turns a disabled endpoint on again; false off."
    )


@strawberry.input(description="A webhook endpoint.")
class WebhookEndpointInput:
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint.")


@strawberry.input(description="A delivery to send again.")
class ReplayWebhookDeliveryInput:
    delivery_id: strawberry.ID = strawberry.field(description="The delivery.")


@strawberry.type(description="The endpoint after the mutation.")
class WebhookEndpointPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    endpoint: WebhookEndpoint | None = strawberry.field(default=None, description="The endpoint.")


@strawberry.type(description="The endpoint and its signing secret, shown this once.")
class WebhookEndpointSecretPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    endpoint: WebhookEndpoint | None = strawberry.field(default=None, description="The endpoint.")
    secret: str | None = strawberry.field(
        default=None,
        description="The Standard Webhooks signing secret (whsec_...); never shown again.",
    )


@strawberry.type(description="The endpoint was deleted with its deliveries.")
class DeleteWebhookEndpointPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    endpoint_id: strawberry.ID | None = strawberry.field(
        default=None, description="The deleted endpoint's ID."
    )


@strawberry.type(description="The new delivery of the same event.")
class ReplayWebhookDeliveryPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    delivery_id: strawberry.ID | None = strawberry.field(
        default=None, description="The new delivery (see the endpoint's `deliveries`)."
    )


def _kinds(kinds: list[Any] | None) -> list[str] | None:
    return None if kinds is None else [EventKindEnum(k).value for k in kinds]


def _endpoint_id(value: strawberry.ID) -> int:
    return decode_id(value, "WebhookEndpoint", "endpointId")


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Register a webhook endpoint; its signing secret is shown once.",
        permission_classes=[IsAuthenticated],
    )
    async def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> WebhookEndpointSecretPayload:
        async def run() -> dict[str, object]:
            made = await use_cases.create_endpoint(
                info.context,
                organization_id=decode_id(input.organization_id, "Organization", "organizationId"),
                url=input.url,
                event_kinds=_kinds(input.event_kinds) or [],
                description=input.description,
            )
            return {"endpoint": WebhookEndpoint.of(made.endpoint), "secret": made.secret}

        return await mutate(WebhookEndpointSecretPayload, run)

    @strawberry.mutation(
        description="Change an endpoint's URL, kinds, description, or turn it on or off.",
        permission_classes=[IsAuthenticated],
    )
    async def update_webhook_endpoint(
        self, info: Info, input: UpdateWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        async def run() -> dict[str, object]:
            row = await use_cases.update_endpoint(
                info.context,
                endpoint_id=_endpoint_id(input.endpoint_id),
                url=input.url,
                event_kinds=_kinds(input.event_kinds),
                description=input.description,
                enabled=input.enabled,
            )
            return {"endpoint": WebhookEndpoint.of(row)}

        return await mutate(WebhookEndpointPayload, run)

    @strawberry.mutation(
        description="A new signing secret, shown once; the old one also signs for 24 hours.",
        permission_classes=[IsAuthenticated],
    )
    async def rotate_webhook_secret(
        self, info: Info, input: WebhookEndpointInput
    ) -> WebhookEndpointSecretPayload:
        async def run() -> dict[str, object]:
            made = await use_cases.rotate_secret(
                info.context, endpoint_id=_endpoint_id(input.endpoint_id)
            )
            return {"endpoint": WebhookEndpoint.of(made.endpoint), "secret": made.secret}

        return await mutate(WebhookEndpointSecretPayload, run)

    @strawberry.mutation(
        description="Delete an endpoint and its deliveries.", permission_classes=[IsAuthenticated]
    )
    async def delete_webhook_endpoint(
        self, info: Info, input: WebhookEndpointInput
    ) -> DeleteWebhookEndpointPayload:
        async def run() -> dict[str, object]:
            gone = await use_cases.delete_endpoint(
                info.context, endpoint_id=_endpoint_id(input.endpoint_id)
            )
            return {"endpoint_id": strawberry.ID(encode_id("WebhookEndpoint", gone))}

        return await mutate(DeleteWebhookEndpointPayload, run)

    @strawberry.mutation(
        description="Send a delivery's event again (a new delivery, signed anew).",
        permission_classes=[IsAuthenticated],
    )
    async def replay_webhook_delivery(
        self, info: Info, input: ReplayWebhookDeliveryInput
    ) -> ReplayWebhookDeliveryPayload:
        async def run() -> dict[str, object]:
            row = await use_cases.replay_delivery(
                info.context,
                delivery_id=decode_id(input.delivery_id, "WebhookDelivery", "deliveryId"),
            )
            return {"delivery_id": strawberry.ID(encode_id("WebhookDelivery", row.id))}

        return await mutate(ReplayWebhookDeliveryPayload, run)


WEBHOOK_TYPES = [WebhookEndpoint, WebhookDelivery]
