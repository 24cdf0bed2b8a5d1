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

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

#: Completes a value read from its source, or raises `_Bail`.
Complete = Callable[[Any], Any]
#: A selection set's plan: per response name, its fields and the fast answer (or None).
Plan = list[tuple[str, FieldDetailsList, Callable[[Any], Any] | None]]


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

    # -- planning ------------------------------------------------------------------

    def _plan(self, parent_type: GraphQLObjectType, fields: GroupedFieldSet) -> tuple[Plan, bool]:
        """The plan of one selection set on `parent_type`, and whether all of it is fast."""
        cached = self._plans.get(id(fields))
        if cached is not None:
            return cached[1], cached[2]
        plan: Plan = [
            (name, details, self._fast_field(parent_type, details))
            for name, details in fields.items()
        ]
        all_fast = all(fast is not None for _, _, fast in plan)
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
            return lambda _source: typename
        field_def = parent_type.fields.get(name)
        attribute = _basic_attribute(field_def) if field_def is not None else None
        if attribute is None or field_def is None:
            return None
        complete = self._completer(field_def.type, details)
        if complete is None:
            return None
        return lambda source: complete(getattr(source, attribute))

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
        answers = [(name, fast) for name, _, fast in plan]

        def object_of(value: Any) -> Any:
            if value is None:
                return None
            if is_type_of is not None and not is_type_of(value, None):  # type: ignore[arg-type]
                raise _Bail
            return {name: fast(value) for name, fast in answers}  # type: ignore[misc]

        return object_of

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
            for response_name, details, fast in plan:
                if fast is not None:
                    try:
                        results[response_name] = fast(source_value)
                        continue
                    except Exception:  # noqa: S110 - graphql-core answers it below
                        pass
                result = self.execute_field(
                    parent_type,
                    source_value,
                    details,
                    Path(path, response_name, parent_type.name),
                    position_context,
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


def _made_by_strawberry(is_type_of: Callable[..., Any]) -> bool:
    """Strawberry's own `is_type_of` checks the object's class and ignores `info`."""
    return getattr(is_type_of, "__module__", "") == "strawberry.schema.schema_converter"
