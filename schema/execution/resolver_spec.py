"""Calling a Strawberry field's synchronous resolver without its per-field wrapping."""

from __future__ import annotations

import enum
import inspect
from typing import Any, ClassVar

from graphql import GraphQLField
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField


class ResolverSpec:
    """What calling a Strawberry field's synchronous resolver takes (see `_resolver_call`)."""

    _known: ClassVar[dict[int, tuple[StrawberryField, ResolverSpec | None]]] = {}

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
    def of(cls, field_def: GraphQLField) -> ResolverSpec | None:
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
    def _make(cls, field_def: GraphQLField, field: StrawberryField) -> ResolverSpec | None:
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
