"""Persisted queries: Apollo's automatic persisted queries (APQ) and an allowlist mode.

A client sends `extensions.persistedQuery = {version: 1, sha256Hash}` instead of (or with)
the query text:

- hash known: the stored query runs (a hit: a short GET or POST from a mobile app);
- hash unknown, no query: `PERSISTED_QUERY_NOT_FOUND` (message `PersistedQueryNotFound`,
  HTTP 200, as Apollo clients expect): the client sends the query with its hash again;
- hash and query: the query is registered (its SHA-256 must be the hash) and runs.

Registered operations are the `*.graphql` files of `PERSISTED_QUERIES_DIR` (one operation
document per file, registered under the SHA-256 of its text): the web console's and those a
mobile app registers at build time. With `PERSISTED_QUERIES_ONLY` (production's allowlist
mode), only those run: any other document, sent as text or by hash, is refused with
`PERSISTED_QUERY_NOT_ALLOWED`, and nothing is registered at run time.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path
from typing import Any

from domain.error_codes import ErrorCode

#: Queries registered at run time, per process (the client re-sends on a miss).
MAX_AUTOMATIC = 10_000


class PersistedQueryRefused(Exception):
    def __init__(self, code: ErrorCode, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


class PersistedQueries:
    def __init__(self, directory: str | None = None, *, allowlist_only: bool = False) -> None:
        self.allowlist_only = allowlist_only
        self.registered: dict[str, str] = {}
        if directory:
            for path in sorted(Path(directory).glob("**/*.graphql")):
                text = path.read_text(encoding="utf-8")
                self.registered[sha256(text)] = text
        self._automatic: OrderedDict[str, str] = OrderedDict()

    def lookup(self, digest: str) -> str | None:
        found = self.registered.get(digest)
        if found is None and not self.allowlist_only:
            found = self._automatic.get(digest)
            if found is not None:
                self._automatic.move_to_end(digest)
        return found

    def _remember(self, digest: str, query: str) -> None:
        if digest in self.registered:
            return
        self._automatic[digest] = query
        self._automatic.move_to_end(digest)
        while len(self._automatic) > MAX_AUTOMATIC:
            self._automatic.popitem(last=False)

    def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The query to run for a request's `query` and `extensions`, or the refusal."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if query is not None and self.allowlist_only and sha256(query) not in self.registered:
                raise _not_allowed()
            return query
        digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if not isinstance(digest, str) or persisted.get("version") != 1:
            raise PersistedQueryRefused(
                ErrorCode.BAD_REQUEST,
                "persistedQuery needs version 1 and a sha256Hash.",
                400,
            )
        digest = digest.lower()
        if query is None:
            found = self.lookup(digest)
            if found is not None:
                return found
            if self.allowlist_only:
                raise _not_allowed()
            raise PersistedQueryRefused(
                ErrorCode.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound", 200
            )
        if sha256(query) != digest:
            raise PersistedQueryRefused(
                ErrorCode.BAD_REQUEST, "The sha256Hash is not the query's SHA-256.", 400
            )
        if self.allowlist_only and digest not in self.registered:
            raise _not_allowed()
        self._remember(digest, query)
        return query


def _not_allowed() -> PersistedQueryRefused:
    return PersistedQueryRefused(
        ErrorCode.PERSISTED_QUERY_NOT_ALLOWED,
        "Only registered operations run on this server.",
        400,
    )
