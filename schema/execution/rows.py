"""A connection's edges answered straight from the rows of its page."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from graphql import (
    GraphQLField,
    GraphQLObjectType,
    get_named_type,
    get_nullable_type,
    is_list_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from strawberry.schema.schema_converter import GraphQLCoreConverter

from resolvers.pagination import encode_cursor
from schema.base import PageConnection, RowReader
from schema.execution.plans import Complete, Plan

if TYPE_CHECKING:
    from schema.execution.executor import FastExecutor


def is_page_of_edges(field_def: GraphQLField) -> bool:
    """Whether a field named `edges` is a relay connection's: a list of edge objects."""
    edge = get_named_type(field_def.type)
    return is_list_type(get_nullable_type(field_def.type)) and (
        is_object_type(edge) and "node" in edge.fields and "cursor" in edge.fields
    )


#: An edge completed from its row and key; `PartOfEdge`: one of its fields.
EdgeFromRow = Callable[[Any, int], dict[str, Any]]
PartOfEdge = Callable[[Any, int], Any]


class EdgesFromRows:
    """A connection's edges completed from its page's rows: per edge, its `node` from the
    row by the page's `RowReader` (the completer of each field asked applied to the
    reader of its attribute), its `cursor` from the row's key. Exactly what completing
    the edges and nodes the reader would make answers, without making them; compiled
    once per reader for the selection, and None (graphql-core's path) when the selection
    asks for a field the reader does not read."""

    def __init__(self, executor: FastExecutor, edge_type: Any, details: FieldDetailsList) -> None:
        self._executor = executor
        self._edge_type: GraphQLObjectType = edge_type
        self._details = details
        self._compiled: dict[int, tuple[RowReader[Any], EdgeFromRow | None]] = {}

    def answer(self, connection: PageConnection) -> list[dict[str, Any]] | None:
        reader = connection.wrap
        if type(reader) is not RowReader:
            return None
        known = self._compiled.get(id(reader))
        if known is None or known[0] is not reader:
            known = (reader, self._compile(reader))
            self._compiled[id(reader)] = known
        edge = known[1]
        if edge is None:
            return None
        page = connection.page
        return [edge(row, key) for row, key in zip(page.items, page.keys, strict=True)]

    def _plain_plan(self, type_: GraphQLObjectType, details: FieldDetailsList) -> Plan | None:
        fields, defer_usages, _ = self._executor.collect_subfields(type_, details)
        if defer_usages:
            return None
        plan, all_fast = self._executor.plan_of(type_, fields)
        return plan if all_fast else None

    def _compile(self, reader: RowReader[Any]) -> EdgeFromRow | None:
        plan = self._plain_plan(self._edge_type, self._details)
        if plan is None:
            return None
        reads = self._executor.reads
        node: Callable[[Any], dict[str, Any]] | None = None
        parts: list[tuple[str, PartOfEdge]] = []  # in the plan's order: name, answer
        for name, details, fast, _ in plan:
            attribute, complete = reads[fast]  # type: ignore[index]
            if attribute == "node" and node is None:
                node_type = get_named_type(self._edge_type.fields["node"].type)
                node = self._node(node_type, details, reader)
                if node is None:
                    return None
                parts.append((name, _of_row(node)))
            elif attribute == "cursor":
                parts.append((name, _of_key(complete)))
            elif attribute is None:  # `__typename`
                parts.append((name, _of_row(complete)))
            else:
                return None
        if node is None:
            return None
        if len(parts) == 1:  # `edges { node { ... } }`: the usual page
            name, make_node = parts[0][0], node
            return lambda row, _key: {name: make_node(row)}
        return lambda row, key: {name: answer(row, key) for name, answer in parts}

    def _node(
        self, node_type: Any, details: FieldDetailsList, reader: RowReader[Any]
    ) -> Callable[[Any], dict[str, Any]] | None:
        if not is_object_type(node_type):
            return None
        definition = (node_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if definition is None or definition.origin is not reader.made:
            return None
        plan = self._plain_plan(node_type, details)
        if plan is None:
            return None
        reads = self._executor.reads
        columns: list[tuple[str, Callable[[Any], Any], Complete]] = []
        for name, _, fast, _ in plan:
            attribute, complete = reads[fast]  # type: ignore[index]
            if attribute is None:
                columns.append((name, _nothing, complete))
                continue
            read = reader.readers.get(attribute)
            if read is None:
                return None
            columns.append((name, read, complete))
        return _node_maker(columns)


def _nothing(_row: Any) -> None:
    return None


def _of_row(answer: Callable[[Any], Any]) -> PartOfEdge:
    return lambda row, _key: answer(row)


def _of_key(complete: Complete) -> PartOfEdge:
    return lambda _row, key: complete(encode_cursor(key))


def _node_maker(
    columns: list[tuple[str, Callable[[Any], Any], Complete]],
) -> Callable[[Any], dict[str, Any]]:
    """`row -> {name: complete(read(row)), ...}` as one function with a dict display (a
    node per row of a page: no comprehension frame, no loop over the columns). The
    names are GraphQL response names, written as string literals; the readers and
    completers are its defaults, not text."""
    parameters = ", ".join(f"r{i}=r{i}, c{i}=c{i}" for i in range(len(columns)))
    items = ", ".join(f"{name!r}: c{i}(r{i}(row))" for i, (name, _, _) in enumerate(columns))
    scope: dict[str, Any] = {}
    for i, (_, read, complete) in enumerate(columns):
        scope[f"r{i}"], scope[f"c{i}"] = read, complete
    made: dict[str, Any] = {}
    exec(f"def node(row, {parameters}):\n    return {{{items}}}\n", scope, made)  # noqa: S102
    node: Callable[[Any], dict[str, Any]] = made["node"]
    return node
