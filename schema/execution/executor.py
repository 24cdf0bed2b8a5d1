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
graphql-core's path. A connection's `edges` read from a `PageConnection` whose nodes a
`RowReader` makes are completed straight from the page's rows (`rows.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLEnumType,
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfoHelpers,
    GraphQLString,
    get_named_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.base import PageConnection
from schema.execution.plans import (
    Bail,
    Call,
    Complete,
    Plan,
    basic_attribute,
    enum_completer,
    leaf_completer,
    made_by_strawberry,
)
from schema.execution.resolver_spec import ResolverSpec
from schema.execution.rows import EdgesFromRows, is_page_of_edges


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
        self.reads: dict[Callable[[Any], Any], tuple[str | None, Complete]] = {}

    # -- planning ------------------------------------------------------------------

    def plan_of(self, parent_type: GraphQLObjectType, fields: GroupedFieldSet) -> tuple[Plan, bool]:
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

            self.reads[constant] = (None, constant)
            return constant
        field_def = parent_type.fields.get(name)
        attribute = basic_attribute(field_def) if field_def is not None else None
        if attribute is None or field_def is None:
            return None
        complete = self._completer(field_def.type, details)
        if complete is None:
            return None
        if attribute == "edges" and is_page_of_edges(field_def):
            return self._edges_field(field_def, details, complete)

        def read(source: Any) -> Any:
            return complete(getattr(source, attribute))

        self.reads[read] = (attribute, complete)
        return read

    def _edges_field(
        self, field_def: GraphQLField, details: FieldDetailsList, complete: Complete
    ) -> Callable[[Any], Any]:
        """A connection's `edges`: straight from the rows of a `PageConnection` whose
        nodes a `RowReader` makes, when every field asked of them is read by it."""
        from_rows = EdgesFromRows(self, get_named_type(field_def.type), details)

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
                    raise Bail
                completed = inner(value)
                if completed is None:
                    raise Bail
                return completed

            if type_.of_type is GraphQLString:
                # A str is its own String (graphql-core's serialize returns it): one call
                # for the names of a page's nodes rather than three.
                def non_null_string(value: Any) -> Any:
                    return value if type(value) is str else non_null(value)

                return non_null_string
            return non_null
        if is_list_type(type_):
            item = self._completer(type_.of_type, details)
            if item is None:
                return None

            def list_of(value: Any) -> Any:
                if value is None:
                    return None
                if type(value) is not list and type(value) is not tuple:
                    raise Bail
                return [item(v) for v in value]

            return list_of
        if isinstance(type_, GraphQLEnumType):
            return enum_completer(type_)
        if is_leaf_type(type_):
            return leaf_completer(type_.coerce_output_value)
        if is_object_type(type_):
            return self._object_completer(type_, details)
        return None

    def _object_completer(
        self, type_: GraphQLObjectType, details: FieldDetailsList
    ) -> Complete | None:
        is_type_of = type_.is_type_of
        if is_type_of is not None and not made_by_strawberry(is_type_of):
            return None
        fields, defer_usages, _ = self.collect_subfields(type_, details)
        if defer_usages:
            return None
        plan, all_fast = self.plan_of(type_, fields)
        if not all_fast:
            return None
        answers = [(name, fast) for name, _, fast, _ in plan]

        def object_of(value: Any) -> Any:
            if value is None:
                return None
            if is_type_of is not None and not is_type_of(value, None):  # type: ignore[arg-type]
                raise Bail
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
        spec = ResolverSpec.of(field_def) if field_def is not None else None
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

        # A resolver asking neither its info nor a permission is called without one (the
        # client's `grant` of every row of a page); graphql-core's paths still get theirs.
        needs_info = bool(spec.permissions) or spec.info_parameter is not None

        def call(source: Any, path: Path) -> Any:
            info = None
            try:
                if needs_info or not converted:
                    info = self.build_resolve_info(field_def, nodes, parent_type, path)
                    strawberry_info = info_class(_raw_info=info, _field=spec.field)
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
                awaitable = self.is_awaitable(result)
                if complete is not None and not awaitable:
                    try:
                        return complete(result)
                    except Exception:  # noqa: S110 - graphql-core completes it below
                        pass
                if info is None:
                    info = self.build_resolve_info(field_def, nodes, parent_type, path)
                if awaitable:
                    return self.complete_awaitable_value(
                        return_type, details, info, path, result, None
                    )
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

    def build_response(self, data: dict[str, Any] | None) -> Any:
        # The plans' closures refer to this executor: emptied once the answer is built,
        # the executor and its plans go by reference counting, not in a collection that
        # would also walk every live object of the requests in flight.
        response = super().build_response(data)
        self._plans.clear()
        self.reads.clear()
        if type(response) is ExecutionResult:  # nothing runs later (no @defer, @stream)
            # graphql-core's helpers are bound methods of the executor: another cycle.
            self.async_helpers = _FINISHED
        return response

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
        plan, _ = self.plan_of(parent_type, grouped_field_set)
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


_SLOW = object()  # a field `_resolver_call` gives back to Strawberry's path


def _finished(*_args: Any) -> Any:
    raise RuntimeError("the operation's execution is finished")


_FINISHED = GraphQLResolveInfoHelpers(gather=_finished, track=_finished)
