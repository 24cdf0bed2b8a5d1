"""Cursor pagination in SQL (keyset on the primary key), alone or per parent in one query."""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict, namedtuple
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Integer, Row, Select, bindparam, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from resolvers.errors import UseCaseError

T = TypeVar("T")
U = TypeVar("U")
K = TypeVar("K", bound=Hashable)

_PREFIX = "cursor:"


def encode_cursor(key: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{key}".encode()).decode()


def decode_cursor(cursor: str | None, field: str = "after") -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if text.startswith(_PREFIX):
            return int(text[len(_PREFIX) :])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise UseCaseError("INVALID_CURSOR", "This cursor is not valid.", field)


@dataclass(frozen=True)
class PageRequest:
    """A page of a connection: `first` items after `after`, or (`backward`) the last
    `first` items before `before`; `count`: also count the whole connection."""

    first: int
    after: int | None
    before: int | None = None
    backward: bool = False
    count: bool = False

    @classmethod
    def of(
        cls,
        first: int | None,
        after: str | None,
        *,
        maximum: int,
        last: int | None = None,
        before: str | None = None,
        count: bool = False,
    ) -> PageRequest:
        if first is not None and last is not None:
            raise UseCaseError("INVALID_INPUT", "Give `first` or `last`, not both.", "last")
        backward = last is not None
        name = "last" if backward else "first"
        asked = last if backward else first
        size = maximum if asked is None else asked
        if size < 0:
            raise UseCaseError("INVALID_PAGE_SIZE", f"`{name}` cannot be negative.", name)
        if size > maximum:
            raise UseCaseError("PAGE_TOO_LARGE", f"`{name}` may be at most {maximum}.", name)
        return cls(
            first=size,
            after=decode_cursor(after, "after"),
            before=decode_cursor(before, "before"),
            backward=backward,
            count=count,
        )

    def window(
        self,
        stmt: Select[Any],
        key: InstrumentedAttribute[int],
        *,
        descending: bool = False,
        bound: bool = False,
    ) -> Select[Any]:
        """`stmt` between the cursors, in paging order, one row more than the page (which
        says whether more lie beyond). The connection's order is `key`'s, or the reverse
        with `descending` (newest first); a backward page is fetched from its end. With
        `bound`, the cursors are the parameters `page_after` and `page_before` (`params`)."""
        after: Any = bindparam("page_after", type_=Integer()) if bound else self.after
        before: Any = bindparam("page_before", type_=Integer()) if bound else self.before
        if self.after is not None:
            stmt = stmt.where(key < after if descending else key > after)
        if self.before is not None:
            stmt = stmt.where(key > before if descending else key < before)
        order = key.desc() if descending != self.backward else key.asc()
        return stmt.order_by(order).limit(self.first + 1)

    @property
    def shape(self) -> tuple[bool, bool, bool]:
        """What a statement for this page depends on once its values are parameters."""
        return self.after is not None, self.before is not None, self.backward

    def params(self) -> dict[str, Any]:
        """The values of a `bound` window's parameters, and of `page_size`."""
        values: dict[str, Any] = {"page_size": self.first + 1}
        if self.after is not None:
            values["page_after"] = self.after
        if self.before is not None:
            values["page_before"] = self.before
        return values

    def trim(self, rows: list[T], keys: list[int], total: int | None) -> Page[T]:
        """The page from the rows `window` fetched, in the connection's order."""
        more = len(rows) > self.first
        items, item_keys = rows[: self.first], keys[: self.first]
        if self.backward:
            items.reverse()
            item_keys.reverse()
            return Page(items, item_keys, self.after is not None, more, total)
        return Page(
            items, item_keys, more, self.after is not None or self.before is not None, total
        )


@dataclass
class Page(Generic[T]):
    items: list[T]
    keys: list[int]
    has_next: bool
    has_previous: bool
    #: The number of items of the whole connection, when the request asked for it.
    total_count: int | None = None

    @classmethod
    def empty(cls) -> Page[T]:
        """A connection with nothing in it (or nothing the viewer may see)."""
        return cls(items=[], keys=[], has_next=False, has_previous=False, total_count=0)

    def map(self, wrap: Callable[[T], U]) -> Page[U]:
        """The same page with each item wrapped."""
        return Page([wrap(item) for item in self.items], *self._rest())

    def replace(self, items: list[U]) -> Page[U]:
        """The same page (keys, neighbours, count) with these items, one per key."""
        return Page(items, *self._rest())

    def _rest(self) -> tuple[list[int], bool, bool, int | None]:
        return self.keys, self.has_next, self.has_previous, self.total_count


async def count_rows(session: AsyncSession, stmt: Select[Any]) -> int:
    """How many rows `stmt` selects (counted in SQL)."""
    counted = select(func.count()).select_from(stmt.order_by(None).subquery())
    return int((await session.execute(counted)).scalar_one())


async def fetch_page(
    session: AsyncSession,
    stmt: Select[Any],
    key: InstrumentedAttribute[int],
    request: PageRequest,
    *,
    descending: bool = False,
) -> Page[Any]:
    """One page of `stmt`'s entities ordered by `key` (the reverse with `descending`)."""
    page = await fetch_row_page(session, stmt, key, request, descending=descending)
    return page.map(lambda row: row[0])


async def fetch_row_page(
    session: AsyncSession,
    stmt: Select[Any],
    key: InstrumentedAttribute[int],
    request: PageRequest,
    *,
    descending: bool = False,
) -> Page[Row[Any]]:
    """One page of `stmt`'s rows ordered by `key`: like `fetch_page`, for a statement that
    selects more than one entity or column (`key` belongs to the first, the paged one)."""
    total = await count_rows(session, stmt) if request.count else None
    rows = list((await session.execute(request.window(stmt, key, descending=descending))).all())
    return request.trim(rows, [getattr(row[0], key.key) for row in rows], total)


async def fetch_pages_by_parent(
    session: AsyncSession,
    entity: type[T],
    stmt: Select[Any],
    parent: Any,
    key: InstrumentedAttribute[int],
    parents: Sequence[K],
    request: PageRequest,
    *,
    plain_rows: bool = False,
) -> dict[K, Page[T]]:
    """A page for each parent in a single query (row_number over each parent's rows).

    `stmt` selects `entity` plus a labelled `parent` column that the pages are keyed by.
    With `plain_rows`, the items are named tuples of the entity's columns (`row.id`,
    `row.name`, ...; `plain_row_shape`), not ORM objects, read through Core rather than
    the ORM: many times cheaper to load, for pages that are only read (shown), never
    changed or navigated through relationships. `ParentPages` does the same with a
    statement made once.
    """
    totals = await _count_by_parent(session, stmt, parent) if request.count else {}
    query = _pages_query(entity, stmt, parent, key, request, plain_rows=plain_rows)
    return await _read_pages(
        session, query, request.params(), entity, key, parents, request, totals, plain_rows
    )


class ParentPages(Generic[T]):
    """Pages of `entity` per parent, like `fetch_pages_by_parent`, from a statement made
    once per page shape (`PageRequest.shape`) rather than for every batch: the parents,
    the cursors and the page size are its parameters. Building and compiling the
    statement (an ORM select, its subquery, its column collection) cost more than running
    it for a small page.

    `rows_of(parents)` selects the entity's rows of some parents (`parent.in_(parents)`):
    given a bound parameter for the prepared statement, a list of ids for a count.
    """

    def __init__(
        self,
        entity: type[T],
        rows_of: Callable[[Any], Select[Any]],
        parent: Any,
        key: InstrumentedAttribute[int],
        *,
        plain_rows: bool = False,
    ) -> None:
        self.entity = entity
        self.rows_of = rows_of
        self.parent = parent
        self.key = key
        self.plain_rows = plain_rows
        self._queries: dict[tuple[bool, bool, bool], Select[Any]] = {}

    async def fetch(
        self, session: AsyncSession, parents: Sequence[K], request: PageRequest
    ) -> dict[K, Page[T]]:
        ids = list(dict.fromkeys(parents))
        totals = (
            await _count_by_parent(session, self.rows_of(ids), self.parent) if request.count else {}
        )
        query = self._queries.get(request.shape)
        if query is None:
            stmt = self.rows_of(bindparam("page_parents", expanding=True))
            query = _pages_query(
                self.entity, stmt, self.parent, self.key, request, plain_rows=self.plain_rows
            )
            self._queries[request.shape] = query
        params = {**request.params(), "page_parents": ids}
        return await _read_pages(
            session, query, params, self.entity, self.key, parents, request, totals, self.plain_rows
        )


def _pages_query(
    entity: type[Any],
    stmt: Select[Any],
    parent: Any,
    key: InstrumentedAttribute[int],
    request: PageRequest,
    *,
    plain_rows: bool,
) -> Select[Any]:
    """The rows of each parent's page (bound cursors and `page_size`), parent by parent."""
    order = key.desc() if request.backward else key
    cursors = request.window(stmt, key, bound=True).order_by(None).limit(None)
    numbered = cursors.add_columns(
        parent.label("page_parent"),
        func.row_number().over(partition_by=parent, order_by=order).label("page_rank"),
    ).subquery()
    columns: list[Any]
    if plain_rows:
        columns = [numbered.c[name] for name in plain_row_shape(entity).columns]
    else:
        columns = [aliased(entity, numbered)]
    return (
        select(*columns, numbered.c.page_parent)
        .where(numbered.c.page_rank <= bindparam("page_size", type_=Integer()))
        .order_by(numbered.c.page_parent, numbered.c.page_rank)
    )


async def _read_pages(
    session: AsyncSession,
    query: Select[Any],
    params: dict[str, Any],
    entity: type[Any],
    key: InstrumentedAttribute[int],
    parents: Sequence[K],
    request: PageRequest,
    totals: dict[Any, int],
    plain_rows: bool,
) -> dict[K, Page[Any]]:
    grouped: dict[Any, list[Any]] = defaultdict(list)
    keys: dict[Any, list[int]] = defaultdict(list)
    if plain_rows:
        shape = plain_row_shape(entity)
        connection = await session.connection()
        make, row_type = tuple.__new__, shape.row_type
        width, at = len(shape.fields), shape.fields.index(key.key)
        for row in await connection.execute(query, params):
            values = tuple(row)
            parent_value = values[width]
            grouped[parent_value].append(make(row_type, values[:width]))
            keys[parent_value].append(values[at])
    else:
        for item, parent_value in (await session.execute(query, params)).all():
            grouped[parent_value].append(item)
            keys[parent_value].append(getattr(item, key.key))
    pages: dict[K, Page[Any]] = {}
    for parent_value in parents:
        total = totals.get(parent_value, 0) if request.count else None
        pages[parent_value] = request.trim(
            grouped.get(parent_value, []), keys.get(parent_value, []), total
        )
    return pages


@dataclass(frozen=True)
class PlainRowShape:
    """A named tuple type with one field per mapped column of an entity, named as the
    entity's attributes (`row.organization_id`), and the columns' names in that order."""

    row_type: Any
    fields: tuple[str, ...]
    columns: tuple[str, ...]


_PLAIN_ROW_SHAPES: dict[type[Any], PlainRowShape] = {}


def plain_row_shape(entity: type[Any]) -> PlainRowShape:
    """The shape of `entity`'s plain rows, made once per entity."""
    found = _PLAIN_ROW_SHAPES.get(entity)
    if found is None:
        attributes = list(sa_inspect(entity).column_attrs)
        fields = tuple(attribute.key for attribute in attributes)
        found = PlainRowShape(
            row_type=namedtuple(f"{entity.__name__}Row", fields),
            fields=fields,
            columns=tuple(attribute.columns[0].name for attribute in attributes),
        )
        _PLAIN_ROW_SHAPES[entity] = found
    return found


async def _count_by_parent(session: AsyncSession, stmt: Select[Any], parent: Any) -> dict[Any, int]:
    """How many rows `stmt` selects for each parent, in one grouped count."""
    sub = stmt.order_by(None).add_columns(parent.label("page_parent")).subquery()
    counted = select(sub.c.page_parent, func.count()).group_by(sub.c.page_parent)
    return {row[0]: int(row[1]) for row in (await session.execute(counted)).all()}


def page_of_list(
    items: Sequence[T], keys: Sequence[int], request: PageRequest, *, descending: bool = False
) -> Page[T]:
    """A page of a list already in memory, in its order (`keys` ascending, or descending):
    the same cursors, bounds and count as a page fetched in SQL."""

    def inside(key: int) -> bool:
        if request.after is not None and not (
            key < request.after if descending else key > request.after
        ):
            return False
        return request.before is None or (
            key > request.before if descending else key < request.before
        )

    pairs = [(key, item) for key, item in zip(keys, items, strict=True) if inside(key)]
    if request.backward:
        pairs.reverse()
    pairs = pairs[: request.first + 1]
    return request.trim([item for _, item in pairs], [key for key, _ in pairs], len(items))
