"""What a use case leaves behind in its transaction: audit events and outbox messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config.logs import job_context
from db.models import AuditEvent, OutboxMessage

SEND_EMAIL = "send_email"


def record_audit(
    session: AsyncSession,
    *,
    action: str,
    subject_type: str,
    subject_id: int,
    actor_user_id: int | None,
    actor_api_token_id: int | None = None,
    organization_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        actor_user_id=actor_user_id,
        actor_api_token_id=actor_api_token_id,
        organization_id=organization_id,
        before=before,
        after=after,
    )
    session.add(event)
    return event


def emit(
    session: AsyncSession,
    actor_name: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    """Queue a background job in the caller's transaction; it runs only if that commits.

    Payloads are JSON: IDs, strings and integer minor units, never Decimal or float.
    The row also keeps where it comes from (the request id, the trace): the job's logs and
    spans carry it.
    """
    message = OutboxMessage(
        actor_name=actor_name,
        payload=payload,
        dedupe_key=dedupe_key,
        context=job_context() or None,
    )
    session.add(message)
    return message


def emit_email(
    session: AsyncSession,
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    dedupe_key: str | None = None,
) -> OutboxMessage:
    """Queue one email (one recipient) rendered from `workers/templates/<template>.{txt,html}`."""
    return emit(
        session,
        SEND_EMAIL,
        {"to": to, "template": template, "context": context},
        dedupe_key=dedupe_key,
    )
