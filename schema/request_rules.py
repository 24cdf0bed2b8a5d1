"""Validation rules of the public edge, each a class made once (so strawberry's
ValidationCache, keyed by the rule classes, keeps hitting):

- at most one password-checking field per request, aliased or not: a second one refuses
  the whole request before any password is checked (PASSWORD_FIELDS_LIMIT);
- no list literal longer than `max_list_length` (variables are checked before parsing, in
  `app.request_limits`);
- introspection only where the settings allow it.

A mutation that checks a password (or hashes one) is listed in PASSWORD_CHECKING_FIELDS.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    ListValueNode,
    ValidationContext,
    ValidationRule,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from graphql.validation.rules import ASTValidationRule

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
