"""What a caller sees of an error raised while resolving a field.

A broken rule (a DomainError, e.g. a bad cursor) keeps its message and gets its stable
code in `extensions.code`; anything unexpected becomes "Unexpected error." with code
INTERNAL_SERVER_ERROR, so no SQL, parameter or stack detail reaches the client (the
original is logged by Strawberry). Too many attempts answer THROTTLED with
`retryAfterSeconds`; a database or Redis out of reach answers SERVICE_UNAVAILABLE (the
HTTP layer makes both the status of the response: 429, 503).
"""

from __future__ import annotations

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from domain.error_codes import ErrorCode
from domain.errors import DomainError
from resolvers.outage import SERVICE_UNAVAILABLE, is_outage
from resolvers.throttling import Throttled


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
            message = "The service is unavailable for a moment. Try again."
            extensions = {"code": SERVICE_UNAVAILABLE}
        else:
            message = self.error_message
            extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR}
        return GraphQLError(
            message=message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions=extensions,
        )
