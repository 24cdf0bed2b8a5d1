"""schema.execution.FastExecutor answers exactly as graphql-core's executor: same data,
same errors (messages, paths, locations), for plain fields and for the values the fast
path gives back (None where non-null, a value the scalar or enum refuses, a wrong type)."""

from __future__ import annotations

import asyncio
import enum
from typing import Any, ClassVar, NamedTuple

import pytest
import strawberry
from strawberry import relay
from strawberry.permission import BasePermission

from resolvers.pagination import Page
from schema.base import Connection, PageConnection, RowReader, enum_of, to_connection
from schema.execution import FastExecutor

pytestmark = pytest.mark.timeout(30)


@strawberry.enum
class Colour(enum.Enum):
    RED = "RED"
    BLUE = "BLUE"


@strawberry.type
class Leaf:
    name: str
    colour: Colour
    size: int | None
    tags: list[str]


class NotOne(BasePermission):
    message = "Not box one."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return bool(source.label != "one")


@strawberry.type
class Box:
    label: str
    leaves: list[Leaf]
    maybe: Leaf | None

    @strawberry.field
    def shout(self) -> str:
        return self.label.upper()

    @strawberry.field(permission_classes=[NotOne])
    def secret(self, times: int = 1) -> str | None:
        return "s" * times

    @strawberry.field
    def repeat(self, times: int = 2, sep: str = "-") -> str:
        return sep.join([self.label] * times)

    @strawberry.field
    def fails(self) -> str | None:
        raise ValueError("broken")

    @strawberry.field
    def broken_non_null(self) -> str:
        return None  # type: ignore[return-value]

    @strawberry.field
    def where(self, info: strawberry.Info) -> str:
        return f"{info.path.as_list()} {info.field_name}"

    @strawberry.field
    async def later(self) -> str:
        return str(self.label)

    @strawberry.field
    def first_leaf(self) -> Leaf | None:
        return self.leaves[0] if isinstance(self.leaves, list) and self.leaves else None


def _box(label: Any, leaves: list[Any], maybe: Any = None) -> Box:
    box = Box(label="", leaves=[], maybe=None)
    box.label, box.leaves, box.maybe = label, leaves, maybe  # bypass typing on purpose
    return box


def _leaf(name: Any = "a", colour: Any = Colour.RED, size: Any = 1, tags: Any = None) -> Leaf:
    leaf = Leaf(name="", colour=Colour.RED, size=None, tags=[])
    leaf.name, leaf.colour, leaf.size, leaf.tags = name, colour, size, tags or ["x"]
    return leaf


BOXES: dict[str, list[Box]] = {
    "good": [_box("one", [_leaf("a"), _leaf("b", Colour.BLUE, None, ["p", "q"])], _leaf())],
    "two_boxes": [_box("one", [_leaf("a")]), _box("two", [_leaf(None)])],
    "null_in_non_null": [_box("one", [_leaf("a"), _leaf(None)])],
    "bad_enum": [_box("one", [_leaf("a", "GREEN")])],
    "bad_int": [_box("one", [_leaf("a", size="big")])],
    "null_tag": [_box("one", [_leaf("a", tags=["x", None])])],
    "not_a_list": [_box("one", _leaf("a"))],  # type: ignore[arg-type]
    "wrong_type": [_box("one", [_box("x", [])])],  # type: ignore[list-item]
    "null_label": [_box(None, [])],
    "error_value": [_box(ValueError("boom"), [])],
}


@strawberry.type
class Query:
    @strawberry.field
    def boxes(self, case: str) -> list[Box]:
        return BOXES[case]


QUERIES = [
    "{ boxes(case: $case) { label shout leaves { name colour size tags } maybe { name } } }",
    "{ boxes(case: $case) { __typename l: label leaves { __typename n: name, name } } }",
    "{ boxes(case: $case) { ...B } } fragment B on Box { label leaves { ... on Leaf { size } } }",
    "{ boxes(case: $case) { label @include(if: false) leaves { name @skip(if: true) colour } } }",
    "{ boxes(case: $case) { secret s3: secret(times: 3) repeat r: repeat(times: 3, sep: $case)"
    " fails where later firstLeaf { name colour } } }",
    "{ boxes(case: $case) { label brokenNonNull } }",
]


def _run(schema: strawberry.Schema, query: str, case: str) -> dict[str, Any]:
    text = query.replace("{ boxes(case: $case)", "query Q($case: String!) { boxes(case: $case)")
    result = asyncio.run(schema.execute(text, variable_values={"case": case}))
    return {
        "data": result.data,
        "errors": [e.formatted for e in result.errors or []],
    }


@pytest.mark.parametrize("case", sorted(BOXES))
@pytest.mark.parametrize("query", QUERIES)
def test_fast_executor_answers_as_graphql_core(case: str, query: str) -> None:
    plain = strawberry.Schema(query=Query)
    fast = strawberry.Schema(query=Query, execution_context_class=FastExecutor)
    assert _run(fast, query, case) == _run(plain, query, case)


