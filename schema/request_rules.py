"""Validation rules of the public edge, each a class made once (so strawberry's
ValidationCache, keyed by the rule classes, keeps hitting):

- at most one password-checking field per request, aliased or not: a second one refuses
  the whole request before any password is checked (PASSWORD_FIELDS_LIMIT);
- no list literal longer than `max_list_length` (variables are checked before parsing, in
  `app.request_limits`);
- introspection only where the settings allow it;
- before validation (an extension, as validating hundreds of aliased fields is itself
  the cost): at most `max_aliases` aliases (MAX_ALIASES_EXCEEDED).

A mutation that checks a password (or hashes one) is listed in PASSWORD_CHECKING_FIELDS.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from graphql.validation.rules import ASTValidationRule
from strawberry.extensions import SchemaExtension, ValidationCache

from domain.error_codes import ErrorCode

#: Mutation fields that check (or hash) a password. Add yours here.
PASSWORD_CHECKING_FIELDS = frozenset(
    {"login", "signUp", "stopCollaboration", "changePassword", "resetPassword"}
)
PASSWORD_FIELDS_LIMIT = ErrorCode.PASSWORD_FIELDS_LIMIT
LIST_TOO_LONG = ErrorCode.LIST_TOO_LONG


class OnePasswordCheckPerRequest(ValidationRule):
    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.seen = 0

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        parent = self.context.get_parent_type()
        schema = self.context.schema
        if (
            parent is not None
            and parent is schema.mutation_type
            and node.name.value in PASSWORD_CHECKING_FIELDS
        ):
            self.seen += 1
            if self.seen == 2:
                self.report_error(
                    GraphQLError(
                        "At most one field that checks a password per request.",
                        node,
                        extensions={"code": PASSWORD_FIELDS_LIMIT},
                    )
                )


def list_length_rule(max_length: int) -> type[ASTValidationRule]:
    class ListLengthCap(ValidationRule):
        def enter_list_value(self, node: ListValueNode, *_args: Any) -> None:
            if len(node.values) > max_length:
                self.report_error(
                    GraphQLError(
                        f"A list input holds at most {max_length} items.",
                        node,
                        extensions={"code": LIST_TOO_LONG},
                    )
                )

    return ListLengthCap


def edge_rules(*, max_list_length: int, introspection: bool) -> list[type[ASTValidationRule]]:
    rules: list[type[ASTValidationRule]] = [
        OnePasswordCheckPerRequest,
        list_length_rule(max_list_length),
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return rules


MAX_ALIASES_EXCEEDED = ErrorCode.MAX_ALIASES_EXCEEDED


def count_aliases(document: DocumentNode) -> int:
    """Aliased fields in the operations, each fragment counted at every spread of it (a
    fragment spread many times multiplies its aliases); a cyclic fragment counts once."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    memo: dict[str, int] = {}
    return sum(
        _aliases(d.selection_set, frozenset(), fragments, memo)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )


def _aliases(
    selection_set: SelectionSetNode | None,
    visiting: frozenset[str],
    fragments: dict[str, FragmentDefinitionNode],
    memo: dict[str, int],
) -> int:
    # A module function rather than a recursive closure: a closure that calls itself is a
    # reference cycle, left for the collector once per request.
    total = 0
    stack = [selection_set] if selection_set is not None else []
    while stack:
        current = stack.pop()
        for sel in current.selections:
            if isinstance(sel, FieldNode):
                total += sel.alias is not None
                if sel.selection_set is not None:
                    stack.append(sel.selection_set)
            elif isinstance(sel, InlineFragmentNode):
                stack.append(sel.selection_set)
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                if name in visiting or name not in fragments:
                    continue
                if name not in memo:
                    memo[name] = _aliases(
                        fragments[name].selection_set, visiting | {name}, fragments, memo
                    )
                total += memo[name]
    return total


def alias_limit(max_aliases: int) -> type[SchemaExtension]:
    """Refuses a document with more than `max_aliases` aliases before it is validated
    (validating hundreds of aliased fields is itself the expensive part)."""

    class AliasLimit(SchemaExtension):
        def on_validate(self) -> Iterator[None]:
            context = self.execution_context
            document = context.graphql_document
            if document is not None and count_aliases(document) > max_aliases:
                context.pre_execution_errors = [
                    GraphQLError(
                        f"At most {max_aliases} aliases per request.",
                        extensions={"code": MAX_ALIASES_EXCEEDED},
                    )
                ]
            yield

    return AliasLimit


class EdgeValidationCache(ValidationCache):
    """strawberry's ValidationCache, that leaves a document refused before validation
    (`alias_limit`) refused instead of validating it anyway."""

    def on_validate(self) -> Iterator[None]:
        if self.execution_context.pre_execution_errors:
            yield
            return
        yield from super().on_validate()
