"""What a caller sees of an error raised while resolving a field.

A broken rule (a DomainError, e.g. a bad cursor) keeps its message and gets its stable
code in `extensions.code`; anything unexpected becomes "Unexpected error." with code
INTERNAL_SERVER_ERROR and an `errorId`, so no SQL, parameter or stack detail reaches the
client; the original is logged once, with its traceback and the same id
(`log_graphql_errors`). Expected errors (a refusal, a broken rule, a bad query) are counted
in the request's log line, never logged with a traceback. Too many attempts answer THROTTLED with
`retryAfterSeconds`; a database or Redis out of reach answers SERVICE_UNAVAILABLE (the
HTTP layer makes both the status of the response: 429, 503).
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from config.logs import current_request, new_id, note_error_code
from domain.error_codes import ErrorCode
from domain.errors import DomainError
from resolvers.outage import SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE, is_outage
from resolvers.throttling import Throttled

log = structlog.get_logger("partnergraph.errors")

INTERNAL_SERVER_ERROR = str(ErrorCode.INTERNAL_SERVER_ERROR)
_ERROR_ID = "_partnergraph_error_id"


def error_id_of(exc: BaseException) -> str:
    """The id of an unexpected error: made once, the same in the log and the answer."""
    found = getattr(exc, _ERROR_ID, None)
    if found is None:
        found = new_id()
        setattr(exc, _ERROR_ID, found)
    return str(found)


def is_unexpected(original: BaseException | None) -> bool:
    return (
        original is not None
        and not isinstance(original, GraphQLError | DomainError | Throttled)
        and not is_outage(original)
    )


def error_code(error: GraphQLError) -> str:
    """The code the caller sees in `extensions.code` for this (unmasked) error."""
    original = error.original_error
    if isinstance(original, DomainError | Throttled):
        return str(original.code)
    if original is not None and not isinstance(original, GraphQLError):
        return SERVICE_UNAVAILABLE if is_outage(original) else INTERNAL_SERVER_ERROR
    source = original if isinstance(original, GraphQLError) else error
    code = (source.extensions or {}).get("code")
    return str(code) if code else "GRAPHQL_VALIDATION_FAILED"


def log_graphql_errors(errors: Iterable[GraphQLError], operation: str | None) -> None:
    """Count every error in the request's line; log an unexpected one once, with its id."""
    for error in errors:
        note_error_code(error_code(error))
        original = error.original_error
        if original is not None and is_outage(original):
            log.warning(
                "service unavailable",
                operation=operation,
                path=error.path,
                error=f"{type(original).__name__}: {original}",
            )
        elif is_unexpected(original):
            assert original is not None
            error_id = error_id_of(original)
            record = current_request()
            if record is not None:
                record.error_id = error_id
            log.error(
                "unexpected error",
                error_id=error_id,
                operation=operation,
                path=error.path,
                exc_info=(type(original), original, original.__traceback__),
            )


def release_tracebacks(errors: Iterable[GraphQLError]) -> None:
    """Drop the tracebacks of a request's errors once they are logged. A field error's
    traceback holds the executor's frames, whose executor holds the error: a cycle that
    keeps the whole request (its loaders, pages, rows, thousands of objects) alive until
    the cycle collector walks it, which cost a dashboard request more CPU than its SQL."""
    for error in errors:
        chained: BaseException | None = error
        seen: set[int] = set()
        while chained is not None and id(chained) not in seen:
            seen.add(id(chained))
            chained.__traceback__ = None
            if isinstance(chained, GraphQLError) and chained.original_error is not None:
                chained = chained.original_error
            else:
                chained = chained.__cause__ or chained.__context__


def _needs_rewrite(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


class PublicErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=_needs_rewrite)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        extensions: dict[str, object]
        if isinstance(original, DomainError):
            message = original.message
            extensions = {"code": original.code, "field": original.field}
        elif isinstance(original, Throttled):
            message = original.message
            extensions = {
                "code": original.code,
                "retryAfterSeconds": original.retry_after_seconds,
            }
        elif original is not None and is_outage(original):
            message = UNAVAILABLE_MESSAGE
            extensions = {"code": SERVICE_UNAVAILABLE}
        else:
            message = self.error_message
            extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR}
            if original is not None:
                extensions["errorId"] = error_id_of(original)
        return GraphQLError(
            message=message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions=extensions,
        )
