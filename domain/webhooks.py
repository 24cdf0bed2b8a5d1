"""Webhook rules (SPEC "Events for integrations"). Pure: no I/O, the caller resolves names.

- Endpoints are managed by legal representatives only.
- A URL is http(s) with a host, no credentials, no fragment; in production its addresses
  may not be loopback, private, link-local or otherwise internal unless allowed (SSRF).
- A failing delivery is attempted again after growing delays, for a bounded window; an
  endpoint failing for long enough is disabled.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from domain.enums import Role
from domain.errors import DomainError
from domain.integration_events import EventKind

MAX_URL_LENGTH = 2000
MAX_DESCRIPTION = 500
#: A 2xx answer is a success; anything else (and no answer) a failure.
SUCCESS_STATUSES = range(200, 300)


class WebhookError(DomainError):
    pass


def may_manage_webhooks(role: Role | None) -> bool:
    return role is Role.LEGAL_REPRESENTATIVE


def validate_url(url: str) -> str:
    """The URL, stripped; a WebhookError (INVALID_URL) if it cannot be a webhook target."""
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise WebhookError("INVALID_URL", "Give an http(s) URL of at most 2000 characters.", "url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError("INVALID_URL", "Give an http(s) URL with a host.", "url")
    if parts.username or parts.password or parts.fragment:
        raise WebhookError("INVALID_URL", "A webhook URL has no credentials or fragment.", "url")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise WebhookError("INVALID_URL", "The URL's port is not valid.", "url") from exc
    return url


def validate_kinds(kinds: Iterable[str]) -> list[str]:
    chosen = sorted(set(kinds))
    if not chosen:
        raise WebhookError("KINDS_REQUIRED", "Choose at least one event kind.", "eventKinds")
    unknown = set(chosen) - {k.value for k in EventKind}
    if unknown:
        raise WebhookError(
            "UNKNOWN_EVENT_KIND", "Unknown event kind: " + ", ".join(sorted(unknown)), "eventKinds"
        )
    return chosen


def is_internal_address(address: str) -> bool:
    """Loopback, private, link-local, multicast, reserved or unspecified (IPv4 or IPv6,
    IPv4-mapped IPv6 included): never a target in production."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_target(addresses: Sequence[str], *, production: bool, allow_private: bool) -> None:
    """Refuse a target whose host resolves to an internal address (production only)."""
    if not production or allow_private:
        return
    if not addresses:
        raise WebhookError("INVALID_URL", "The URL's host does not resolve.", "url")
    if any(is_internal_address(a) for a in addresses):
        raise WebhookError(
            "URL_NOT_ALLOWED",
            "Webhook URLs may not point to loopback or private addresses.",
            "url",
        )


def next_attempt_at(
    *,
    first_attempt_at: datetime,
    attempts: int,
    now: datetime,
    delays_seconds: Sequence[float],
    window: timedelta,
) -> datetime | None:
    """When to try again after ``attempts`` failed attempts, or None: give up (the delay
    would fall beyond ``window`` after the first attempt)."""
    delay = delays_seconds[min(attempts, len(delays_seconds)) - 1] if attempts else 0
    moment = now + timedelta(seconds=delay)
    if moment > first_attempt_at + window:
        return None
    return moment


def should_disable(failing_since: datetime | None, now: datetime, after: timedelta) -> bool:
    return failing_since is not None and now - failing_since >= after


def signing_secrets(
    secret: str, previous: str | None, previous_expires_at: datetime | None, now: datetime
) -> list[str]:
    """The secrets a delivery is signed with: the current one, and the previous one for
    the overlap after a rotation."""
    found = [secret]
    if previous and previous_expires_at is not None and now < previous_expires_at:
        found.append(previous)
    return found
