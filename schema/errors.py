"""What a caller sees of an error raised while resolving a field.

A broken rule (a DomainError, e.g. a bad cursor) keeps its message and gets its stable
code in `extensions.code`; anything unexpected becomes "Unexpected error." with code
INTERNAL_SERVER_ERROR, so no SQL, parameter or stack detail reaches the client (the
original is logged by Strawberry).
"""

from __future__ import annotations

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from domain.errors import DomainError


def _needs_rewrite(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


class PublicErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=_needs_rewrite)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, DomainError):
            message = original.message
            extensions = {"code": original.code, "field": original.field}
        else:
            message = self.error_message
            extensions = {"code": "INTERNAL_SERVER_ERROR"}
        return GraphQLError(
            message=message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions=extensions,
        )
