"""Where a webhook may be sent: the URL's host resolved and checked (SSRF, production)."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

from config.settings import Settings
from domain.webhooks import check_target, validate_url


async def resolve_host(host: str, port: int) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


async def check_url(url: str, settings: Settings) -> str:
    """The cleaned URL, or a WebhookError: malformed, or (in production) internal."""
    url = validate_url(url)
    if settings.production and not settings.webhook_allow_private_targets:
        parts = urlsplit(url)
        assert parts.hostname is not None
        port = parts.port or (443 if parts.scheme == "https" else 80)
        check_target(
            await resolve_host(parts.hostname, port),
            production=True,
            allow_private=False,
        )
    return url
