"""Query cost: a static cost per field, computed on the document before it runs.

The rules (after Shopify's GraphQL Admin API):

| field | cost |
|---|---|
| a scalar or an enum, `__typename`, introspection | 0 |
| an object that is a `Node` (has an ID: an organization, a client, an invoice ...) | 1 |
| any other object (Money, PageInfo, an edge, a payload) | 0, plus what it selects |
| a connection | 2 + n x one edge; n = `first`, else the page size (`max_page_size`) |
| a root query field | at least 1 |
| a root mutation field | 10, plus what it selects |

A list that is not a connection counts one item before running. After running, the
actual cost applies the same rules to what came back (the edges and list items that were
there; nothing for a null). `QueryCost` refuses a query over `max_query_cost` with
MAX_COST_EXCEEDED before any resolver runs, takes the requested cost from the caller's
leaky bucket (THROTTLED when it is short), gives back what was not spent, and adds to
every answer `extensions.cost { requestedQueryCost actualQueryCost throttleStatus {
maximumAvailable currentlyAvailable restoreRate } }`.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

from domain.error_codes import ErrorCode
from resolvers.context import RequestContext
from resolvers.cost_bucket import BucketStatus, bucket_subject
from resolvers.outage import SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE
from resolvers.throttling import THROTTLED, ThrottleStorageDown

MAX_COST_EXCEEDED = ErrorCode.MAX_COST_EXCEEDED
MUTATION_COST = 10
CONNECTION_COST = 2


class _Walk:
    """The requested cost: the document alone (page sizes from `first`, else the default)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        page_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.page_size = page_size
        self.node = schema.get_type("Node")

    def is_node(self, named: Any) -> bool:
        return _is_node(named, self.node)

    def selection(self, selection_set: SelectionSetNode | None, parent: Any) -> int:
        return sum(
            self.field(node, condition)
            for node, condition in _typed_fields(self.schema, selection_set, parent, self.fragments)
        )

    def field(self, node: FieldNode, parent: Any) -> int:
        named = _object_type_of(node, parent)
        if named is None:
            return 0
        if _is_connection(named):
            return CONNECTION_COST + self.connection(node, named)
        own = 1 if self.is_node(named) or isinstance(named, GraphQLInterfaceType) else 0
        return own + self.selection(node.selection_set, named)

    def connection(self, node: FieldNode, connection: GraphQLObjectType) -> int:
        total = 0
        for sel in _fields(node.selection_set, self.fragments):
            name = sel.name.value
            definition = connection.fields.get(name)
            if definition is None:
                continue
            if name in ("edges", "nodes"):
                per_item = self.selection(sel.selection_set, get_named_type(definition.type))
                total += self.first(node) * per_item
            else:
                total += self.field(sel, connection)
        return total

    def first(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            if isinstance(argument.value, IntValueNode):
                return max(0, int(argument.value.value))
            if isinstance(argument.value, VariableNode):
                given = self.variables.get(argument.value.name.value)
                if isinstance(given, int) and not isinstance(given, bool):
                    return max(0, given)
        return self.page_size


#: The actual cost of what one field answered, given its parent's data (a dict or None).
Measure = Callable[[Any], int]


class _ActualPlan:
    """The actual cost as a tree of functions over the answer, made once per document.

    The same rules as `_Walk`, applied to what came back: a Node counts once per object
    that is there, a connection 2 plus its edges, nothing for a null. Walking the
    document for every edge of every page was a sizeable share of a page's CPU; the plan
    decides each field's rule once and leaves out the subtrees that cannot cost anything
    (scalars, Money, PageInfo), so only the objects that count are visited.
    """

    def __init__(
        self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode]
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.node = schema.get_type("Node")

    def selection(self, selection_set: SelectionSetNode | None, parent: Any) -> Measure | None:
        measures = [
            measure
            for node, condition in _typed_fields(self.schema, selection_set, parent, self.fragments)
            if (measure := self.field(node, condition)) is not None
        ]
        if not measures:
            return None
        if len(measures) == 1:
            return measures[0]
        return lambda data: sum(measure(data) for measure in measures)

    def field(self, node: FieldNode, parent: Any) -> Measure | None:
        """None: the field costs nothing whatever it answers."""
        named = _object_type_of(node, parent)
        if named is None:
            return None
        key = node.alias.value if node.alias else node.name.value
        if _is_connection(named):
            edges = self.connection(node, named)

            def connection(data: Any) -> int:
                value = data.get(key) if data else None
                if value is None:
                    return 0
                return CONNECTION_COST + (edges(value) if edges is not None else 0)

            return connection
        own = 1 if _is_node(named, self.node) or isinstance(named, GraphQLInterfaceType) else 0
        inner = self.selection(node.selection_set, named)
        if own == 0 and inner is None:
            return None
        if inner is None:
            return _Counting(key, own)
        below: Measure = inner

        def field(data: Any) -> int:
            value = data.get(key) if data else None
            if value is None:
                return 0
            if isinstance(value, list):
                return sum(own + below(item) for item in value if item is not None)
            return own + below(value)

        return field

    def connection(self, node: FieldNode, connection: GraphQLObjectType) -> Measure | None:
        measures: list[Measure] = []
        for sel in _fields(node.selection_set, self.fragments):
            name = sel.name.value
            definition = connection.fields.get(name)
            if definition is None:
                continue
            if name in ("edges", "nodes"):
                per_item = self.selection(sel.selection_set, get_named_type(definition.type))
                if per_item is not None:
                    measures.append(_each(sel.alias.value if sel.alias else name, per_item))
            elif (measure := self.field(sel, connection)) is not None:
                measures.append(measure)
        if not measures:
            return None
        return lambda value: sum(measure(value) for measure in measures)


def _each(key: str, per_item: Measure) -> Measure:
    if isinstance(per_item, _Counting):
        # A page's edges are each a node that counts and no more: one call per edge,
        # not a measure of the edge calling the measure of its node.
        inner, counted = per_item.key, per_item.counted
        return lambda value: sum(counted(item.get(inner)) for item in value.get(key) or () if item)
    return lambda value: sum(per_item(item) for item in value.get(key) or () if item)


class _Counting:
    """The measure of a field whose objects cost `own` each and nothing below them."""

    __slots__ = ("key", "own")

    def __init__(self, key: str, own: int) -> None:
        self.key = key
        self.own = own

    def __call__(self, data: Any) -> int:
        return self.counted(data.get(self.key) if data else None)

    def counted(self, value: Any) -> int:
        """What the field's value costs: `own` per object there (a list's each)."""
        if value is None:
            return 0
        if isinstance(value, list):
            return self.own * sum(1 for item in value if item is not None)
        return self.own


def _nothing(_data: Any) -> int:
    return 0


def _is_node(named: Any, node: Any) -> bool:
    return isinstance(named, GraphQLObjectType) and any(i is node for i in named.interfaces)


def _is_connection(named: Any) -> bool:
    return isinstance(named, GraphQLObjectType) and named.name.endswith("Connection")


def _object_type_of(node: FieldNode, parent: Any) -> Any:
    """The named type of the field `node` selects on `parent` when it is an object, an
    interface or a union (which may cost); None for a scalar, an enum or `__typename`."""
    name = node.name.value
    if name.startswith("__") or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return None
    definition = parent.fields.get(name)
    if definition is None:
        return None
    named = get_named_type(definition.type)
    if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
        return None
    return named


def _typed_fields(
    schema: GraphQLSchema,
    selection_set: SelectionSetNode | None,
    parent: Any,
    fragments: Mapping[str, FragmentDefinitionNode],
) -> Iterator[tuple[FieldNode, Any]]:
    """The fields of a selection set with the type each is selected on (a fragment's
    type condition, else the parent's), through fragments."""
    if selection_set is None:
        return
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            yield sel, parent
        elif isinstance(sel, InlineFragmentNode):
            condition = (
                schema.get_type(sel.type_condition.name.value) if sel.type_condition else parent
            )
            yield from _typed_fields(schema, sel.selection_set, condition or parent, fragments)
        elif isinstance(sel, FragmentSpreadNode):
            fragment = fragments.get(sel.name.value)
            if fragment is None:
                continue
            condition = schema.get_type(fragment.type_condition.name.value)
            yield from _typed_fields(schema, fragment.selection_set, condition or parent, fragments)


def _fields(
    selection_set: SelectionSetNode | None, fragments: Mapping[str, FragmentDefinitionNode]
) -> list[FieldNode]:
    """The fields of a selection set, through its fragments (for connections)."""
    if selection_set is None:
        return []
    found: list[FieldNode] = []
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            found.append(sel)
        elif isinstance(sel, InlineFragmentNode):
            found += _fields(sel.selection_set, fragments)
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value in fragments:
            found += _fields(fragments[sel.name.value].selection_set, fragments)
    return found


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


#: What is worked out once per document (the parser cache hands out one object per query
#: text): actual-cost plans, and requested costs of operations without variables.
_BY_DOCUMENT: dict[tuple[Any, ...], tuple[Any, Any]] = {}
_BY_DOCUMENT_KEPT = 512
T = TypeVar("T")


def _once_per_document(
    schema: GraphQLSchema, document: DocumentNode, key: tuple[Any, ...], make: Callable[[], T]
) -> T:
    full_key = (id(schema), id(document), *key)
    found = _BY_DOCUMENT.get(full_key)
    if found is not None and found[0] == (schema, document):
        made: T = found[1]
        return made
    made = make()
    if len(_BY_DOCUMENT) >= _BY_DOCUMENT_KEPT:
        _BY_DOCUMENT.pop(next(iter(_BY_DOCUMENT)))
    # The schema and document are kept with what was made, so their ids stay theirs.
    _BY_DOCUMENT[full_key] = ((schema, document), made)
    return made


def _root_measures(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    operation_name: str | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    root: Any,
) -> list[tuple[str, Measure | None]]:
    def make() -> list[tuple[str, Measure | None]]:
        plan = _ActualPlan(schema, fragments)
        return [
            (node.alias.value if node.alias else node.name.value, plan.field(node, root))
            for node in _fields(operation.selection_set, fragments)
            if not node.name.value.startswith("__")
        ]

    return _once_per_document(schema, document, ("actual", operation_name), make)


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
    page_size: int = 100,
    data: Mapping[str, Any] | None = None,
    actual: bool = False,
) -> int:
    """The cost of the operation: requested (before it runs), or `actual` given its data."""
    operation = _operation(document, operation_name)
    if operation is None:
        return 0
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    mutation = operation.operation is OperationType.MUTATION
    root = schema.mutation_type if mutation else schema.query_type
    total = 0
    if actual:
        for key, measure in _root_measures(
            schema, document, operation, operation_name, fragments, root
        ):
            if not mutation and (not data or data.get(key) is None):
                continue
            cost = measure(data) if measure is not None else 0
            total += cost + MUTATION_COST if mutation else max(1, cost)
        return total

    def requested() -> int:
        walk = _Walk(schema, fragments, variables or {}, page_size)
        total = 0
        for node in _fields(operation.selection_set, fragments):
            if node.name.value.startswith("__"):
                continue
            cost = walk.field(node, root)
            total += cost + MUTATION_COST if mutation else max(1, cost)
        return total

    if operation.variable_definitions:  # the cost may depend on them (`first: $n`)
        return requested()
    return _once_per_document(schema, document, ("requested", operation_name, page_size), requested)


