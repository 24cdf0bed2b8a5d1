"""Attempting one webhook delivery: claim it, POST it signed, record the outcome.

One attempt is three steps, so that no database transaction stays open across the HTTP
call: :func:`claim` (a short transaction: the delivery is due, its endpoint enabled, no
earlier delivery of the same object to that endpoint is still pending, and no other
worker holds it; it is leased for the attempt), :func:`post` (no database), and
:func:`record` (a short transaction: the outcome, the next attempt, the endpoint's
failing time, disabling it after 3 days with an email to its legal representatives).
:func:`record` answers what to send next: the same delivery later (a retry), or the
object's next delivery at once (order per object).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook

from config.settings import Settings
from db.models import (
    IntegrationEvent,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEndpointStatus,
)
from db.queries import legal_representative_emails, organization_name
from db.session import transaction
from domain.webhooks import (
    SUCCESS_STATUSES,
    WebhookError,
    check_target,
    next_attempt_at,
    should_disable,
    signing_secrets,
)
from resolvers.events import emit_email, record_audit
from resolvers.links import webhooks_url
from resolvers.webhooks.targets import resolve_host

LEASE_MARGIN = timedelta(seconds=30)
_ERROR_MAX = 500
USER_AGENT = "partnergraph-webhooks/1"


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    endpoint_id: int
    url: str
    msg_id: str
    body: str
    secrets: list[str]


@dataclass(frozen=True)
class Outcome:
    http_status: int | None
    duration_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.http_status is not None and self.http_status in SUCCESS_STATUSES


@dataclass
class FollowUp:
    """What the worker sends after an attempt: deliveries due now, and a retry later."""

    now: list[int] = field(default_factory=list)
    retry: tuple[int, datetime] | None = None


async def _lock(session: AsyncSession, delivery_id: int) -> WebhookDelivery | None:
    if session.get_bind().dialect.name == "sqlite":
        # Take SQLite's write lock first (see workers.outbox._lock_message).
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(attempts=WebhookDelivery.attempts)
            .execution_options(synchronize_session=False)
        )
    return await session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update()
    )


async def _earlier_pending(session: AsyncSession, delivery: WebhookDelivery) -> bool:
    found = await session.scalar(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.endpoint_id == delivery.endpoint_id,
            WebhookDelivery.ordering_key == delivery.ordering_key,
            WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
            WebhookDelivery.id < delivery.id,
        )
        .limit(1)
    )
    return found is not None


def body_of(payload: dict[str, object]) -> str:
    """The exact bytes signed and sent: compact JSON."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    delivery_id: int,
    *,
    now: datetime,
    settings: Settings,
) -> Attempt | None:
    """The attempt to make now, or None: not due, done, blocked by an earlier delivery of
    the same object, endpoint disabled, or held by another worker."""
    async with transaction(sessionmaker) as session:
        delivery = await _lock(session, delivery_id)
        if delivery is None or delivery.status is not WebhookDeliveryStatus.PENDING:
            return None
        if delivery.lease_until is not None and delivery.lease_until > now:
            return None
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
            return None
        endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is None or endpoint.status is not WebhookEndpointStatus.ENABLED:
            return None
        if await _earlier_pending(session, delivery):
            return None
        event = await session.get(IntegrationEvent, delivery.event_id)
        assert event is not None
        delivery.lease_until = (
            now + timedelta(seconds=settings.webhook_timeout_seconds) + LEASE_MARGIN
        )
        return Attempt(
            delivery_id=delivery.id,
            endpoint_id=endpoint.id,
            url=endpoint.url,
            msg_id=event.event_key,
            body=body_of(event.payload),
            secrets=signing_secrets(
                endpoint.secret,
                endpoint.previous_secret,
                endpoint.previous_secret_expires_at,
                now,
            ),
        )


