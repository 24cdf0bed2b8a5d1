"""Limits on a GraphQL request, checked on the decoded body before the query is parsed.

The body itself is capped earlier (`app.edge_middleware`, 413). Here: the document's
length (`max_query_length`), the number of variables (`max_variables`) and the length of
every list inside the variables (`max_list_length`, as the validation rule does for list
literals). A refused request answers 400 (413 for an over-long document) with a
GraphQL-shaped JSON body naming the limit; nothing is parsed, validated or executed.
"""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException

from config.settings import Settings
from domain.error_codes import ErrorCode
from schema.request_rules import LIST_TOO_LONG

QUERY_TOO_LONG = ErrorCode.QUERY_TOO_LONG
TOO_MANY_VARIABLES = ErrorCode.TOO_MANY_VARIABLES


class RequestLimitExceeded(HTTPException):
    def __init__(self, status_code: int, code: str, reason: str) -> None:
        super().__init__(status_code, reason)
        self.code = code


def _longest_list(value: Any, depth: int = 0) -> int:
    if depth > 64:  # orjson refuses deeper documents anyway
        return 0
    if isinstance(value, list):
        inner = max((_longest_list(item, depth + 1) for item in value), default=0)
        return max(len(value), inner)
    if isinstance(value, dict):
        return max((_longest_list(item, depth + 1) for item in value.values()), default=0)
    return 0


def check_request(settings: Settings, query: str | None, variables: dict[str, Any] | None) -> None:
    """Raise `RequestLimitExceeded` when the request is over a limit."""
    if query is not None and len(query) > settings.max_query_length:
        raise RequestLimitExceeded(
            413,
            QUERY_TOO_LONG,
            f"The GraphQL document is over {settings.max_query_length} characters.",
        )
    if not variables:
        return
    if len(variables) > settings.max_variables:
        raise RequestLimitExceeded(
            400, TOO_MANY_VARIABLES, f"At most {settings.max_variables} variables."
        )
    if _longest_list(variables) > settings.max_list_length:
        raise RequestLimitExceeded(
            400, LIST_TOO_LONG, f"A list input holds at most {settings.max_list_length} items."
        )
