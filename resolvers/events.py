"""What a use case leaves behind in its transaction: audit events and outbox messages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession

from config.logs import job_context
from db.models import AuditEvent, OutboxMessage

SEND_EMAIL = "send_email"
_AFTER_COMMIT = "after_commit_callbacks"
#: Set in a session's ``info`` by :func:`emit`: the transaction queued outbox rows (a job
#: that queues more kicks the sweeper after its commit: ``workers.outbox.process_once``).
EMITTED = "outbox_rows_emitted"
#: Audited actions that end a session or a token, or change a membership: live
#: subscriptions check their credentials (and memberships) again at once.
REVOKING_ACTIONS = frozenset(
    {
        "session.end",
        "session.logout",
        "session.logout_everywhere",
        "api_token.revoke",
        "user.password_reset",
        "user.change_password",
        # Memberships decide what a subscriber receives: a change is checked at once.
        "member.remove",
        "member.leave",
        "member.change_role",
        "member.join",
    }
)
logger = logging.getLogger(__name__)


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction commits (never if it rolls back).
    Callbacks must not raise or block (e.g. publish to the live event bus)."""
    callbacks: list[Callable[[], None]] | None = session.info.get(_AFTER_COMMIT)
    if callbacks is None:
        callbacks = session.info[_AFTER_COMMIT] = []
        sync = session.sync_session

        def committed(_: object) -> None:
            todo = list(session.info.get(_AFTER_COMMIT, []))
            session.info[_AFTER_COMMIT] = []
            for fn in todo:
                try:
                    fn()
                except Exception:
                    logger.exception("after-commit callback failed")

        def rolled_back(_: object, __: object) -> None:
            session.info[_AFTER_COMMIT] = []

        sa_event.listen(sync, "after_commit", committed)
        sa_event.listen(sync, "after_soft_rollback", rolled_back)
    callbacks.append(callback)


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
    if action in REVOKING_ACTIONS:
        from resolvers.subscriptions.bus import publish_revocation

        after_commit(session, publish_revocation)
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
    queued_jobs(session)
    return message


def queued_jobs(session: AsyncSession) -> None:
    """Note that the session's transaction queued outbox rows (:func:`emit` does; call it
    after inserting rows in bulk)."""
    session.info[EMITTED] = True


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