def signed_headers(attempt: Attempt, timestamp: datetime) -> dict[str, str]:
    """Standard Webhooks headers; after a rotation one signature per valid secret."""
    signatures = " ".join(
        Webhook(secret).sign(attempt.msg_id, timestamp, attempt.body) for secret in attempt.secrets
    )
    return {
        "webhook-id": attempt.msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


async def post(
    attempt: Attempt, settings: Settings, client: httpx.AsyncClient | None = None
) -> Outcome:
    """POST the delivery once: a timeout, no redirects (a 3xx is a failure), the target
    checked again (its name may resolve elsewhere now) in production."""
    started = time.perf_counter()

    def done(status: int | None, error: str | None) -> Outcome:
        return Outcome(
            status, int((time.perf_counter() - started) * 1000), error and error[:_ERROR_MAX]
        )

    if settings.production and not settings.webhook_allow_private_targets:
        parts = urlsplit(attempt.url)
        assert parts.hostname is not None
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            check_target(
                await resolve_host(parts.hostname, port), production=True, allow_private=False
            )
        except WebhookError as exc:
            return done(None, exc.message)
    headers = signed_headers(attempt, datetime.now(UTC))
    own = client is None
    http = client or httpx.AsyncClient(
        follow_redirects=False, timeout=settings.webhook_timeout_seconds
    )
    try:
        response = await http.post(
            attempt.url,
            content=attempt.body.encode(),
            headers=headers,
            follow_redirects=False,
            timeout=settings.webhook_timeout_seconds,
        )
        error = None if response.status_code in SUCCESS_STATUSES else f"HTTP {response.status_code}"
        return done(response.status_code, error)
    except httpx.HTTPError as exc:
        return done(None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    finally:
        if own:
            await http.aclose()


async def _next_in_chain(session: AsyncSession, delivery: WebhookDelivery) -> int | None:
    return await session.scalar(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.endpoint_id == delivery.endpoint_id,
            WebhookDelivery.ordering_key == delivery.ordering_key,
            WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
            WebhookDelivery.id > delivery.id,
        )
        .order_by(WebhookDelivery.id)
        .limit(1)
    )


async def _disable(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    now: datetime,
    error: str | None,
    settings: Settings,
) -> None:
    endpoint.status = WebhookEndpointStatus.DISABLED
    endpoint.disabled_at = now
    record_audit(
        session,
        action="webhook.disable",
        subject_type="WebhookEndpoint",
        subject_id=endpoint.id,
        actor_user_id=None,
        organization_id=endpoint.organization_id,
        before={"status": WebhookEndpointStatus.ENABLED.value},
        after={"status": WebhookEndpointStatus.DISABLED.value, "reason": "failing"},
    )
    context = {
        "organization_name": await organization_name(session, endpoint.organization_id) or "",
        "url": endpoint.url,
        "failing_since": endpoint.failing_since.isoformat() if endpoint.failing_since else "",
        "last_error": error or "",
        "settings_url": webhooks_url(settings.public_url),
    }
    for address in await legal_representative_emails(session, endpoint.organization_id):
        emit_email(
            session,
            to=address,
            template="webhook_endpoint_disabled",
            context=context,
            dedupe_key=f"webhook:{endpoint.id}:disabled:{int(now.timestamp())}:{address}"[:200],
        )


async def record(
    sessionmaker: async_sessionmaker[AsyncSession],
    attempt: Attempt,
    outcome: Outcome,
    *,
    now: datetime,
    settings: Settings,
) -> FollowUp:
    follow = FollowUp()
    async with transaction(sessionmaker) as session:
        delivery = await _lock(session, attempt.delivery_id)
        if delivery is None or delivery.status is not WebhookDeliveryStatus.PENDING:
            return follow  # deleted with its endpoint meanwhile
        delivery.attempts += 1
        delivery.last_http_status = outcome.http_status
        delivery.last_duration_ms = outcome.duration_ms
        delivery.last_error = outcome.error
        delivery.last_attempt_at = now
        delivery.lease_until = None
        if outcome.ok:
            delivery.status = WebhookDeliveryStatus.SUCCEEDED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            # No lock on the endpoint row unless it was failing: deliveries to one
            # endpoint do not queue behind each other.
            await session.execute(
                update(WebhookEndpoint)
                .where(
                    WebhookEndpoint.id == delivery.endpoint_id,
                    WebhookEndpoint.failing_since.is_not(None),
                )
                .values(failing_since=None)
                .execution_options(synchronize_session=False)
            )
        else:
            endpoint = await session.get(
                WebhookEndpoint, delivery.endpoint_id, with_for_update=True
            )
            retry_at = next_attempt_at(
                first_attempt_at=delivery.created_at,
                attempts=delivery.attempts,
                now=now,
                delays_seconds=settings.webhook_retry_delays_seconds,
                window=timedelta(hours=settings.webhook_retry_hours),
            )
            delivery.next_attempt_at = retry_at
            if retry_at is None:
                delivery.status = WebhookDeliveryStatus.FAILED
            else:
                follow.retry = (delivery.id, retry_at)
            if endpoint is not None:
                endpoint.failing_since = endpoint.failing_since or now
                if endpoint.status is WebhookEndpointStatus.ENABLED and should_disable(
                    endpoint.failing_since,
                    now,
                    timedelta(hours=settings.webhook_disable_after_hours),
                ):
                    await _disable(session, endpoint, now, outcome.error, settings)
                    follow.retry = None
        if delivery.status is not WebhookDeliveryStatus.PENDING:
            following = await _next_in_chain(session, delivery)
            if following is not None:
                follow.now.append(following)
    return follow


async def attempt_delivery(
    sessionmaker: async_sessionmaker[AsyncSession],
    delivery_id: int,
    *,
    settings: Settings,
    now: datetime | None = None,
    client: httpx.AsyncClient | None = None,
) -> FollowUp:
    """Claim, post and record one delivery; what to send next (nothing if not claimed)."""
    moment = now or datetime.now(UTC)
    attempt = await claim(sessionmaker, delivery_id, now=moment, settings=settings)
    if attempt is None:
        return FollowUp()
    outcome = await post(attempt, settings, client)
    return await record(
        sessionmaker, attempt, outcome, now=now or datetime.now(UTC), settings=settings
    )


async def due_deliveries(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime, limit: int = 500
) -> list[int]:
    """Pending deliveries due and not held (a lost message, an endpoint enabled again):
    the first pending one of each object and endpoint, oldest first."""
    async with sessionmaker() as session:
        rows = await session.execute(
            select(WebhookDelivery.id, WebhookDelivery.endpoint_id, WebhookDelivery.ordering_key)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
                WebhookEndpoint.status == WebhookEndpointStatus.ENABLED,
                (WebhookDelivery.next_attempt_at.is_(None))
                | (WebhookDelivery.next_attempt_at <= now),
                (WebhookDelivery.lease_until.is_(None)) | (WebhookDelivery.lease_until <= now),
            )
            .order_by(WebhookDelivery.id)
            .limit(limit)
        )
        first: dict[tuple[int, str], int] = {}
        for delivery_id, endpoint_id, key in rows:
            first.setdefault((endpoint_id, key), delivery_id)
        return sorted(first.values())
