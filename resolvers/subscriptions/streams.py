"""Streams of integration events for one live subscriber.

Each batch of committed event ids from the bus is checked against the subscriber as it
is *now*: each event is kept only if the subscriber may receive it
(``domain.integration_events.subscriber_may_receive``, with the grant's current facts).
Its token or session (and so its memberships) is authenticated again at once when the
bus says a credential or a membership changed, and at least every ``RECHECK_SECONDS``
(revoked: the stream ends with UNAUTHENTICATED).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from sqlalchemy import select

from db.models import IntegrationEvent
from domain.access import BILLING_ROLES, can_see_grant
from domain.integration_events import EventKind, subscriber_may_receive
from resolvers.auth import authenticate
from resolvers.context import RequestContext
from resolvers.errors import UNAUTHENTICATED, UseCaseError
from resolvers.subscriptions.bus import REVOKED, current_bus

#: Credentials are checked again after this long without any event.
RECHECK_SECONDS = 15.0
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


@dataclass(frozen=True)
class Wanted:
    """What a subscription asks for: kinds, and optionally one object."""

    kinds: frozenset[str] | None = None
    subject_type: str | None = None
    subject_id: int | None = None
    organization_id: int | None = None

    def matches(self, event: IntegrationEvent) -> bool:
        return (
            (self.kinds is None or event.kind in self.kinds)
            and (self.subject_type is None or event.subject_type == self.subject_type)
            and (self.subject_id is None or event.subject_id == self.subject_id)
            and (self.organization_id is None or event.organization_id == self.organization_id)
        )


class EventCache:
    """Committed events by id, loaded once per process for all its subscribers."""

    def __init__(self, limit: int = 2_000) -> None:
        self.limit = limit
        self._found: dict[int, asyncio.Future[IntegrationEvent | None]] = {}

    async def get_many(self, ctx: RequestContext, ids: list[int]) -> list[IntegrationEvent]:
        loop = asyncio.get_running_loop()
        missing = [i for i in ids if i not in self._found]
        if missing:
            futures = {i: loop.create_future() for i in missing}
            self._found.update(futures)
            try:
                async with ctx.services.sessionmaker() as session:
                    rows = {
                        e.id: e
                        for e in await session.scalars(
                            select(IntegrationEvent).where(IntegrationEvent.id.in_(missing))
                        )
                    }
                for i, future in futures.items():
                    future.set_result(rows.get(i))
            except BaseException as exc:
                for i, future in futures.items():
                    self._found.pop(i, None)
                    if not future.done():
                        future.set_exception(exc)
                raise
            while len(self._found) > self.limit:
                self._found.pop(next(iter(self._found)))
        found = [await self._found[i] for i in ids if i in self._found]
        return [e for e in found if e is not None]


_cache = EventCache()


async def _may_receive(ctx: RequestContext, event: IntegrationEvent) -> bool:
    role = ctx.viewer.role_in(event.organization_id)
    sees_grant = False
    if role is not None and role not in BILLING_ROLES and event.subject_type == "Grant":
        facts = await ctx.loaders.grant_facts.load(event.subject_id)
        sees_grant = facts is not None and can_see_grant(ctx.viewer, facts)
    return subscriber_may_receive(EventKind(event.kind), role, sees_grant=sees_grant)


#: At most this many subscribers of a process authenticate at once (a revocation wakes them
#: all): the connection pool stays available to requests.
_AUTH_CONCURRENCY = 4
_auth_gates: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


def _auth_gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _auth_gates.get(loop)
    if gate is None:
        gate = _auth_gates[loop] = asyncio.Semaphore(_AUTH_CONCURRENCY)
    return gate


class Credentials:
    """A subscriber's token, authenticated again when the bus says something was revoked
    (logout, a session ended, a token revoked, a password changed, a membership changed)
    and at least every ``RECHECK_SECONDS``."""

    def __init__(self, ctx: RequestContext, token: str | None) -> None:
        self.ctx = ctx
        self.token = token
        self.checked_at = asyncio.get_running_loop().time()

    async def check(self, *, force: bool) -> None:
        now = asyncio.get_running_loop().time()
        if not force and now - self.checked_at < RECHECK_SECONDS:
            return
        async with _auth_gate():
            viewer = await authenticate(self.ctx.services, self.token)
        if viewer is None:
            raise UseCaseError(
                UNAUTHENTICATED, "The session or API token is no longer valid.", None
            )
        self.ctx.act_as(viewer)
        self.checked_at = now


async def event_stream(
    ctx: RequestContext,
    token: str | None,
    wanted: Wanted,
    *,
    on_ready: Callable[[], None] | None = None,
) -> AsyncIterator[IntegrationEvent]:
    """The events the subscriber may receive, as they commit, until it goes away or its
    credentials are revoked."""
    bus = current_bus()
    if bus is None:
        raise UseCaseError(SERVICE_UNAVAILABLE, "Live events are not available here.", None)
    subscriber = bus.fanout.subscribe()
    if on_ready is not None:
        on_ready()
    credentials = Credentials(ctx, token)
    try:
        while True:
            try:
                signal = await asyncio.wait_for(subscriber.queue.get(), RECHECK_SECONDS)
            except TimeoutError:
                signal = REVOKED  # time to check the credentials again
            await credentials.check(force=signal == REVOKED)
            if isinstance(signal, str):
                continue
            ctx.act_as(ctx.viewer)  # fresh loaders: the grants' facts as they are now
            try:
                mine = [
                    e
                    for e in await _cache.get_many(ctx, signal)
                    if ctx.viewer.is_member(e.organization_id) and wanted.matches(e)
                ]
                for event in mine:
                    if await _may_receive(ctx, event):
                        yield event
            finally:
                await ctx.close()  # no read connection held between events
    finally:
        bus.fanout.unsubscribe(subscriber)
