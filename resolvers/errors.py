"""The one error type use cases raise; schema turns it into `userErrors`."""

from __future__ import annotations

from domain.error_codes import ErrorCode
from domain.errors import DomainError

NOT_FOUND = ErrorCode.NOT_FOUND
UNAUTHENTICATED = ErrorCode.UNAUTHENTICATED
FORBIDDEN = ErrorCode.FORBIDDEN
INVALID_ID = ErrorCode.INVALID_ID
INVALID_INPUT = ErrorCode.INVALID_INPUT
READ_ONLY_TOKEN = ErrorCode.READ_ONLY_TOKEN


class UseCaseError(DomainError):
    pass


def not_found(field: str | None = "id") -> UseCaseError:
    # A forbidden object and a missing one answer the same, so nothing leaks.
    return UseCaseError(NOT_FOUND, "No such object.", field)
