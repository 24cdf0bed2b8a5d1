"""What the fast path plans with: the shapes of a plan, and the plain fields it reads."""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable
from typing import Any

from graphql import GraphQLEnumType, GraphQLField
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema_converter import GraphQLCoreConverter

#: Completes a value read from its source, or raises `Bail`.
Complete = Callable[[Any], Any]
#: Executes one field with a resolver: (source, path) -> its completed value (or awaitable).
Call = Callable[[Any, Path], Any]
#: A selection set's plan: per response name, its fields, the fast answer of a plain field
#: (or None) and the lean call of a field with a synchronous resolver (or None).
Plan = list[tuple[str, FieldDetailsList, Callable[[Any], Any] | None, Call | None]]


class Bail(Exception):
    """The fast path met a value it does not handle: graphql-core answers the field."""


def basic_attribute(field_def: GraphQLField) -> str | None:
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


def enum_completer(type_: GraphQLEnumType) -> Complete:
    """An enum's name by a dict lookup. Strawberry's `coerce_output_value` scans the
    values for each member it is given (a dozen comparisons per product's `family`); the
    table answers the same name for the same members (by their value, as Strawberry
    compares them) and raw values (graphql-core's lookup). Anything else is coerced as
    graphql-core would, and what it refuses gives the field back (`Bail`)."""
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
    coerced = leaf_completer(type_.coerce_output_value)
    find = names.get

    def leaf(value: Any) -> Any:
        try:
            found = find(value)
        except TypeError:  # unhashable
            found = None
        return found if found is not None else coerced(value)

    return leaf


def leaf_completer(coerce: Callable[[Any], Any]) -> Complete:
    """A scalar's or enum's value as graphql-core completes it (`coerce`: the type's
    `coerce_output_value`); what it refuses gives the field back (`Bail`)."""

    def leaf(value: Any) -> Any:
        if value is None:
            return None
        if value is Undefined or isinstance(value, Exception):
            raise Bail
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise Bail
        return coerced

    return leaf


def made_by_strawberry(is_type_of: Callable[..., Any]) -> bool:
    """Strawberry's own `is_type_of` checks the object's class and ignores `info`."""
    return getattr(is_type_of, "__module__", "") == "strawberry.schema.schema_converter"