def test_fast_executor_answers_plain_fields_without_graphql_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Neither the leaves of a plain subtree nor fields with a synchronous resolver reach
    graphql-core's execute_field (a refused permission neither); an async resolver does."""
    fast = strawberry.Schema(query=Query, execution_context_class=FastExecutor)
    seen: list[str] = []
    original = FastExecutor.execute_field

    def spy(self: Any, parent_type: Any, source: Any, details: Any, *args: Any) -> Any:
        seen.append(f"{parent_type.name}.{details[0].node.name.value}")
        return original(self, parent_type, source, details, *args)

    monkeypatch.setattr(FastExecutor, "execute_field", spy)
    query = "{ boxes(case: $case) { label shout leaves { name colour size tags } secret later } }"
    answer = _run(fast, query, "good")
    assert [e["extensions"] for e in answer["errors"]] == [{"code": "FORBIDDEN"}]
    assert answer["data"]["boxes"][0]["leaves"][1] == {
        "name": "b",
        "colour": "BLUE",
        "size": None,
        "tags": ["p", "q"],
    }
    assert sorted(set(seen)) == ["Box.later"]


# -- connections answered from the rows of a page ------------------------------------

_colour = enum_of(Colour)


@strawberry.type
class Item(relay.Node):
    id: relay.NodeID[int]
    name: str
    colour: Colour
    size: int | None

    of: ClassVar[RowReader[Item]] = RowReader(
        id="id", name="name", colour=lambda row: _colour(row.colour), size="size"
    )

    @strawberry.field
    def loud(self) -> str:
        return self.name.upper()


class ItemRow(NamedTuple):
    id: int
    name: Any
    colour: Any
    size: Any


PAGES: dict[str, list[ItemRow]] = {
    "good": [ItemRow(1, "a", "RED", 3), ItemRow(2, "b", "BLUE", None)],
    "empty": [],
    "null_name": [ItemRow(1, "a", "RED", 3), ItemRow(2, None, "BLUE", 1)],
    "bad_enum": [ItemRow(1, "a", "GREEN", 3)],
    "not_str_names": [
        ItemRow(1, 7, "RED", 3),
        ItemRow(2, True, "BLUE", 1),
        ItemRow(3, [1], "RED", 0),
    ],
    "bad_enum_unread": [ItemRow(1, "a", "RED", 3)],
    "bad_int": [ItemRow(1, "a", "RED", "big")],
}
MADE: list[PageConnection] = []


@strawberry.type
class ItemQuery:
    @strawberry.field
    def items(self, case: str) -> Connection[Item]:
        rows = PAGES[case]
        page = Page(rows, [r.id for r in rows], has_next=True, has_previous=False, total_count=9)
        connection = to_connection(page, Item.of)
        MADE.append(connection)  # type: ignore[arg-type]
        return connection


ITEM_QUERIES = [
    "{ items(case: $case) { edges { node { name colour size } } } }",
    "{ items(case: $case) { e: edges { c: cursor n: node { __typename s: size name } } } }",
    "{ items(case: $case) { __typename totalCount pageInfo { hasNextPage endCursor }"
    " edges { __typename node { ... on Item { name } } cursor } } }",
    "{ items(case: $case) { edges { node { name loud } } } }",
    "{ items(case: $case) { edges { node { id name } } } }",
    "{ items(case: $case) { edges { node { name @skip(if: true) colour } } } }",
]


def _run_items(schema: strawberry.Schema, query: str, case: str) -> dict[str, Any]:
    text = query.replace("{ items(case: $case)", "query Q($case: String!) { items(case: $case)")
    result = asyncio.run(schema.execute(text, variable_values={"case": case}))
    return {"data": result.data, "errors": [e.formatted for e in result.errors or []]}


@pytest.mark.parametrize("case", sorted(set(PAGES) - {"bad_enum_unread"}))
@pytest.mark.parametrize("query", ITEM_QUERIES)
def test_a_page_answered_from_its_rows_answers_as_graphql_core(case: str, query: str) -> None:
    plain = strawberry.Schema(query=ItemQuery)
    fast = strawberry.Schema(query=ItemQuery, execution_context_class=FastExecutor)
    answer = _run_items(fast, query, case)
    if case == "bad_enum" and "colour" not in query and answer["errors"] == []:
        # The one difference, by design: from the rows, only the readers of the fields
        # asked for run, so a reader failing on a value no one asked for fails nothing:
        # the answer is the one a valid value would give.
        case = "bad_enum_unread"
    assert answer == _run_items(plain, query, case)


@pytest.mark.parametrize(
    ("query", "from_rows"),
    [
        ("{ items(case: $case) { edges { node { name colour size } } } }", True),
        ("{ items(case: $case) { totalCount edges { cursor node { __typename name } } } }", True),
        ("{ items(case: $case) { edges { node { name loud } } } }", False),  # a resolver
        ("{ items(case: $case) { edges { node { id } } } }", False),  # relay's id resolver
    ],
)
def test_a_plain_page_makes_no_edges_or_nodes(query: str, from_rows: bool) -> None:
    """Asked only what its RowReader reads, a page is answered from the rows: the
    connection never makes its edges (nor their nodes); asked more, it does."""
    fast = strawberry.Schema(query=ItemQuery, execution_context_class=FastExecutor)
    MADE.clear()
    answer = _run_items(fast, query, "good")
    assert answer["errors"] == []
    assert len(answer["data"]["items"]["edges"]) == 2
    assert [("edges" in vars(c)) for c in MADE] == [not from_rows]
