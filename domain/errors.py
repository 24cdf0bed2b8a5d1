"""Rule violations, each with a stable code the API returns in `userErrors`."""

from __future__ import annotations

from domain.error_codes import ErrorCode


class DomainError(Exception):
    """A broken rule. `code` must be an `ErrorCode` member (a string naming one is taken)."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message
        self.field = field
