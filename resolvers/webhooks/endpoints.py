"""Webhook endpoint use cases: create (the secret shown once), update, rotate the secret,
delete, replay a delivery. Legal representatives only; each one audited, in one
transaction."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import WebhookDelivery, WebhookEndpoint, WebhookEndpointStatus
from db.session import transaction
from domain.webhooks import MAX_DESCRIPTION, may_manage_webhooks, validate_kinds
from resolvers.auth import require_writer
from resolvers.context import RequestContext
from resolvers.errors import FORBIDDEN, UseCaseError, not_found
from resolvers.events import emit, record_audit
from resolvers.validation import clean_text
from resolvers.webhooks.queueing import DISPATCH_WEBHOOK
from resolvers.webhooks.targets import check_url


def new_signing_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str


def _snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What the audit trail keeps of an endpoint (never a secret)."""
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_kinds": list(endpoint.event_kinds),
        "status": endpoint.status.value,
    }


def _require_manager(ctx: RequestContext, organization_id: int) -> None:
    role = ctx.viewer.role_in(organization_id)
    if role is None:
        raise not_found("organizationId")
    if not may_manage_webhooks(role):
        raise UseCaseError(
            FORBIDDEN, "Only a legal representative manages webhooks.", "organizationId"
        )


async def _managed_endpoint(
    session: AsyncSession, ctx: RequestContext, endpoint_id: int
) -> WebhookEndpoint:
    """The endpoint, locked, if the viewer manages it; else NOT_FOUND (as a missing one)."""
    endpoint = await session.scalar(
        select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).with_for_update()
    )
    if endpoint is None or not may_manage_webhooks(ctx.viewer.role_in(endpoint.organization_id)):
        raise not_found("endpointId")
    return endpoint


def _audit(
    session: AsyncSession,
    ctx: RequestContext,
    action: str,
    endpoint: WebhookEndpoint,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    record_audit(
        session,
        action=f"webhook.{action}",
        subject_type="WebhookEndpoint",
        subject_id=endpoint.id,
        actor_user_id=ctx.viewer.user_id,
        actor_api_token_id=ctx.viewer.api_token_id,
        organization_id=endpoint.organization_id,
        before=before,
        after=after,
    )


def _description(value: str | None) -> str:
    if not value:
        return ""
    return clean_text(value, "description", max_length=MAX_DESCRIPTION, required=False) or ""


async def create_endpoint(
    ctx: RequestContext,
    *,
    organization_id: int,
    url: str,
    event_kinds: list[str],
    description: str | None,
) -> EndpointWithSecret:
    require_writer(ctx)
    _require_manager(ctx, organization_id)
    clean_url = await check_url(url, ctx.settings)
    kinds = validate_kinds(event_kinds)
    secret = new_signing_secret()
    async with transaction(ctx.services.sessionmaker) as session:
        endpoint = WebhookEndpoint(
            organization_id=organization_id,
            url=clean_url,
            description=_description(description),
            event_kinds=kinds,
            status=WebhookEndpointStatus.ENABLED,
            secret=secret,
            created_by_user_id=ctx.viewer.user_id,
            created_at=ctx.now(),
        )
        session.add(endpoint)
        await session.flush()
        _audit(session, ctx, "create", endpoint, None, _snapshot(endpoint))
    return EndpointWithSecret(endpoint, secret)


async def update_endpoint(
    ctx: RequestContext,
    *,
    endpoint_id: int,
    url: str | None,
    event_kinds: list[str] | None,
    description: str | None,
    enabled: bool | None,
) -> WebhookEndpoint:
    """Change what is given; ``enabled: true`` turns a disabled endpoint on again."""
    require_writer(ctx)
    clean_url = await check_url(url, ctx.settings) if url is not None else None
    kinds = validate_kinds(event_kinds) if event_kinds is not None else None
    async with transaction(ctx.services.sessionmaker) as session:
        endpoint = await _managed_endpoint(session, ctx, endpoint_id)
        before = _snapshot(endpoint)
        if clean_url is not None:
            endpoint.url = clean_url
        if kinds is not None:
            endpoint.event_kinds = kinds
        if description is not None:
            endpoint.description = _description(description)
        if enabled is True and endpoint.status is WebhookEndpointStatus.DISABLED:
            endpoint.status = WebhookEndpointStatus.ENABLED
            endpoint.disabled_at = None
            endpoint.failing_since = None
        elif enabled is False and endpoint.status is WebhookEndpointStatus.ENABLED:
            endpoint.status = WebhookEndpointStatus.DISABLED
            endpoint.disabled_at = ctx.now()
        await session.flush()
        _audit(session, ctx, "update", endpoint, before, _snapshot(endpoint))
    return endpoint


async def rotate_secret(ctx: RequestContext, *, endpoint_id: int) -> EndpointWithSecret:
    """A new secret, shown once; the previous one still signs for the overlap (24 h)."""
    require_writer(ctx)
    secret = new_signing_secret()
    async with transaction(ctx.services.sessionmaker) as session:
        endpoint = await _managed_endpoint(session, ctx, endpoint_id)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = ctx.now() + timedelta(
            hours=ctx.settings.webhook_secret_overlap_hours
        )
        endpoint.secret = secret
        await session.flush()
        snapshot = _snapshot(endpoint)
        _audit(
            session,
            ctx,
            "rotate_secret",
            endpoint,
            snapshot,
            {
                **snapshot,
                "previous_secret_expires_at": endpoint.previous_secret_expires_at.isoformat(),
            },
        )
    return EndpointWithSecret(endpoint, secret)


async def delete_endpoint(ctx: RequestContext, *, endpoint_id: int) -> int:
    require_writer(ctx)
    async with transaction(ctx.services.sessionmaker) as session:
        endpoint = await _managed_endpoint(session, ctx, endpoint_id)
        _audit(session, ctx, "delete", endpoint, _snapshot(endpoint), None)
        await session.delete(endpoint)
    return endpoint_id


async def replay_delivery(ctx: RequestContext, *, delivery_id: int) -> WebhookDelivery:
    """Send a delivery's event again, as a new delivery (after the object's earlier ones)."""
    require_writer(ctx)
    async with transaction(ctx.services.sessionmaker) as session:
        original = await session.get(WebhookDelivery, delivery_id)
        if original is None:
            raise not_found("deliveryId")
        endpoint = await _managed_endpoint(session, ctx, original.endpoint_id)
        replay = WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id=original.event_id,
            ordering_key=original.ordering_key,
            replay_of_id=original.id,
            created_at=ctx.now(),
        )
        session.add(replay)
        await session.flush()
        emit(session, DISPATCH_WEBHOOK, {"delivery_id": replay.id})
        _audit(
            session,
            ctx,
            "replay",
            endpoint,
            None,
            {"delivery_id": original.id, "replay_id": replay.id},
        )
    ctx.services.after_commit()
    return replay
