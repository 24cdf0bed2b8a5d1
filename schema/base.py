"""Shared GraphQL shapes: Money, user errors, enums, connections built from SQL pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import strawberry
from strawberry import relay

from domain import enums
from domain.error_codes import ERROR_CODE_DESCRIPTIONS, ErrorCode
from domain.errors import DomainError
from domain.money import Currency as CurrencyEnum
from resolvers.pagination import Page, PageRequest, encode_cursor
from schema.context import Info

N = TypeVar("N", bound=relay.Node)

Currency = CurrencyEnum
Role = enums.Role
Side = enums.Side
GrantStatus = enums.GrantStatus
AccessLevel = enums.AccessLevel
PaymentMethods = enums.PaymentMethods
PartnerStatus = enums.PartnerStatus
ProductStatus = enums.ProductStatus
InvoiceStatus = enums.InvoiceStatus
OrganizationKind = enums.OrganizationKind
ApiTokenAccess = enums.ApiTokenAccess

# Registered once with Strawberry (it marks the class); the names stay real types for mypy.
for _enum, _description in [
    (Currency, "A currency the program sells in."),
    (Role, "A member's role in an organization."),
    (Side, "A side of a partnership."),
    (GrantStatus, "Where a grant is in its lifecycle."),
    (AccessLevel, "LIMITED: chosen products; FULL: the whole organization."),
    (PaymentMethods, "Whose wallet pays under a FULL grant."),
    (PartnerStatus, "A partner's program status."),
    (ProductStatus, "A product's status."),
    (InvoiceStatus, "An invoice's payment status."),
    (OrganizationKind, "A company or an individual."),
    (ApiTokenAccess, "What an API token may do: read, or read and write."),
]:
    strawberry.enum(_enum, description=_description)

strawberry.enum(
    ErrorCode,
    description="Why something was refused: the one set of codes of `userErrors` and "
    "`errors[].extensions.code`.",
)
for _value in ErrorCode.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = ERROR_CODE_DESCRIPTIONS[ErrorCode(_value.value)]


def field_path(field: str | None) -> list[str] | None:
    """An input field named `a.b.0` as the path `["a", "b", "0"]` (Shopify's `field`)."""
    return field.split(".") if field else None


@strawberry.type(description="An exact amount of money: a decimal string and its currency.")
class Money:
    amount: Decimal = strawberry.field(description="Exact amount, two decimals.")
    currency: Currency = strawberry.field(description="ISO 4217 currency code.")


@strawberry.type(description="Why a mutation did not happen. Nothing was written.")
class UserError:
    field: list[str] | None = strawberry.field(
        description='The path to the input field at fault (e.g. `["lines", "0", '
        '"quantity"]`), relative to the mutation\'s `input`; null when no one field is.'
    )
    message: str = strawberry.field(description="A sentence for a person.")
    code: ErrorCode = strawberry.field(description="A stable code to switch on.")

    @classmethod
    def of(cls, error: DomainError) -> UserError:
        return cls(field=field_path(error.field), message=error.message, code=error.code)


def page_request(info: Info, first: int | None, after: str | None) -> PageRequest:
    return PageRequest.of(first, after, maximum=info.context.settings.max_page_size)


class _PageEdge(relay.Edge[Any]):
    """An edge whose cursor is encoded only when a query asks for it (most pages are
    shown, not paged through). GraphQL sees a plain `Edge`."""

    key: int

    @classmethod
    def of(cls, node: Any, key: int) -> _PageEdge:
        edge = object.__new__(cls)
        edge.node = node
        edge.key = key
        return edge

    @property
    def cursor(self) -> str:
        return encode_cursor(self.key)


def to_connection(page: Page[Any], wrap: Callable[[Any], N]) -> relay.Connection[N]:
    edges: list[relay.Edge[N]] = [
        _PageEdge.of(wrap(item), key) for item, key in zip(page.items, page.keys, strict=True)
    ]
    return relay.Connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=encode_cursor(page.keys[0]) if edges else None,
            end_cursor=encode_cursor(page.keys[-1]) if edges else None,
        ),
    )


P = TypeVar("P")


async def mutate(payload: Callable[..., P], action: Callable[[], Awaitable[dict[str, Any]]]) -> P:
    """Run a use case; a rule it breaks becomes `userErrors`, never a half-done write."""
    try:
        fields = await action()
    except DomainError as error:
        return payload(user_errors=[UserError.of(error)])
    return payload(user_errors=[], **fields)
