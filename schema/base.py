"""Shared GraphQL shapes: Money, user errors, enums, connections built from SQL pages."""

from __future__ import annotations

import dataclasses
import enum
import functools
import operator
from collections.abc import Awaitable, Callable, Iterable, Iterator
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)
from strawberry import relay
from strawberry.relay.types import NodeType
from strawberry.types.nodes import SelectedField, Selection

from config.logs import note_error_code
from domain import enums
from domain.error_codes import ERROR_CODE_DESCRIPTIONS, ErrorCode
from domain.errors import DomainError
from domain.money import Currency as CurrencyEnum
from resolvers.pagination import Page, PageRequest, encode_cursor
from schema.context import Info

N = TypeVar("N", bound=relay.Node)
E = TypeVar("E", bound=enum.Enum)

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
ProductFamily = enums.ProductFamily
ProductKind = enums.ProductKind

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
    (ProductFamily, "A product family: partner discounts and quantity tiers are per family."),
    (ProductKind, "What can be ordered: each kind has list prices (see `catalog`)."),
]:
    strawberry.enum(_enum, description=_description)

strawberry.enum(
    ErrorCode,
    description="Why something was refused: the one set of codes of `userErrors` and "
    "`errors[].extensions.code`.",
)
for _value in ErrorCode.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = ERROR_CODE_DESCRIPTIONS[ErrorCode(_value.value)]


_BUILT: set[type[Any]] = set()
T = TypeVar("T")


