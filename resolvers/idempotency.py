"""Idempotent mutations, as Stripe does them: an ``Idempotency-Key`` with a mutation.

- The first request with a key (per principal: the user, or the API token) claims it by
  inserting a row with its fingerprint (SHA-256 of the document, operation name and
  variables) and no answer yet; it runs; its answer is stored.
- The same key, principal and fingerprint within ``idempotency_ttl_hours`` (24 h) answers
  that stored answer again, without running anything. While the first still runs, a
  second waits for its answer (two at once run once).
- The same key with another fingerprint is ``IDEMPOTENCY_KEY_REUSED``.
- An answer that says nothing ran (an unexpected error, an outage, a throttle) is not
  kept: the key is released and a retry runs.

Anonymous requests (sign-up, login) are not keyed: there is no principal to scope a key to.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import IdempotencyKey
from db.session import transaction
from domain.access import Viewer
from resolvers.commerce.codes import IDEMPOTENCY_KEY_REUSED
from resolvers.commerce.inputs import clean_idempotency_key
from resolvers.context import Services
from resolvers.errors import UseCaseError

IDEMPOTENCY_KEY_IN_PROGRESS = "IDEMPOTENCY_KEY_IN_PROGRESS"
#: Answers that mean nothing ran: the key is released rather than kept.
NOT_RUN_CODES = frozenset({"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "THROTTLED"})
#: How long a second request waits for the first one's answer.
WAIT_SECONDS = 15.0
_POLL_SECONDS = 0.05
#: A claim without an answer for this long was abandoned (its process died): released.
ABANDONED_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class Claim:
    """This request runs the operation and stores its answer under ``row_id``."""

    row_id: int
    key: str


@dataclass(frozen=True)
class Replay:
    """An earlier answer to give again."""

    key: str
    response: dict[str, Any]


def principal_of(viewer: Viewer) -> str | None:
    if viewer.api_token_id is not None:
        return f"token:{viewer.api_token_id}"
    if viewer.user_id is not None:
        return f"user:{viewer.user_id}"
    return None


def fingerprint(query: str | None, operation_name: str | None, variables: Any) -> str:
    canonical = json.dumps(
        {"query": query or "", "operationName": operation_name, "variables": variables or {}},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def begin(
    services: Services, principal: str, raw_key: str, request_hash: str
) -> Claim | Replay:
    """Claim the key, or the earlier answer to replay; UseCaseError if reused or busy."""
    key = clean_idempotency_key(raw_key, field=None)
    assert key is not None
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        now = services.clock()
        try:
            async with transaction(services.sessionmaker) as session:
                row = IdempotencyKey(
                    principal=principal,
                    key=key,
                    request_hash=request_hash,
                    expires_at=now + timedelta(hours=services.settings.idempotency_ttl_hours),
                    created_at=now,
                )
                session.add(row)
                await session.flush()
                return Claim(row.id, key)
        except IntegrityError:
            pass  # taken: by an earlier request, or one running now
        async with services.sessionmaker() as session:
            found = await session.scalar(
                select(IdempotencyKey).where(
                    IdempotencyKey.principal == principal, IdempotencyKey.key == key
                )
            )
        if found is None:
            continue  # released meanwhile: claim it again
        if found.expires_at <= now or (
            found.response is None and found.created_at <= now - ABANDONED_AFTER
        ):
            await _release(services, found.id)
            continue
        if found.request_hash != request_hash:
            raise UseCaseError(
                IDEMPOTENCY_KEY_REUSED,
                "This Idempotency-Key was used with another request.",
                None,
            )
        if found.response is not None:
            return Replay(key, found.response)
        if asyncio.get_running_loop().time() >= deadline:
            raise UseCaseError(
                IDEMPOTENCY_KEY_IN_PROGRESS,
                "A request with this Idempotency-Key is still running; retry later.",
                None,
            )
        await asyncio.sleep(_POLL_SECONDS)


def ran(response: dict[str, Any]) -> bool:
    codes = {(error.get("extensions") or {}).get("code") for error in response.get("errors") or []}
    return not codes & NOT_RUN_CODES


async def complete(services: Services, claim: Claim, response: dict[str, Any]) -> None:
    """Keep the answer (or release the key when nothing ran)."""
    if not ran(response):
        await _release(services, claim.row_id)
        return
    async with transaction(services.sessionmaker) as session:
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == claim.row_id)
            .values(response=response, completed_at=services.clock())
        )


async def _release(services: Services, row_id: int) -> None:
    async with transaction(services.sessionmaker) as session:
        await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row_id))


async def release(services: Services, claim: Claim) -> None:
    await _release(services, claim.row_id)


async def purge_expired(sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Delete keys past their 24 hours (a scheduled sweep); how many."""
    async with transaction(sessionmaker) as session:
        result = await session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now)
        )
    return int(getattr(result, "rowcount", 0) or 0)
