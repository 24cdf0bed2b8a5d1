"""Does an operation read anything about the caller? `reads_only_meta_fields`.

`{ __typename }` (a liveness probe) and introspection answer the same to everyone, so the
app authenticates a bearer token only for operations that select some other root field:
a probe with a token then costs no SQL. Parsing is cached by query text (bounded).
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


@lru_cache(maxsize=256)
def reads_only_meta_fields(query: str | None, operation_name: str | None) -> bool:
    """True when the operation selects nothing but `__typename`, `__schema` and `__type` at
    its root. Anything unclear (no query, a syntax error, an unknown operation) is False."""
    if not query:
        return False
    try:
        document = parse(query)
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return False
    return _only_meta(operations[0].selection_set.selections, fragments)
