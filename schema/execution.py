"""Field execution with a fast path for plain subtrees (the schema's `execution_context_class`).

graphql-core resolves every field the same way: a `Path`, a `GraphQLResolveInfo` (and
Strawberry's `Info` around it), the resolver, then `complete_value` walking the type. For
a field with no resolver of its own (a Strawberry "basic" field: no resolver, permission
or extension, no arguments) whose type is a scalar, an enum, or a list of them or an
object made only of such fields, all of that reduces to reading an attribute and
coercing a leaf. `FastExecutor` plans each selection set once per request and answers
those fields (the 20 products of each of 50 clients, their edges, nodes and names) by a
tight loop over the plan.

The fast path never reports anything itself: a value it does not expect (`None` where
the type is non-null, a value the scalar refuses, an object `is_type_of` refuses, an
awaitable, an exception) makes it give the field back to graphql-core, which resolves
it again from the start and answers exactly as it always does, errors, paths and all.
Reading an attribute has no effect, so doing it twice changes nothing. Fields with a
resolver, arguments, directives (`@stream`, `@defer`) or abstract types always take
graphql-core's path.
"""

from __future__ import annotations

import contextlib
import enum
import inspect
from collections.abc import Callable
from typing import Any, ClassVar

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

from resolvers.pagination import encode_cursor
from schema.base import PageConnection, RowReader

#: Completes a value read from its source, or raises `_Bail`.
Complete = Callable[[Any], Any]
#: Executes one field with a resolver: (source, path) -> its completed value (or awaitable).
Call = Callable[[Any, Path], Any]
#: A selection set's plan: per response name, its fields, the fast answer of a plain field
#: (or None) and the lean call of a field with a synchronous resolver (or None).
Plan = list[tuple[str, FieldDetailsList, Callable[[Any], Any] | None, Call | None]]


class _Bail(Exception):
    """The fast path met a value it does not handle: graphql-core answers the field."""


def _bail(_value: Any) -> Any:
    raise _Bail


class FastExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor with plain subtrees answered from a per-request plan."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Strawberry always passes a manager; one without middleware wraps nothing.
        if self.middleware_manager is not None and not self.middleware_manager.middlewares:
            self.middleware_manager = None
        # Keyed by the identity of graphql-core's memoized grouped field sets, which
        # stay alive (and so unique) for the executor's life; the value keeps them so.
        self._plans: dict[int, tuple[GroupedFieldSet, Plan, bool]] = {}
        # What each planned basic field reads: its attribute (None: `__typename`, whose
        # "completer" answers the type's name) and the completer of what it reads.
        self._reads: dict[Callable[[Any], Any], tuple[str | None, Complete]] = {}

    # -- planning ------------------------------------------------------------------

    def _plan(self, parent_type: GraphQLObjectType, fields: GroupedFieldSet) -> tuple[Plan, bool]:
        """The plan of one selection set on `parent_type`, and whether all of it is fast."""
        cached = self._plans.get(id(fields))
        if cached is not None:
            return cached[1], cached[2]
        plan: Plan = []
        # A subscription's root field runs as graphql-core runs it (its event is the root).
        plain = parent_type is not self.schema.subscription_type
        for name, details in fields.items():
            fast = self._fast_field(parent_type, details) if plain else None
            call = self._resolver_call(parent_type, details) if plain and not fast else None
            plan.append((name, details, fast, call))
        all_fast = all(fast is not None for _, _, fast, _ in plan)
        self._plans[id(fields)] = (fields, plan, all_fast)
        return plan, all_fast

    def _fast_field(
        self, parent_type: GraphQLObjectType, details: FieldDetailsList
    ) -> Callable[[Any], Any] | None:
        node = details[0].node
        if any(d.node.directives or d.node.arguments for d in details):
            return None
        name = node.name.value
        if name == "__typename":
            typename = parent_type.name

            def constant(_value: Any) -> str:
                return typename

            self._reads[constant] = (None, constant)
            return constant
        field_def = parent_type.fields.get(name)
        attribute = _basic_attribute(field_def) if field_def is not None else None
        if attribute is None or field_def is None:
            return None
        complete = self._completer(field_def.type, details)
        if complete is None:
            return None
        if attribute == "edges" and _is_page_of_edges(field_def):
            return self._edges_field(field_def, details, complete)

        def read(source: Any) -> Any:
            return complete(getattr(source, attribute))

        self._reads[read] = (attribute, complete)
        return read

    def _edges_field(
        self, field_def: GraphQLField, details: FieldDetailsList, complete: Complete
    ) -> Callable[[Any], Any]:
        """A connection's `edges`: straight from the rows of a `PageConnection` whose
        nodes a `RowReader` makes, when every field asked of them is read by it."""
        from_rows = _EdgesFromRows(self, get_named_type(field_def.type), details)

        def edges(source: Any) -> Any:
            if type(source) is PageConnection:
                answered = from_rows.answer(source)
                if answered is not None:
                    return answered
            return complete(source.edges)

        return edges

    def _completer(self, type_: GraphQLOutputType, details: FieldDetailsList) -> Complete | None:
        """A function completing a value of `type_` the way graphql-core would, for the
        cases where that is plain; None when `type_` needs graphql-core."""
        if is_non_null_type(type_):
            inner = self._completer(type_.of_type, details)
            if inner is None:
                return None

            def non_null(value: Any) -> Any:
                if value is None:
                    raise _Bail
                completed = inner(value)
                if completed is None:
                    raise _Bail
                return completed

            return non_null
        if is_list_type(type_):
            item = self._completer(type_.of_type, details)
            if item is None:
                return None

            def list_of(value: Any) -> Any:
                if value is None:
                    return None
                if type(value) is not list and type(value) is not tuple:
                    raise _Bail
                return [item(v) for v in value]

            return list_of
        if isinstance(type_, GraphQLEnumType):
            return _enum_completer(type_)
        if is_leaf_type(type_):
            coerce = type_.coerce_output_value

            def leaf(value: Any) -> Any:
                if value is None:
                    return None
                if value is Undefined or isinstance(value, Exception):
                    raise _Bail
                coerced = coerce(value)
                if coerced is None or coerced is Undefined:
                    raise _Bail
                return coerced

            return leaf
        if is_object_type(type_):
            return self._object_completer(type_, details)
        return None

    def _object_completer(
        self, type_: GraphQLObjectType, details: FieldDetailsList
    ) -> Complete | None:
        is_type_of = type_.is_type_of
        if is_type_of is not None and not _made_by_strawberry(is_type_of):
            return None
        fields, defer_usages, _ = self.collect_subfields(type_, details)
        if defer_usages:
            return None
        plan, all_fast = self._plan(type_, fields)
        if not all_fast:
            return None
        answers = [(name, fast) for name, _, fast, _ in plan]

        def object_of(value: Any) -> Any:
            if value is None:
                return None
            if is_type_of is not None and not is_type_of(value, None):  # type: ignore[arg-type]
                raise _Bail
            return {name: fast(value) for name, fast in answers}  # type: ignore[misc]

        return object_of

    def _resolver_call(
        self, parent_type: GraphQLObjectType, details: FieldDetailsList
    ) -> Call | None:
        """Strawberry's resolver of a field, called without its per-field wrapping: the
        same arguments (converted once per request: they are literals or variables), the
        same permission classes asked first (a refusal raises `on_unauthorized()`'s error,
        as Strawberry does), the same completion. Anything else (a permission answering
        no bool, async resolvers, other field extensions, directives): Strawberry's path."""
        node = details[0].node
        if any(d.node.directives for d in details):
            return None
        field_def = parent_type.fields.get(node.name.value)
        spec = _ResolverSpec.of(field_def) if field_def is not None else None
        if spec is None or field_def is None:
            return None
        try:
            raw = (
                get_argument_values(
                    field_def,
                    node,
                    self.variable_values,
                    details[0].fragment_variable_values,
                    self.hide_suggestions,
                )
                if field_def.args or node.arguments
                else {}
            )
        except Exception:
            return None
        nodes = [d.node for d in details]
        return_type = field_def.type
        complete = self._completer(return_type, details)
        strawberry_schema = self.schema._strawberry_schema  # type: ignore[attr-defined]
        config = strawberry_schema.config
        info_class = config.info_class
        converted: list[dict[str, Any] | None] = []  # once per request: [kwargs or None]

        def call(source: Any, path: Path) -> Any:
            info = self.build_resolve_info(field_def, nodes, parent_type, path)
            strawberry_info = info_class(_raw_info=info, _field=spec.field)
            try:
                if not converted:
                    converted.append(spec.convert(raw, strawberry_info, strawberry_schema))
                if converted[0] is None:
                    return _SLOW
                kwargs = dict(converted[0])
                for permission in spec.permissions:
                    allowed = permission.has_permission(source, strawberry_info, **kwargs)
                    if allowed is False:
                        permission.on_unauthorized()  # raises the field's error, as Strawberry
                    if allowed is not True:
                        return _SLOW
                args = [source] if spec.self_parameter else []
                for name in spec.source_parameters:
                    kwargs[name] = source
                if spec.info_parameter is not None:
                    kwargs[spec.info_parameter] = strawberry_info
                result = spec.resolver(*args, **kwargs)
                if self.is_awaitable(result):
                    return self.complete_awaitable_value(
                        return_type, details, info, path, result, None
                    )
                if complete is not None:
                    try:
                        return complete(result)
                    except Exception:  # noqa: S110 - graphql-core completes it below
                        pass
                completed = self.complete_value(return_type, details, info, path, result, None)
                if self.is_awaitable(completed):
                    return self._await_completed(completed, return_type, details, path)
                return completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, return_type, details, path)
                return None

        return call

    async def _await_completed(
        self, completed: Any, return_type: GraphQLOutputType, details: FieldDetailsList, path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, path)
            return None

    # -- execution -----------------------------------------------------------------

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        if position_context is not None or self.middleware_manager is not None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        plan, _ = self._plan(parent_type, grouped_field_set)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, details, fast, call in plan:
                if fast is not None:
                    try:
                        results[response_name] = fast(source_value)
                        continue
                    except Exception:  # noqa: S110 - graphql-core answers it below
                        pass
                field_path = Path(path, response_name, parent_type.name)
                result = _SLOW if call is None else call(source_value, field_path)
                if result is _SLOW:
                    result = self.execute_field(
                        parent_type, source_value, details, field_path, position_context
                    )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()


