"""Process-wide services and the per-request context every use case receives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import Settings
from db.models import utcnow
from db.session import RequestSession
from domain.access import ANONYMOUS, Viewer

if TYPE_CHECKING:
    from resolvers.cost_bucket import CostBucket
    from resolvers.loaders.core import BatchLoaders, Loaders
    from resolvers.throttling import Throttler

L = TypeVar("L", bound="BatchLoaders")


@dataclass
class Services:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    # Called after a use case commits outbox messages: relays them to the broker now
    # rather than on the sweeper's next pass. Must never raise.
    after_commit: Callable[[], None] = lambda: None
    clock: Callable[[], datetime] = utcnow
    _throttler: Throttler | None = field(default=None, repr=False)
    _cost_bucket: CostBucket | None = field(default=None, repr=False)

    @property
    def throttler(self) -> Throttler:
        """Counts abusable attempts (resolvers.throttling); made on first use."""
        if self._throttler is None:
            from resolvers.throttling import Throttler

            self._throttler = Throttler.from_settings(self.settings)
        return self._throttler

    @property
    def cost_bucket(self) -> CostBucket:
        """Each caller's query-cost bucket (resolvers.cost_bucket); made on first use."""
        if self._cost_bucket is None:
            from resolvers.cost_bucket import CostBucket

            self._cost_bucket = CostBucket.from_settings(self.settings)
        return self._cost_bucket


@dataclass
class RequestContext:
    services: Services
    viewer: Viewer = ANONYMOUS
    # The raw Authorization header, for logout (which revokes the token it carries).
    request_authorization: str | None = None
    # The one session every loader batch of this request reads through; `close()` ends it.
    db: RequestSession = field(init=False)
    # The caller's address (behind a trusted proxy, from its header): throttling counts it.
    client_ip: str | None = None
    # The request's Idempotency-Key once claimed (resolvers.idempotency): order writes
    # also keep it on the order, as their deprecated `idempotencyKey` input does.
    idempotency_key: str | None = None
    # A websocket's connection_init payload, and the bearer token it carried (live
    # subscriptions authenticate it again for each event).
    connection_params: dict[str, Any] | None = None
    subscription_token: str | None = None
    loaders: Loaders = field(init=False)
    _loader_sets: dict[type[Any], Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        from resolvers.loaders.core import Loaders

        self.db = RequestSession(self.services.sessionmaker)
        self.loaders = Loaders(self.services, self.viewer, self.db)

    def act_as(self, viewer: Viewer) -> None:
        """The caller, once authenticated (before anything is loaded): loaders follow it."""
        from resolvers.loaders.core import Loaders

        self.viewer = viewer
        self._forget_loaders()  # the anonymous caller's, unused (and a cycle each)
        self.loaders = Loaders(self.services, viewer, self.db)

    def loader_set(self, kind: type[L]) -> L:
        """This request's loaders of an area (bids, orders), made on first use."""
        found = self._loader_sets.get(kind)
        if found is None:
            found = self._loader_sets[kind] = kind(self.db)
        assert isinstance(found, kind)
        return found

    async def close(self) -> None:
        """Give back the request's read connection and drop what its loaders cached (the
        owner of the context calls it: for HTTP, `app.asgi` once the answer is sent)."""
        await self.db.close()
        self._forget_loaders()

    def _forget_loaders(self) -> None:
        for loaders in (self.loaders, *self._loader_sets.values()):
            loaders.forget()
        self._loader_sets.clear()

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def now(self) -> datetime:
        return self.services.clock()
