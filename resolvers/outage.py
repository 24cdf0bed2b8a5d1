"""Is this exception a backing service (PostgreSQL, Redis) out of reach?

Such a failure is not a bug of the request: the API answers HTTP 503 with
`extensions.code = SERVICE_UNAVAILABLE` (and logs it without a traceback), and the next
request, once the service is back, works again.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from domain.error_codes import ErrorCode
from resolvers.throttling import ThrottleStorageDown

SERVICE_UNAVAILABLE = ErrorCode.SERVICE_UNAVAILABLE

_OUTAGES: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionRefusedError, socket errors, ConnectionResetError
    asyncio.TimeoutError,
    PoolTimeout,
    OperationalError,
    InterfaceError,
    ThrottleStorageDown,
)


def is_outage(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _OUTAGES):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if type(current).__module__.startswith(("redis.", "asyncpg.")) and (
            "Connection" in type(current).__name__ or "CannotConnect" in type(current).__name__
        ):
            return True
        current = current.__cause__ or current.__context__
    return False
