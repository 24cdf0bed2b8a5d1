"""The one error type use cases raise; schema turns it into `userErrors`."""

from __future__ import annotations

from domain.errors import DomainError

NOT_FOUND = "NOT_FOUND"
UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
INVALID_ID = "INVALID_ID"
INVALID_INPUT = "INVALID_INPUT"
READ_ONLY_TOKEN = "READ_ONLY_TOKEN"


class UseCaseError(DomainError):
    pass


def not_found(field: str | None = "id") -> UseCaseError:
    # A forbidden object and a missing one answer the same, so nothing leaks.
    return UseCaseError(NOT_FOUND, "No such object.", field)
