"""One log line per HTTP request (pure ASGI middleware: no per-request task or copy).

The request gets an id (a sane ``X-Request-ID`` from a trusted front is kept, otherwise a
new one), answered in the ``x-request-id`` header and bound to every line logged while it
runs (and to the jobs it enqueues, through the outbox row's context). When the response is
sent, the line: method, path, status, duration, operation name and type, the viewer's user
and organization, and the error codes of the answer (``config.logs.RequestRecord``).
Probes (``/healthz``, ``/readyz``, ``/metrics``) are logged at DEBUG only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.logs import RequestRecord, begin_request, end_request, new_id

log = structlog.get_logger("partnergraph.request")

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})

#: Called with the finished record of every request (metrics, ...). Must not raise.
RequestObserver = Callable[[RequestRecord], None]


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp, observers: Iterable[RequestObserver] = ()) -> None:
        self.app = app
        self.observers = tuple(observers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _SANE_ID.match(incoming) else new_id()
        record = RequestRecord(
            request_id=request_id, method=scope.get("method", ""), path=scope.get("path", "")
        )
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        token = begin_request(record)
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            if record.status is None:
                record.status = 500
            raise
        finally:
            try:
                self._finish(record)
            finally:
                end_request(token)

    def _finish(self, record: RequestRecord) -> None:
        if record.path in PROBES:
            log.debug("request", **record.fields())
        elif record.status is not None and record.status >= 500:
            log.warning("request", **record.fields())
        else:
            log.info("request", **record.fields())
        for observe in self.observers:
            observe(record)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            try:
                return str(value.decode("latin-1"))
            except UnicodeDecodeError:
                return None
    return None
