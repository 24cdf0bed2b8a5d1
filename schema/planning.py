"""Planning a page's nested connections from the selection set.

A connection resolver (e.g. `Partner.clients`) looks below itself for the nested
connections the query asks of each node (`edges { node { products(first: 20) } }`) and
fetches them for the whole page at once, in one batched query per connection. The nodes
then answer those fields synchronously from what was fetched, so the page's subtree
completes without an awaitable per field, and the SQL stays a few statements whatever
the page size.
"""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.types.nodes import SelectedField

from resolvers.errors import UseCaseError
from resolvers.pagination import PageRequest
from schema.base import fields_of, page_request
from schema.context import Info


def _selections_below(info: Info, path: Sequence[str], name: str) -> list[SelectedField]:
    level = list(fields_of(info.selected_fields))
    for step in path:
        level = [f for parent in level for f in fields_of(parent.selections) if f.name == step]
    return [f for parent in level for f in fields_of(parent.selections) if f.name == name]


def page_requests_below(info: Info, path: Sequence[str], name: str) -> set[PageRequest]:
    """The pages (`first`/`after`, `last`/`before`, whether `totalCount` is asked) a nested
    connection is asked for. One with arguments that are not valid is left out: its field
    reports the error itself, where it belongs."""
    requests: set[PageRequest] = set()
    for selection in _selections_below(info, path, name):
        arguments = selection.arguments
        try:
            # Literals come as their source text (Strawberry does not coerce them here).
            first, last = (
                None if arguments.get(n) is None else int(arguments[n]) for n in ("first", "last")
            )
            after, before = (
                None if arguments.get(n) is None else str(arguments[n]) for n in ("after", "before")
            )
            count = any(f.name == "totalCount" for f in fields_of(selection.selections))
            requests.add(page_request(info, first, after, last, before, count=count))
        except (UseCaseError, ValueError, TypeError):
            continue
    return requests
