"""Does an operation read anything about the caller, and what kind is it? `operation_kind`.

`{ __typename }` (a liveness probe) and introspection answer the same to everyone, so the
app authenticates a bearer token only for operations that select some other root field:
a probe with a token then costs no SQL. A query authenticates on the request's read
session, a mutation on a connection of its own. Parsing is cached by query text (bounded).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    parse,
)


def _only_meta(
    selections: Iterable[SelectionNode], fragments: dict[str, FragmentDefinitionNode]
) -> bool:
    for selection in selections:
        if isinstance(selection, FieldNode):
            if not selection.name.value.startswith("__"):
                return False
        elif isinstance(selection, InlineFragmentNode):
            if not _only_meta(selection.selection_set.selections, fragments):
                return False
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is None or not _only_meta(fragment.selection_set.selections, fragments):
                return False
        else:
            return False
    return True


#: `operation_kind` of an operation that reads only meta fields.
META = "meta"


@lru_cache(maxsize=256)
def operation_kind(query: str | None, operation_name: str | None) -> str | None:
    """`META`, else the operation's type ("query", "mutation", "subscription"); None when
    unclear (no query, a syntax error, an unknown operation)."""
    if not query:
        return None
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return None
    if _only_meta(operations[0].selection_set.selections, fragments):
        return META
    return operations[0].operation.value
