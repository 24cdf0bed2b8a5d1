"""Idempotency keys: the first answer of a mutation sent with an `Idempotency-Key`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, CreatedMixin, IdMixin


class IdempotencyKey(IdMixin, CreatedMixin, Base):
    """One key of one principal: the request's fingerprint and, once it ran, its answer.

    ``response`` is NULL while the first request runs: a concurrent one with the same key
    waits for it (or is told it is in progress), never runs it twice.
    """

    __tablename__ = "idempotency_keys"

    # "user:<id>", "token:<id>" or "anonymous:<address>": whose key it is.
    principal: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the operation (document, operation name, variables).
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    completed_at: Mapped[datetime | None]
    expires_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (Index("uq_idempotency_keys_principal_key", "principal", "key", unique=True),)
