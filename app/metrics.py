"""`/metrics` (Prometheus exposition, when `PARTNERGRAPH_METRICS_ENABLED`), and what each
finished request adds to the metrics (an observer of app.request_log)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from app.runtime import Runtime
from config.logs import RequestRecord
from config.metrics import ERRORS, HTTP_REQUESTS, REQUEST_DURATION, operation_label, render
from workers.outbox_ops import outbox_status, publish

log = logging.getLogger(__name__)

_ROUTES = ("/graphql", "/exports", "/healthz", "/readyz", "/metrics")


def _route(path: str) -> str:
    for route in _ROUTES:
        if path == route or path.startswith(route + "/"):
            return route
    return "other"


def observe_request(record: RequestRecord) -> None:
    route = _route(record.path)
    HTTP_REQUESTS.labels(route, str(record.status or 0)).inc()
    if route == "/graphql":
        REQUEST_DURATION.labels(
            operation_label(record.operation_name), record.operation_type or "none"
        ).observe(record.duration_ms() / 1000)
    for code in record.error_codes:
        ERRORS.labels(code).inc()


def metrics_endpoint(runtime: Runtime):  # type: ignore[no-untyped-def]
    async def metrics(request: Request) -> Response:
        try:
            publish(await outbox_status(runtime.services.sessionmaker))
        except Exception as exc:  # the database down: the rest of the metrics still answer
            log.warning("metrics: outbox backlog not measured (%s)", type(exc).__name__)
        body, content_type = render()
        return Response(body, media_type=content_type)

    return metrics
