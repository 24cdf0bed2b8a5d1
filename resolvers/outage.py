"""Is this exception a backing service (PostgreSQL, Redis) out of reach?

Such a failure is not a bug of the request: the API answers HTTP 503 with
`extensions.code = SERVICE_UNAVAILABLE` (and logs it without a traceback), and the next
request, once the service is back, works again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from domain.error_codes import ErrorCode
from resolvers.throttling import ThrottleStorageDown

SERVICE_UNAVAILABLE = ErrorCode.SERVICE_UNAVAILABLE
#: What a client reads then (never the driver's message: it names hosts and ports).
UNAVAILABLE_MESSAGE = "The service is unavailable for a moment. Try again."

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
            "Connection" in type(current).__name__
            or "CannotConnect" in type(current).__name__
            or "Timeout" in type(current).__name__
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


class OutageLog:
    """What a background loop logs while a backing service is out of reach: one line when
    the outage starts (no traceback: it is not a bug), a reminder with the count at most
    every `every` seconds, and one line when it ends. A failure that is not an outage is
    a bug and keeps its traceback, every time.

    Without it a listener that retries every second, or a publish per committed change,
    writes a traceback per attempt for as long as Redis is down."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.what = what
        self.every = every
        self.clock = clock
        self.failures = 0
        self._since: float | None = None
        self._reminded = 0.0

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException, detail: str = "") -> None:
        """Note a failure of the loop's step (`detail` names it in a bug's report)."""
        if not is_outage(exc):
            self.logger.error(
                "%s failed%s", self.what, f": {detail}" if detail else "", exc_info=exc
            )
            return
        now = self.clock()
        self.failures += 1
        if self._since is None:
            self._since = self._reminded = now
            self.logger.warning("%s: service unavailable (%s)", self.what, _brief(exc))
        elif now - self._reminded >= self.every:
            self._reminded = now
            self.logger.warning(
                "%s: still unavailable after %d failures in %.0f s (%s)",
                self.what,
                self.failures,
                now - self._since,
                _brief(exc),
            )

    def recovered(self) -> None:
        if self._since is None:
            return
        self.logger.info(
            "%s: service back after %d failures in %.0f s",
            self.what,
            self.failures,
            self.clock() - self._since,
        )
        self._since = None
        self.failures = 0


def _brief(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
