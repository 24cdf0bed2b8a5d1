"""Helpers shared by the program's types and roots."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from graphql import GraphQLError
from strawberry import relay

from domain.errors import DomainError
from resolvers import program as program_cases
from schema.base import UserError
from schema.ids import decode_id

P = TypeVar("P")


def _query_error(error: DomainError) -> GraphQLError:
    """A query has no payload: its input errors are GraphQL errors with the same code."""
    return GraphQLError(error.message, extensions={"code": error.code, "field": error.field})


async def _query(action: Callable[[], Awaitable[P]]) -> P:
    try:
        return await action()
    except DomainError as error:
        raise _query_error(error) from error


async def _mutate(payload: Callable[..., P], action: Callable[[], Awaitable[dict[str, Any]]]) -> P:
    """Like `schema.base.mutate`, and a form's several input errors come back together."""
    try:
        fields = await action()
    except program_cases.UseCaseErrors as errors:
        return payload(user_errors=[UserError.of(e) for e in errors.errors])
    except DomainError as error:
        return payload(user_errors=[UserError.of(error)])
    return payload(user_errors=[], **fields)


def _org(value: relay.GlobalID, field: str = "organizationId") -> int:
    return decode_id(value, "Organization", field)
