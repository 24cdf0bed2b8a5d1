"""Events for integrations: the events each organization receives, its webhook endpoints
and their deliveries."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, BigId, CreatedMixin, IdMixin, enum_column, utcnow


class IntegrationEvent(IdMixin, Base):
    """One event as one organization receives it: its payload is the object as the graph
    showed it to that organization when the change committed. Append-only.

    The same fact reaching two organizations is two rows sharing ``event_key`` (the
    event id integrations see), each with its own view of the object.
    """

    __tablename__ = "integration_events"

    event_key: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    organization_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE")
    )
    # The object the event is about: deliveries keep its order per object.
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(BigId)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_integration_events_organization", "organization_id", "id"),
        Index(
            "uq_integration_events_key_organization", "event_key", "organization_id", unique=True
        ),
    )


class WebhookEndpointStatus(enum.StrEnum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


class WebhookEndpoint(IdMixin, CreatedMixin, Base):
    """A URL an organization's legal representative registered for chosen event kinds."""

    __tablename__ = "webhook_endpoints"

    organization_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    event_kinds: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[WebhookEndpointStatus] = mapped_column(
        enum_column(WebhookEndpointStatus, "webhook_endpoint_status"),
        default=WebhookEndpointStatus.ENABLED,
    )
    # Standard Webhooks secrets ("whsec_" + base64). After a rotation the previous one
    # still signs (beside the new one) until previous_secret_expires_at.
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None]
    # Since when every attempt failed (None after a success); 3 days of it disables.
    failing_since: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    created_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookDeliveryStatus(enum.StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class WebhookDelivery(IdMixin, CreatedMixin, Base):
    """One event to one endpoint: attempted until it succeeds or 3 days have passed."""

    __tablename__ = "webhook_deliveries"

    endpoint_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("integration_events.id", ondelete="CASCADE")
    )
    # "<subject_type>:<subject_id>": a delivery waits for earlier ones of the same object.
    ordering_key: Mapped[str] = mapped_column(String(80))
    status: Mapped[WebhookDeliveryStatus] = mapped_column(
        enum_column(WebhookDeliveryStatus, "webhook_delivery_status"),
        default=WebhookDeliveryStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_http_status: Mapped[int | None] = mapped_column(Integer)
    last_duration_ms: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    # A worker attempting it holds it until then (a duplicate message waits or skips).
    lease_until: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    replay_of_id: Mapped[int | None] = mapped_column(BigId)

    __table_args__ = (
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_chain", "endpoint_id", "ordering_key", "status", "id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )
