"""Where the queries registered at run time (automatic persisted queries) live.

- No Redis (the embedded default): an LRU in process memory, per process.
- Redis (`redis_url`): `<redis_namespace>:apq:<sha256>` with a TTL that each hit renews
  (`persisted_queries_ttl_days`), shared by every API process: a hash registered through
  one process is a hit on the others.

Either way a registration is only a cache: a client that meets `PersistedQueryNotFound`
sends its query again (Apollo's protocol). So Redis out of reach (or an entry that is not
what its key says) reads as a miss and a registration that cannot be written is dropped:
never an error for the request, and one warning per outage in the log, no traceback.
After a failure the store leaves Redis alone for REDIS_RETRY_SECONDS, so a frozen Redis
costs one timeout, not one per request.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from typing import Any, Protocol

from redis.exceptions import RedisError

from config.settings import Settings

log = logging.getLogger(__name__)

#: Queries the in-memory store keeps per process (least recently used go first).
MAX_IN_MEMORY = 10_000
#: A registration is only a cache: an APQ request waits at most this long for Redis.
REDIS_TIMEOUT_SECONDS = 1.0
#: After a failure, misses are answered without asking Redis for this long.
REDIS_RETRY_SECONDS = 5.0


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


class AutomaticStore(Protocol):
    async def get(self, digest: str) -> str | None: ...

    async def put(self, digest: str, query: str) -> None: ...

    async def close(self) -> None: ...


class MemoryStore:
    def __init__(self, capacity: int = MAX_IN_MEMORY) -> None:
        self.capacity = capacity
        self._queries: OrderedDict[str, str] = OrderedDict()

    async def get(self, digest: str) -> str | None:
        found = self._queries.get(digest)
        if found is not None:
            self._queries.move_to_end(digest)
        return found

    async def put(self, digest: str, query: str) -> None:
        self._queries[digest] = query
        self._queries.move_to_end(digest)
        while len(self._queries) > self.capacity:
            self._queries.popitem(last=False)

    async def close(self) -> None:
        return None


class RedisStore:
    def __init__(self, client: Any, namespace: str, ttl_seconds: int) -> None:
        self.client = client
        self.prefix = f"{namespace}:apq:"
        self.ttl_seconds = ttl_seconds
        self._reachable = True
        self._retry_at = 0.0  # time.monotonic() before which Redis is not asked

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisStore:
        from redis.asyncio import Redis

        assert settings.redis_url is not None
        client = Redis.from_url(
            settings.redis_url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        ttl = settings.persisted_queries_ttl_days * 86_400
        return cls(client, settings.redis_namespace, ttl)

    async def get(self, digest: str) -> str | None:
        if self._resting():
            return None
        try:
            # GETEX renews the TTL in the same round trip: a query in use never expires.
            raw = await self.client.getex(self.prefix + digest, ex=self.ttl_seconds)
        except (RedisError, OSError) as exc:
            self._out_of_reach(exc)
            return None
        self._in_reach()
        if raw is None:
            return None
        text: str = raw.decode("utf-8", errors="replace")
        if sha256(text) != digest:
            # Not written by this code (which checks the hash first): never run it.
            log.warning("persisted query %s in Redis is not the text of its hash", digest)
            return None
        return text

    async def put(self, digest: str, query: str) -> None:
        if self._resting():
            return
        try:
            await self.client.set(self.prefix + digest, query.encode(), ex=self.ttl_seconds)
        except (RedisError, OSError) as exc:
            self._out_of_reach(exc)
            return
        self._in_reach()

    async def close(self) -> None:
        await self.client.aclose()

    def _resting(self) -> bool:
        return not self._reachable and time.monotonic() < self._retry_at

    def _out_of_reach(self, exc: BaseException) -> None:
        self._retry_at = time.monotonic() + REDIS_RETRY_SECONDS
        if self._reachable:
            self._reachable = False
            log.warning(
                "persisted queries: Redis out of reach (%s: %s); hashes answer as misses "
                "until it is back",
                type(exc).__name__,
                exc,
            )

    def _in_reach(self) -> None:
        if not self._reachable:
            self._reachable = True
            log.info("persisted queries: Redis is back")


def automatic_store(settings: Settings) -> AutomaticStore:
    return RedisStore.from_settings(settings) if settings.redis_url else MemoryStore()
