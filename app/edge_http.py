"""How the GraphQL endpoint answers at the HTTP level when a request is refused.

Every refusal has a JSON body shaped like a GraphQL response (`errors[0].extensions.code`),
never plain text and never a dropped connection:

- a whole request refused for throttling: 429 with `Retry-After`;
- a database or Redis out of reach (in a resolver or while building the context): 503;
- a body strawberry cannot read (bad JSON, bad method): its 4xx status, JSON body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response

from config.settings import Settings
from domain.error_codes import ErrorCode
from resolvers.outage import SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE
from resolvers.throttling import THROTTLED


def graphql_error_body(code: str, message: str, **extensions: Any) -> dict[str, Any]:
    return {
        "data": None,
        "errors": [{"message": message, "extensions": {"code": code, **extensions}}],
    }


def refusal(status: int, code: str, message: str, **extensions: Any) -> Response:
    headers = {}
    if "retryAfterSeconds" in extensions:
        headers["retry-after"] = str(extensions["retryAfterSeconds"])
    return JSONResponse(
        graphql_error_body(code, message, **extensions), status_code=status, headers=headers
    )


def service_unavailable() -> Response:
    return refusal(503, SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE)


def client_ip(connection: HTTPConnection, settings: Settings) -> str | None:
    """The caller's address: the trusted proxy's header when one is configured, else the peer."""
    if settings.client_ip_header:
        forwarded = connection.headers.get(settings.client_ip_header)
        if forwarded:
            hops = [part.strip() for part in forwarded.split(",") if part.strip()]
            if hops:
                # Each trusted proxy appends the address it saw: what the outermost trusted
                # one saw is the client; anything further left the client could have forged.
                return hops[max(0, len(hops) - settings.trusted_proxy_hops)]
    return connection.client.host if connection.client else None


def _codes(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    errors = body.get("errors") or []
    return [e.get("extensions") or {} for e in errors if isinstance(e, Mapping)]


def _answered_nothing(body: Mapping[str, Any]) -> bool:
    data = body.get("data")
    return data is None or (isinstance(data, Mapping) and all(v is None for v in data.values()))


def refusal_status(
    response_data: Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> tuple[int | None, dict[str, str]]:
    """The HTTP status (and headers) a GraphQL result calls for, None for a plain 200."""
    bodies = [response_data] if isinstance(response_data, Mapping) else list(response_data)
    extensions = [ext for body in bodies for ext in _codes(body)]
    if any(ext.get("code") == SERVICE_UNAVAILABLE for ext in extensions):
        return 503, {}
    throttled = [ext for ext in extensions if ext.get("code") == THROTTLED]
    if throttled and all(_answered_nothing(body) for body in bodies):
        retry = max(int(ext.get("retryAfterSeconds") or 1) for ext in throttled)
        return 429, {"retry-after": str(retry)}
    return None, {}


def http_exception_response(status: int, reason: str) -> Response:
    code = {
        400: ErrorCode.BAD_REQUEST,
        404: ErrorCode.NOT_FOUND,
        405: ErrorCode.METHOD_NOT_ALLOWED,
        413: ErrorCode.PAYLOAD_TOO_LARGE,
        415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    }.get(status, ErrorCode.BAD_REQUEST)
    return refusal(status, code, reason)
