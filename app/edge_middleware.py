"""The outermost layer of every HTTP request: body size cap, security headers, outages.

- **Body size**: a request whose `Content-Length` is over `max_body_bytes` is refused with
  413 before a byte of it is read; a body without a length (chunked) is counted as it
  arrives and refused the moment it goes over. Nothing downstream ever holds more.
- **Security headers** on every response, refusals included: `X-Content-Type-Options`,
  `Referrer-Policy`, `X-Frame-Options`, a strict `Content-Security-Policy` (with
  `frame-ancestors 'none'`; HTML pages get `security_headers.html_policy`, 'self' only),
  `Cross-Origin-Opener-Policy`, `Cache-Control: no-store` unless the route set one, and
  `Strict-Transport-Security` when `hsts_seconds` is set.
- **Outages**: PostgreSQL or Redis out of reach on any route (the exports too) answers 503
  with a GraphQL-shaped body instead of a bare 500 and a dropped connection.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import edge_http
from config.settings import Settings
from domain.error_codes import ErrorCode
from resolvers.outage import is_outage

PAYLOAD_TOO_LARGE = ErrorCode.PAYLOAD_TOO_LARGE


class BodyTooLarge(Exception):
    """The body went over `max_body_bytes` while it was being read."""


def security_headers(settings: Settings, *, html: bool) -> list[tuple[bytes, bytes]]:
    """The headers every response carries (HTML pages get the 'self'-only policy)."""
    policy = settings.content_security_policy_html if html else settings.content_security_policy
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"content-security-policy", policy.encode("latin-1")),
    ]
    if settings.hsts_seconds > 0:
        value = f"max-age={settings.hsts_seconds}; includeSubDomains"
        headers.append((b"strict-transport-security", value.encode()))
    return headers


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.api_headers = security_headers(settings, html=False)
        self.html_headers = security_headers(settings, html=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                extra = self.html_headers if content_type.startswith(b"text/html") else None
                for name, value in extra or self.api_headers:
                    if name not in names:
                        headers.append((name, value))
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        limit = self.settings.max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit)(scope, receive, send_with_headers)
            return
        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, capped_receive, send_with_headers)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(limit)(scope, receive, send_with_headers)
        except Exception as exc:
            if started or not is_outage(exc):
                raise
            await edge_http.service_unavailable()(scope, receive, send_with_headers)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int) -> Response:
    return edge_http.refusal(
        413, PAYLOAD_TOO_LARGE, f"The request body is over {limit} bytes.", maxBytes=limit
    )
