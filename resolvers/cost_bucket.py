"""The query-cost leaky bucket (Shopify's GraphQL Admin API model).

Each caller has a bucket of `cost_bucket_size` points that refills at `cost_restore_rate`
points a second. A query takes its requested cost before it runs (refused with THROTTLED
and `retryAfterSeconds` when the bucket holds less) and gets back the difference between
what it requested and what it actually cost once it has run.

A caller is its API token or its login session; an anonymous caller its client IP. The
buckets live in Redis when `REDIS_URL` is set (one Lua script per take, so every API
process shares them atomically), in process memory otherwise. Time is the service clock,
so tests move it instead of sleeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from config.settings import Settings
from resolvers.throttling import ThrottleStorageDown, _subject

if TYPE_CHECKING:
    from resolvers.context import RequestContext

# KEYS[1] the bucket; ARGV: size, rate, now, cost, refund (1 = give back, never refused).
_SCRIPT = """
local size = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'a', 't')
local available = tonumber(state[1]) or size
local at = tonumber(state[2]) or now
if now > at then available = math.min(size, available + (now - at) * rate) end
local ok = 1
if ARGV[5] == '1' then
  available = math.min(size, available + cost)
elseif cost > available then
  ok = 0
else
  available = available - cost
end
redis.call('HSET', KEYS[1], 'a', tostring(available), 't', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(size / rate) + 60)
return {ok, tostring(available)}
"""


@dataclass(frozen=True)
class BucketStatus:
    ok: bool
    available: float
    maximum: int
    restore_rate: float
    # Seconds until the refused cost fits (0 when ok).
    retry_after_seconds: int = 0

    def as_extension(self) -> dict[str, Any]:
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": int(self.available),
            "restoreRate": self.restore_rate,
        }


class CostBucket:
    def __init__(self, settings: Settings, redis: Any | None = None) -> None:
        self.size = settings.cost_bucket_size
        self.rate = settings.cost_restore_rate
        self.redis = redis
        self.prefix = f"{settings.redis_namespace}:cost"
        self.script = redis.register_script(_SCRIPT) if redis is not None else None
        self.memory: dict[str, tuple[float, float]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> CostBucket:
        if not settings.redis_url:
            return cls(settings)
        from redis.asyncio import Redis

        client = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        return cls(settings, client)

    async def take(self, subject: str, cost: int, now: float) -> BucketStatus:
        return await self._apply(subject, cost, now, refund=False)

    async def give_back(self, subject: str, amount: int, now: float) -> BucketStatus:
        return await self._apply(subject, max(0, amount), now, refund=True)

    async def _apply(self, subject: str, cost: int, now: float, *, refund: bool) -> BucketStatus:
        key = f"{self.prefix}:{subject}"
        if self.script is not None:
            try:
                ok, text = await self.script(
                    keys=[key], args=[self.size, self.rate, now, cost, "1" if refund else "0"]
                )
            except Exception as exc:  # Redis out of reach: the request answers 503
                raise ThrottleStorageDown(str(exc)) from exc
            allowed, available = bool(int(ok)), float(text)
        else:
            available, at = self.memory.get(key, (float(self.size), now))
            if now > at:
                available = min(self.size, available + (now - at) * self.rate)
            allowed = True
            if refund:
                available = min(self.size, available + cost)
            elif cost > available:
                allowed = False
            else:
                available -= cost
            self.memory[key] = (available, now)
        retry = 0 if allowed else max(1, math.ceil((cost - available) / self.rate))
        return BucketStatus(allowed, available, self.size, self.rate, retry)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


def bucket_subject(ctx: RequestContext) -> str:
    """Whose bucket a request draws from: its API token, its session, else its IP."""
    viewer = ctx.viewer
    if viewer.api_token_id is not None:
        return f"token:{viewer.api_token_id}"
    if viewer.session_id is not None:
        return f"session:{viewer.session_id}"
    return f"ip:{_subject(ctx.client_ip or 'unknown')}"
