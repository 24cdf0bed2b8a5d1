"""The audit trail and the transactional outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, BigId, IdMixin, utcnow


class AuditEvent(IdMixin, Base):
    """Who did what, when, with the state before and after. Append-only."""

    __tablename__ = "audit_events"

    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    actor_api_token_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("api_tokens.id"))
    organization_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organizations.id"))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(BigId)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id"),)


class OutboxMessage(IdMixin, Base):
    """A job written in the same transaction as the change that causes it.

    The relay hands it to the broker after commit; the sweeper re-sends what was left
    behind; the actor marks it processed, so a duplicate delivery does nothing.
    """

    __tablename__ = "outbox_messages"

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_name: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Set for effects that must happen once per business fact (e.g. one credit per order).
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    dispatched_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Where the job comes from, for its logs and traces: the request id (and the trace
    # parent) of the request that enqueued it (config.logs.job_context).
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_outbox_messages_pending", "processed_at", "dispatched_at"),
        # An actor's pending rows, newest first: what a batch claims
        # (workers.outbox_batch), whatever other actors have pending (a bid's emails).
        Index(
            "ix_outbox_messages_pending_actor",
            "actor_name",
            "id",
            postgresql_where=text("processed_at IS NULL"),
            sqlite_where=text("processed_at IS NULL"),
        ),
    )
