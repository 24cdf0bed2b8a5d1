"""Throttling of abusable actions: password checks, sign-ups, emails, emailed tokens.

How to throttle a use case (one line, before the work it protects)::

    from resolvers.throttling import Limit, throttle

    async def reset_password(ctx: RequestContext, *, email: str, ...) -> None:
        await throttle(ctx, Limit.EMAIL, account=email)   # before any lookup or send
        ...

`throttle` counts one attempt against every dimension of the limit kind that applies:

- the client IP of the request (`ctx.client_ip`; behind a proxy see the setting
  `client_ip_header`),
- the API token of the request, when it carries one,
- the account: `account=` when the attempt targets an account the caller names (the email
  of a login, of a reset, of an invitee), else the logged-in person.

When any dimension is over its limit it raises `Throttled`; the API answers the field with
a GraphQL error `extensions { code: "THROTTLED" retryAfterSeconds }` (HTTP 429 when nothing
else in the request answered). Refused attempts count too, so hammering never shortens the
wait. Call it before the expensive or revealing work (the password check, the lookup, the
email), and in the use case, not the schema, so every path to the action is covered.

The kinds (`Limit`) and their settings (`throttle_<kind>_<dimension>`, in the
`limits` notation, e.g. "5/minute;20/hour"; an empty string switches a dimension off):

| kind | what calls it |
|---|---|
| `PASSWORD` | login, stopCollaboration, password changes: every check of a password |
| `SIGN_UP` | signUp |
| `EMAIL` | every mutation that sends an email (invitations, resends, bids, verification, reset) |
| `EMAILED_TOKEN` | redeeming a token that was emailed (verification, reset, invitation links) |

Counts live in Redis (`PARTNERGRAPH_REDIS_URL`, keys under `settings.redis_namespace`), so
every API process shares them; with no Redis, in process memory. Windows are fixed and
numbered by the service clock (`Services.clock`), so a test that moves its clock moves the
windows, with no sleeping.
"""

from __future__ import annotations

import enum
import hashlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage

from config.metrics import THROTTLED as THROTTLED_CALLS
from config.settings import Settings
from domain.error_codes import ErrorCode

if TYPE_CHECKING:
    from resolvers.context import RequestContext


class Limit(enum.Enum):
    """A kind of abusable action; each has its limits per dimension in the settings."""

    PASSWORD = "password"
    SIGN_UP = "sign_up"
    EMAIL = "email"
    EMAILED_TOKEN = "emailed_token"


class Dimension(enum.Enum):
    """Who an attempt is counted against."""

    ACCOUNT = "account"
    IP = "ip"
    TOKEN = "token"


THROTTLED = ErrorCode.THROTTLED


class Throttled(Exception):
    """Too many attempts: answered as a GraphQL error with `retryAfterSeconds`."""

    code = THROTTLED

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Too many attempts. Try again in {retry_after_seconds} seconds.")
        self.message = str(self)
        self.retry_after_seconds = retry_after_seconds


class ThrottleStorageDown(Exception):
    """The counter store could not be reached: the request answers 503, nothing is done."""


def _limits_of(settings: Settings, limit: Limit, dimension: Dimension) -> list[RateLimitItem]:
    text = getattr(settings, f"throttle_{limit.value}_{dimension.value}")
    assert isinstance(text, str)
    return parse_many(text) if text.strip() else []


@dataclass(frozen=True)
class Attempt:
    """One counted dimension of an attempt: which limits, and whose counter."""

    limit: Limit
    dimension: Dimension
    subject: str


class Throttler:
    """Fixed windows counted in a `limits` storage, numbered by the service clock."""

    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings = settings
        self.storage = storage
        self.prefix = "throttle"  # RedisStorage puts the namespace before it
        self.items = {
            (limit, dimension): _limits_of(settings, limit, dimension)
            for limit in Limit
            for dimension in Dimension
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttler:
        if settings.redis_url:
            storage: Storage = RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                key_prefix=settings.redis_namespace,
                wrap_exceptions=True,
                socket_timeout=2,
                socket_connect_timeout=2,
            )
        else:
            storage = MemoryStorage()
        return cls(settings, storage)

    async def hit(self, attempts: list[Attempt], now: float) -> None:
        """Count each attempt in each of its windows; raise `Throttled` if any is over."""
        retry_after = 0.0
        refused_kind = ""
        for attempt in attempts:
            for item in self.items[(attempt.limit, attempt.dimension)]:
                period = item.get_expiry()
                window = math.floor(now / period)
                key = (
                    f"{self.prefix}:{attempt.limit.value}:{attempt.dimension.value}:"
                    f"{attempt.subject}:{item.amount}/{period}:{window}"
                )
                try:
                    count = await self.storage.incr(key, period)
                except Exception as exc:  # the storage's connection errors, wrapped
                    raise ThrottleStorageDown(str(exc)) from exc
                if count > item.amount:
                    retry_after = max(retry_after, (window + 1) * period - now)
                    refused_kind = attempt.limit.value
        if retry_after > 0:
            THROTTLED_CALLS.labels(refused_kind).inc()
            raise Throttled(max(1, math.ceil(retry_after)))


def _subject(value: str | int) -> str:
    # Emails and addresses never appear in Redis keys as such.
    return hashlib.sha256(str(value).strip().lower().encode()).hexdigest()[:32]


def attempts_of(ctx: RequestContext, limit: Limit, account: str | int | None) -> list[Attempt]:
    found: list[Attempt] = []
    if ctx.client_ip:
        found.append(Attempt(limit, Dimension.IP, _subject(ctx.client_ip)))
    if ctx.viewer.api_token_id is not None:
        found.append(Attempt(limit, Dimension.TOKEN, _subject(ctx.viewer.api_token_id)))
    if account is None and ctx.viewer.user_id is not None:
        account = f"user:{ctx.viewer.user_id}"
    if account is not None:
        found.append(Attempt(limit, Dimension.ACCOUNT, _subject(account)))
    return found


async def throttle(ctx: RequestContext, limit: Limit, *, account: str | int | None = None) -> None:
    """Count one attempt of `limit` by this request; raise `Throttled` when over a limit."""
    await ctx.services.throttler.hit(attempts_of(ctx, limit, account), ctx.now().timestamp())
