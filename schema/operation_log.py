"""What the request's log line learns from GraphQL: the operation, and every error once.

``OperationLog`` (an extension) writes the operation's name and type into the request's
record (``config.logs``); ``LoggedSchema.process_errors`` replaces Strawberry's logging of
every error with a traceback by ``schema.errors.log_graphql_errors``: codes counted,
expected errors never logged as tracebacks, an unexpected one logged once with its id.
"""

from __future__ import annotations

from collections.abc import Iterator

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from config.logs import current_request
from schema.errors import log_graphql_errors, release_tracebacks


def _operation(context: ExecutionContext | None) -> tuple[str | None, str | None]:
    if context is None:
        return None, None
    try:
        kind = context.operation_type.value
    except (RuntimeError, AttributeError):
        kind = None
    return context.operation_name, kind


class OperationLog(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        record = current_request()
        if record is not None:
            record.operation_name, record.operation_type = _operation(self.execution_context)


class LoggedSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_graphql_errors(errors, _operation(execution_context)[0])
        release_tracebacks(errors)
