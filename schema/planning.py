"""Planning a page's nested connections from the selection set.

A connection resolver (e.g. `Partner.clients`) looks below itself for the nested
connections the query asks of each node (`edges { node { products(first: 20) } }`) and
fetches them for the whole page at once, in one batched query per connection. The nodes
then answer those fields synchronously from what was fetched, so the page's subtree
completes without an awaitable per field, and the SQL stays a few statements whatever
the page size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from strawberry.types.nodes import SelectedField, Selection

from resolvers.errors import UseCaseError
from resolvers.pagination import PageRequest
from schema.base import page_request
from schema.context import Info


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    """The fields of a selection set, with fragments (inline or named) flattened."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from _fields(selection.selections)


def arguments_below(info: Info, path: Sequence[str], name: str) -> list[dict[str, Any]]:
    """The arguments of every selection of field `name` reached by `path` from the field
    being resolved (each alias is one selection)."""
    level = list(_fields(info.selected_fields))
    for step in path:
        level = [f for parent in level for f in _fields(parent.selections) if f.name == step]
    return [f.arguments for parent in level for f in _fields(parent.selections) if f.name == name]


def page_requests_below(info: Info, path: Sequence[str], name: str) -> set[PageRequest]:
    """The pages (`first`, `after`) a nested connection is asked for. One with arguments
    that are not valid is left out: its field reports the error itself, where it belongs."""
    requests: set[PageRequest] = set()
    for arguments in arguments_below(info, path, name):
        first, after = arguments.get("first"), arguments.get("after")
        try:
            # Literals come as their source text (Strawberry does not coerce them here).
            size = None if first is None else int(first)
            requests.add(page_request(info, size, None if after is None else str(after)))
        except (UseCaseError, ValueError, TypeError):
            continue
    return requests