class _ResolverSpec:
    """What calling a Strawberry field's synchronous resolver takes (see `_resolver_call`)."""

    _known: ClassVar[dict[int, tuple[StrawberryField, _ResolverSpec | None]]] = {}

    def __init__(self, field: StrawberryField, permissions: list[BasePermission]) -> None:
        resolver = field.base_resolver
        assert resolver is not None
        self.field = field
        self.resolver = resolver
        self.permissions = permissions
        self.self_parameter = resolver.self_parameter is not None
        self.source_parameters = [
            p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None
        ]
        self.info_parameter = resolver.info_parameter.name if resolver.info_parameter else None

    @classmethod
    def of(cls, field_def: GraphQLField) -> _ResolverSpec | None:
        definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if not isinstance(definition, StrawberryField):
            return None
        known = cls._known.get(id(definition))
        if known is not None and known[0] is definition:
            return known[1]
        spec = cls._make(field_def, definition)
        cls._known[id(definition)] = (definition, spec)
        return spec

    @classmethod
    def _make(cls, field_def: GraphQLField, field: StrawberryField) -> _ResolverSpec | None:
        resolve = field_def.resolve
        if (
            field.base_resolver is None
            or field.is_async
            or resolve is None
            or getattr(resolve, "__name__", "") != "_resolver"
            or (inspect.getclosurevars(resolve).nonlocals.get("field_exception_handlers"))
        ):
            return None
        permissions: list[BasePermission] = []
        for extension in field.extensions:
            if type(extension) is not PermissionExtension or extension.fail_silently:
                return None
            if not extension.supports_sync:
                return None
            permissions.extend(extension.permissions)
        return cls(field, permissions)

    def convert(self, raw: dict[str, Any], info: Any, schema: Any) -> dict[str, Any] | None:
        """The resolver's keyword arguments, as Strawberry converts them; None when one is
        not a plain immutable value (each call then converts its own, on Strawberry's path)."""
        kwargs = convert_arguments(
            raw,
            self.field.arguments,
            scalar_registry=schema.schema_converter.scalar_registry,
            config=schema.config,
            info=info,
        )
        for extension in self.field.extensions:
            kwargs = extension.map_arguments(kwargs)
        if not all(isinstance(v, _IMMUTABLE) for v in kwargs.values()):
            return None
        return kwargs


