"""Wires ``Idempotency-Key`` into the GraphQL endpoint (rules in resolvers.idempotency).

Only a single mutation operation with a key and an authenticated principal is keyed. A
replayed answer carries ``extensions.idempotency = {key, replayed: true}``; a first one
``replayed: false``.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLSyntaxError
from strawberry.types import ExecutionResult

from resolvers import idempotency
from resolvers.context import RequestContext
from resolvers.errors import UseCaseError

HEADER = "idempotency-key"
_STATE = "idempotency"


def is_mutation(query: str | None, operation_name: str | None) -> bool:
    if not query:
        return False
    try:
        document = parse(query)
    except GraphQLSyntaxError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    return len(operations) == 1 and operations[0].operation is OperationType.MUTATION


def _refused(error: UseCaseError) -> ExecutionResult:
    return ExecutionResult(
        data=None,
        errors=[GraphQLError(error.message, extensions={"code": error.code})],
    )


async def before(
    request: Any, context: RequestContext, request_data: Any
) -> ExecutionResult | None:
    """Claim the key before the operation runs; an answer to give instead, if any."""
    raw = request.headers.get(HEADER)
    if raw is None or isinstance(request_data, list):
        return None
    query = getattr(request_data, "query", None)
    operation_name = getattr(request_data, "operation_name", None)
    principal = idempotency.principal_of(context.viewer)
    if principal is None or not is_mutation(query, operation_name):
        return None
    variables = getattr(request_data, "variables", None)
    try:
        outcome = await idempotency.begin(
            context.services,
            principal,
            raw,
            idempotency.fingerprint(query, operation_name, variables),
        )
    except UseCaseError as error:
        return _refused(error)
    request.state.idempotency = outcome
    request.state.idempotency_services = context.services
    if isinstance(outcome, idempotency.Claim):
        context.idempotency_key = outcome.key
        return None
    return ExecutionResult(data=None, errors=None)


async def after(request: Any, response: Any) -> Any:
    """Store a first answer, or give the earlier one again; both marked in extensions."""
    outcome = getattr(request.state, _STATE, None)
    if outcome is None:
        return response
    services = request.state.idempotency_services
    if isinstance(outcome, idempotency.Replay):
        replayed = dict(outcome.response)
        replayed["extensions"] = {
            **(replayed.get("extensions") or {}),
            "idempotency": {"key": outcome.key, "replayed": True},
        }
        return replayed
    await idempotency.complete(services, outcome, response)
    return {
        **response,
        "extensions": {
            **(response.get("extensions") or {}),
            "idempotency": {"key": outcome.key, "replayed": False},
        },
    }


async def abandon(request: Any) -> None:
    """The operation raised: release the key so that a retry runs."""
    outcome = getattr(request.state, _STATE, None)
    if isinstance(outcome, idempotency.Claim):
        await idempotency.release(request.state.idempotency_services, outcome)
        request.state.idempotency = None
