"""Production lockdown of error messages: no "Did you mean ...?" of any kind.

graphql-core suggests near names for fields, arguments, types, input fields and enum
values, in validation errors and in variable coercion errors alike; each suggestion tells
a prober a name of the schema. In production every such sentence is cut from every error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def without_suggestions(message: str) -> str:
    return _SUGGESTION.sub("", message)


def _strip(error: GraphQLError) -> GraphQLError:
    message = without_suggestions(error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )


class NoSuggestions(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        if context.pre_execution_errors:
            context.pre_execution_errors = [_strip(e) for e in context.pre_execution_errors]
        errors = getattr(context.result, "errors", None)
        if errors:
            context.result.errors = [_strip(e) for e in errors]  # type: ignore[union-attr]
