"""Input checks shared by use cases: clear codes, the field at fault."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from resolvers.errors import INVALID_INPUT, UseCaseError

MAX_NAME = 200
MAX_TEXT = 1000


def clean_email(value: str, field: str = "email") -> str:
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise UseCaseError("INVALID_EMAIL", "This is not a valid email address.", field) from exc
    return result.normalized.lower()


def clean_text(value: str, field: str, *, max_length: int = MAX_NAME, required: bool = True) -> str:
    text = value.strip()
    if required and not text:
        raise UseCaseError(INVALID_INPUT, "This field is required.", field)
    if len(text) > max_length:
        raise UseCaseError("TOO_LONG", f"At most {max_length} characters.", field)
    return text