def build(cls: type[T], fields: dict[str, Any]) -> T:
    """An instance of the Strawberry type `cls` holding `fields`, which must name every
    field its `__init__` takes, made without calling it (keyword arguments, defaults).
    For the nodes a page makes by the thousand (Product, Invoice): several times
    cheaper, and the same object. The first instance of each type is checked."""
    if cls not in _BUILT:
        expected = {f.name for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
        if set(fields) != expected:
            raise TypeError(f"{cls.__name__} has the fields {sorted(expected)}")
        _BUILT.add(cls)
    made = object.__new__(cls)
    made.__dict__ = fields
    return made


def enum_of(kind: type[E]) -> Callable[[str], E]:
    """`kind(value)` by a dict lookup (an Enum call costs a microsecond); an unknown value
    still raises the Enum's ValueError."""
    members: dict[Any, E] = {member.value: member for member in kind}

    def of(value: str) -> E:
        found = members.get(value)
        return found if found is not None else kind(value)

    return of


def product_families(values: Iterable[str] | None) -> list[ProductFamily]:
    """Stored family names as the enum (they are validated on the way in)."""
    return [ProductFamily(value) for value in values or ()]


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
        note_error_code(error.code)  # the request's log line counts it
        return cls(field=field_path(error.field), message=error.message, code=error.code)


First = Annotated[
    int | None,
    strawberry.argument(
        description="Return the first n items (after `after`); at most the server's page "
        "size, which is also the default."
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(description="Return items after this cursor (an edge's `cursor`)."),
]
Last = Annotated[
    int | None,
    strawberry.argument(
        description="Return the last n items (before `before`), for paging backward; "
        "not together with `first`."
    ),
]
Before = Annotated[
    str | None,
    strawberry.argument(description="Return items before this cursor (an edge's `cursor`)."),
]


@strawberry.type(
    description="A page of a list: edges with cursors, the page's bounds, the list's size."
)
class Connection(relay.Connection[NodeType]):
    count: strawberry.Private[int | None] = None

    @strawberry.field(
        description="How many items the whole list holds (of those you may see), whatever "
        "the page; counted only when asked for."
    )
    def total_count(self) -> int:
        if self.count is None:  # every connection counts when `totalCount` is selected
            raise RuntimeError("totalCount was not counted for this connection")
        return self.count


def selects(info: Info, name: str) -> bool:
    """Whether the field being resolved selects `name` (fragments included).

    Read from the document itself: `info.selected_fields` converts the field's whole
    subtree (a page's nested connections and all) for each call, once per connection
    field of every node of a page."""
    raw = info._raw_info
    return any(_selects(node.selection_set, name, raw.fragments) for node in raw.field_nodes)


def _selects(
    selection_set: SelectionSetNode | None,
    name: str,
    fragments: dict[str, FragmentDefinitionNode],
) -> bool:
    for selection in selection_set.selections if selection_set is not None else ():
        if isinstance(selection, FieldNode):
            if selection.name.value == name:
                return True
        elif isinstance(selection, InlineFragmentNode):
            if _selects(selection.selection_set, name, fragments):
                return True
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None and _selects(fragment.selection_set, name, fragments):
                return True
    return False


def fields_of(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    """The fields of a selection set, with fragments (inline or named) flattened."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from fields_of(selection.selections)


def page_request(
    info: Info,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
    *,
    count: bool | None = None,
) -> PageRequest:
    """The page a connection field asks for; it counts the list when `totalCount` is
    selected (`count` says so instead for a connection planned from further up)."""
    return PageRequest.of(
        first,
        after,
        last=last,
        before=before,
        maximum=info.context.settings.max_page_size,
        count=selects(info, "totalCount") if count is None else count,
    )


class RowReader(Generic[T]):
    """How a Strawberry type is made from a row: one reader per attribute (a column name,
    or a function of the row). Calling it makes the object; the executor may instead
    read a plain subtree's attributes straight from the rows of a page (no object per
    node: see `schema.execution`), which answers the same by construction, since both
    read each attribute with the same reader."""

    def __init__(self, **readers: str | Callable[[Any], Any]) -> None:
        self.readers: dict[str, Callable[[Any], Any]] = {
            name: operator.attrgetter(read) if isinstance(read, str) else read
            for name, read in readers.items()
        }
        self.made: type[T] | None = None  # the type it makes: the class it is set on

    def __set_name__(self, owner: type[T], name: str) -> None:
        self.made = owner

    def __call__(self, row: Any) -> T:
        assert self.made is not None, "a RowReader is a class attribute of its type"
        return build(self.made, {name: read(row) for name, read in self.readers.items()})


def to_connection(page: Page[Any], wrap: Callable[[Any], N]) -> Connection[N]:
    return PageConnection(page, wrap)


class PageConnection(Connection[Any]):
    """A connection over a page of rows whose edges (and nodes) are made only when read:
    the executor answers a plain page straight from its rows when `wrap` is a
    `RowReader` (`schema.execution`), and graphql-core reads `edges` otherwise."""

    def __init__(self, page: Page[Any], wrap: Callable[[Any], Any]) -> None:
        self.page = page
        self.wrap = wrap
        self.count = page.total_count
        keys = page.keys
        self.page_info = _PageInfo(
            page.has_next,
            page.has_previous,
            keys[0] if keys else None,
            keys[-1] if keys else None,
        )

    @functools.cached_property
    def edges(self) -> list[_Edge]:
        wrap = self.wrap
        items, keys = self.page.items, self.page.keys
        return [_Edge(wrap(item), key) for item, key in zip(items, keys, strict=True)]


# Edges and page bounds whose cursors are encoded only when the query reads them: a
# page's edges are made for every node (a dashboard's 1,000 products) and their cursors
# rarely asked for. Edge and PageInfo have no `is_type_of`: any object with their
# attributes answers them; these are their subclasses all the same, for the type checker.
class _Edge(relay.Edge[Any]):
    def __init__(self, node: Any, key: int) -> None:
        self.node = node
        self._key = key

    @property
    def cursor(self) -> str:
        return encode_cursor(self._key)


class _PageInfo(relay.PageInfo):
    def __init__(
        self, has_next: bool, has_previous: bool, start: int | None, end: int | None
    ) -> None:
        self.has_next_page = has_next
        self.has_previous_page = has_previous
        self._start = start
        self._end = end

    @property
    def start_cursor(self) -> str | None:
        return None if self._start is None else encode_cursor(self._start)

    @property
    def end_cursor(self) -> str | None:
        return None if self._end is None else encode_cursor(self._end)


P = TypeVar("P")


async def mutate(payload: Callable[..., P], action: Callable[[], Awaitable[dict[str, Any]]]) -> P:
    """Run a use case; a rule it breaks becomes `userErrors`, never a half-done write."""
    try:
        fields = await action()
    except DomainError as error:
        return payload(user_errors=[UserError.of(error)])
    return payload(user_errors=[], **fields)