class QueryCost(SchemaExtension):
    """Refuses a query over the maximum, draws on the caller's bucket, reports the cost."""

    cost: dict[str, Any] | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        request = context.context
        if not isinstance(request, RequestContext):  # a bare schema.execute (tests, tools)
            yield
            return
        settings = request.settings
        document = context.graphql_document
        assert document is not None
        cost_of = functools.partial(
            query_cost,
            context.schema._schema,
            document,
            operation_name=context.operation_name,
            variables=context.variables,
            page_size=settings.max_page_size,
        )
        requested = cost_of()
        bucket = request.services.cost_bucket
        subject = bucket_subject(request)
        now = request.now().timestamp()
        try:
            if requested > settings.max_query_cost:
                status = await bucket.give_back(subject, 0, now)
                context.result = _refused(
                    f"The query costs {requested}, more than the maximum of "
                    f"{settings.max_query_cost}. Ask for fewer items (first) or fields.",
                    {
                        "code": MAX_COST_EXCEEDED,
                        "cost": requested,
                        "maxCost": settings.max_query_cost,
                    },
                )
                self.cost = _report(requested, 0, status)
                yield
                return
            status = await bucket.take(subject, requested, now)
        except ThrottleStorageDown as exc:
            # The bucket lives in Redis: with Redis out of reach the request is not run,
            # and answers 503 (the edge maps SERVICE_UNAVAILABLE) rather than a raw error.
            context.result = GraphQLExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        UNAVAILABLE_MESSAGE,
                        original_error=exc,
                        extensions={"code": SERVICE_UNAVAILABLE},
                    )
                ],
            )
            yield
            return
        if not status.ok:
            context.result = _refused(
                f"Too much work asked for at once. Try again in {status.retry_after_seconds} "
                "seconds.",
                {"code": THROTTLED, "retryAfterSeconds": status.retry_after_seconds},
            )
            self.cost = _report(requested, 0, status)
            yield
            return
        yield
        actual = cost_of(data=getattr(context.result, "data", None), actual=True)
        try:
            status = await bucket.give_back(subject, requested - actual, request.now().timestamp())
        except ThrottleStorageDown:
            # Redis went away while the query ran: its answer stands; the unused cost is
            # not refunded (the bucket refills on its own).
            self.cost = {"requestedQueryCost": requested, "actualQueryCost": actual}
            return
        self.cost = _report(requested, actual, status)

    def get_results(self) -> dict[str, Any]:
        return {"cost": self.cost} if self.cost is not None else {}


def _refused(message: str, extensions: dict[str, Any]) -> GraphQLExecutionResult:
    return GraphQLExecutionResult(data=None, errors=[GraphQLError(message, extensions=extensions)])


def _report(requested: int, actual: int, status: BucketStatus) -> dict[str, Any]:
    return {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": status.as_extension(),
    }
