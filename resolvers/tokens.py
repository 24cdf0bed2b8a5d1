"""Opaque secrets (login tokens, API tokens, invitation links), stored only as digests."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def digest(secret_key: str, token: str) -> str:
    """Keyed so that a copy of the database alone cannot be used to forge a lookup."""
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()