_IMMUTABLE = (str, int, float, bool, type(None), enum.Enum)
_SLOW = object()  # a field `_resolver_call` gives back to Strawberry's path


def _basic_attribute(field_def: GraphQLField) -> str | None:
    """The attribute a Strawberry basic field reads (no resolver, permission, extension or
    exception handler: Strawberry resolves it with `_get_basic_result`), else None."""
    resolve = field_def.resolve
    if resolve is None or getattr(resolve, "__name__", "") != "_get_basic_result":
        return None
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if definition is None or not definition.is_basic_field:
        return None
    if definition.default_resolver is not getattr:
        return None
    name: str = definition.python_name
    return name


def _enum_completer(type_: GraphQLEnumType) -> Complete:
    """An enum's name by a dict lookup. Strawberry's `coerce_output_value` scans the
    values for each member it is given (a dozen comparisons per product's `family`); the
    table answers the same name for the same members (by their value, as Strawberry
    compares them) and raw values (graphql-core's lookup). Anything else is coerced as
    graphql-core would, and what it refuses gives the field back (`_Bail`)."""
    names: dict[Any, str] = {}
    for name, value in type_.values.items():
        with contextlib.suppress(TypeError):  # an unhashable value: coerce finds it
            names.setdefault(value.value, name)
    wrapped = getattr(type_, "wrapped_cls", None)
    if isinstance(wrapped, type) and issubclass(wrapped, enum.Enum):
        for member in wrapped:
            for name, value in type_.values.items():
                if member.value == value.value:
                    names[member] = name
                    break
    coerce: Callable[[Any], Any] = type_.coerce_output_value
    find = names.get

    def leaf(value: Any) -> Any:
        if value is None:
            return None
        try:
            found = find(value)
        except TypeError:  # unhashable
            found = None
        if found is not None:
            return found
        if value is Undefined or isinstance(value, Exception):
            raise _Bail
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _Bail
        return coerced

    return leaf


def _made_by_strawberry(is_type_of: Callable[..., Any]) -> bool:
    """Strawberry's own `is_type_of` checks the object's class and ignores `info`."""
    return getattr(is_type_of, "__module__", "") == "strawberry.schema.schema_converter"


def _is_page_of_edges(field_def: GraphQLField) -> bool:
    """Whether a field named `edges` is a relay connection's: a list of edge objects."""
    edge = get_named_type(field_def.type)
    return is_list_type(get_nullable_type(field_def.type)) and (
        is_object_type(edge) and "node" in edge.fields and "cursor" in edge.fields
    )


EdgeFromRow = Callable[[Any, int], dict[str, Any]]


class _EdgesFromRows:
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
        plan, all_fast = self._executor._plan(type_, fields)
        return plan if all_fast else None

    def _compile(self, reader: RowReader[Any]) -> EdgeFromRow | None:
        plan = self._plain_plan(self._edge_type, self._details)
        if plan is None:
            return None
        reads = self._executor._reads
        node: Callable[[Any], dict[str, Any]] | None = None
        node_name = ""
        rest: list[tuple[str, bool, Complete]] = []  # (response name, is the cursor, complete)
        for name, details, fast, _ in plan:
            attribute, complete = reads[fast]  # type: ignore[index]
            if attribute == "node" and node is None:
                node = self._node(
                    get_named_type(self._edge_type.fields["node"].type), details, reader
                )
                node_name = name
                if node is None:
                    return None
            elif attribute in (None, "cursor"):
                rest.append((name, attribute == "cursor", complete))
            else:
                return None
        if node is None:
            return None
        make_node = node
        if not rest:
            return lambda row, _key: {node_name: make_node(row)}
        order = [name for name, _, _, _ in plan]

        def edge(row: Any, key: int) -> dict[str, Any]:
            answered = {node_name: make_node(row)}
            for name, is_cursor, complete in rest:
                answered[name] = complete(encode_cursor(key) if is_cursor else None)
            return {name: answered[name] for name in order}

        return edge

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
        reads = self._executor._reads
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
        return lambda row: {name: complete(read(row)) for name, read, complete in columns}


def _nothing(_row: Any) -> None:
    return None
