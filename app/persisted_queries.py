"""Persisted queries: Apollo's automatic persisted queries (APQ) and an allowlist mode.

A client sends `extensions.persistedQuery = {version: 1, sha256Hash}` instead of (or with)
the query text:

- hash known: the stored query runs (a hit: a short POST or GET from a mobile app);
- hash unknown, no query: `PERSISTED_QUERY_NOT_FOUND` (message `PersistedQueryNotFound`,
  HTTP 200, as Apollo clients expect): the client sends the query with its hash again;
- hash and query: the query is registered (its SHA-256 must be the hash) and runs.

Registered operations are known before the first request:

- the web console's, which its build writes beside it (CONSOLE_MANIFEST, exactly the text
  the console sends; web/config/persisted-operations.ts);
- the files of `PERSISTED_QUERIES_DIR`: `*.graphql` (one operation document per file,
  registered under the SHA-256 of its text) and `*.json` Apollo persisted query manifests
  (`apollo-persisted-query-manifest` version 1, what Apollo iOS and Apollo Kotlin write at
  build time; each `id` must be the SHA-256 of its `body`).

With `PERSISTED_QUERIES_ONLY` (production's allowlist mode) only those run: any other
document, sent as text or by hash, is refused with `PERSISTED_QUERY_NOT_ALLOWED`, and
nothing is registered at run time. Otherwise queries registered at run time go to the
automatic store (app/apq_store.py: Redis, shared by every API process, or process memory).

Registered operations are looked up in memory: only a request that carries a hash the
server did not load at start-up reaches Redis, and a request with no persistedQuery
extension never does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.apq_store import AutomaticStore, automatic_store, sha256
from app.console import CONSOLE_DIR
from config.settings import Settings
from domain.error_codes import ErrorCode

CONSOLE_MANIFEST = CONSOLE_DIR / "persisted-query-manifest.json"
MANIFEST_FORMAT = "apollo-persisted-query-manifest"

__all__ = ["CONSOLE_MANIFEST", "PersistedQueries", "PersistedQueryRefused", "sha256"]


class PersistedQueryRefused(Exception):
    def __init__(self, code: ErrorCode, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class RegisteredOperationsError(ValueError):
    """Registered operations that cannot be read: the server refuses to start."""


@dataclass(frozen=True)
class Resolved:
    """The query a request runs and, for a new registration, the hash to store it under
    once the request has passed its limits (app/request_limits.py)."""

    query: str | None
    register: str | None = None


def read_manifest(path: Path) -> dict[str, str]:
    """An Apollo persisted query manifest's operations, by the SHA-256 of their text."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RegisteredOperationsError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or (data.get("format"), data.get("version")) != (
        MANIFEST_FORMAT,
        1,
    ):
        raise RegisteredOperationsError(f"{path}: not an {MANIFEST_FORMAT} (version 1)")
    found: dict[str, str] = {}
    for operation in data.get("operations") or []:
        body = operation.get("body") if isinstance(operation, dict) else None
        if not isinstance(body, str):
            raise RegisteredOperationsError(f"{path}: an operation without a body")
        digest = sha256(body)
        if str(operation.get("id", "")).lower() != digest:
            # A client sends the id as its sha256Hash; the server keys by the text's hash.
            raise RegisteredOperationsError(
                f"{path}: the id of operation {operation.get('name')!r} is not the "
                "SHA-256 of its body"
            )
        found[digest] = body
    return found


def registered_operations(
    directory: str | None, *, console: Path = CONSOLE_MANIFEST
) -> dict[str, str]:
    """The console's operations and those of `directory`, by the SHA-256 of their text."""
    found = read_manifest(console) if console.is_file() else {}
    if directory is None:
        return found
    root = Path(directory)
    if not root.is_dir():
        raise RegisteredOperationsError(f"PERSISTED_QUERIES_DIR {directory} is not a directory")
    for path in sorted(root.glob("**/*")):
        if path.suffix == ".graphql":
            text = path.read_text(encoding="utf-8")
            found[sha256(text)] = text
        elif path.suffix == ".json":
            found.update(read_manifest(path))
    return found


class PersistedQueries:
    def __init__(
        self,
        registered: dict[str, str],
        store: AutomaticStore | None,
        *,
        allowlist_only: bool = False,
    ) -> None:
        self.registered = registered
        self.allowlist_only = allowlist_only
        # The allowlist mode registers nothing at run time: it needs no store.
        self.store = None if allowlist_only else store

    @classmethod
    def from_settings(cls, settings: Settings) -> PersistedQueries:
        only = settings.persisted_queries_only
        registered = registered_operations(settings.persisted_queries_dir)
        return cls(registered, None if only else automatic_store(settings), allowlist_only=only)

    async def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> Resolved:
        """What a request's `query` and `extensions` run, or the refusal."""
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        if persisted is None:
            if query is not None and self.allowlist_only and sha256(query) not in self.registered:
                raise _not_allowed()
            return Resolved(query)
        digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if not isinstance(digest, str) or persisted.get("version") != 1:
            raise PersistedQueryRefused(
                ErrorCode.BAD_REQUEST,
                "persistedQuery needs version 1 and a sha256Hash.",
                400,
            )
        digest = digest.lower()
        if query is None:
            found = self.registered.get(digest)
            if found is None and self.store is not None:
                found = await self.store.get(digest)
            if found is not None:
                return Resolved(found)
            if self.allowlist_only:
                raise _not_allowed()
            raise PersistedQueryRefused(
                ErrorCode.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound", 200
            )
        if sha256(query) != digest:
            raise PersistedQueryRefused(
                ErrorCode.BAD_REQUEST, "The sha256Hash is not the query's SHA-256.", 400
            )
        if digest in self.registered:
            return Resolved(query)
        if self.allowlist_only:
            raise _not_allowed()
        return Resolved(query, register=digest)

    async def register(self, resolved: Resolved) -> None:
        """Store a new registration (a no-op for every other request)."""
        if resolved.register is not None and resolved.query is not None and self.store:
            await self.store.put(resolved.register, resolved.query)

    async def close(self) -> None:
        if self.store is not None:
            await self.store.close()


def _not_allowed() -> PersistedQueryRefused:
    return PersistedQueryRefused(
        ErrorCode.PERSISTED_QUERY_NOT_ALLOWED,
        "Only registered operations run on this server.",
        400,
    )
