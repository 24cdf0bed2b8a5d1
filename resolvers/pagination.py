"""Cursor pagination in SQL (keyset on the primary key), alone or per parent in one query."""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict, namedtuple
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

from sqlalchemy import Row, Select, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from resolvers.errors import UseCaseError

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

_PREFIX = "cursor:"


def encode_cursor(key: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{key}".encode()).decode()


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if text.startswith(_PREFIX):
            return int(text[len(_PREFIX) :])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise UseCaseError("INVALID_CURSOR", "This cursor is not valid.", "after")


@dataclass(frozen=True)
class PageRequest:
    first: int
    after: int | None

    @classmethod
    def of(cls, first: int | None, after: str | None, *, maximum: int) -> PageRequest:
        size = maximum if first is None else first
        if size < 0:
            raise UseCaseError("INVALID_PAGE_SIZE", "`first` cannot be negative.", "first")
        if size > maximum:
            raise UseCaseError("PAGE_TOO_LARGE", f"`first` may be at most {maximum}.", "first")
        return cls(first=size, after=decode_cursor(after))


@dataclass
class Page(Generic[T]):
    items: list[T]
    keys: list[int]
    has_next: bool
    has_previous: bool

    @classmethod
    def empty(cls) -> Page[T]:
        return cls(items=[], keys=[], has_next=False, has_previous=False)


async def fetch_page(
    session: AsyncSession,
    stmt: Select[Any],
    key: InstrumentedAttribute[int],
    request: PageRequest,
) -> Page[Any]:
    """One page of `stmt`'s entities ordered by `key`."""
    page = await fetch_row_page(session, stmt, key, request)
    return Page(
        items=[row[0] for row in page.items],
        keys=page.keys,
        has_next=page.has_next,
        has_previous=page.has_previous,
    )


async def fetch_row_page(
    session: AsyncSession,
    stmt: Select[Any],
    key: InstrumentedAttribute[int],
    request: PageRequest,
) -> Page[Row[Any]]:
    """One page of `stmt`'s rows ordered by `key`: like `fetch_page`, for a statement that
    selects more than one entity or column (`key` belongs to the first, the paged one)."""
    if request.after is not None:
        stmt = stmt.where(key > request.after)
    rows = list((await session.execute(stmt.order_by(key).limit(request.first + 1))).all())
    items = rows[: request.first]
    return Page(
        items=items,
        keys=[getattr(row[0], key.key) for row in items],
        has_next=len(rows) > request.first,
        has_previous=request.after is not None,
    )


@lru_cache(maxsize=64)
def _plain_row(names: tuple[str, ...]) -> Any:
    """The named tuple of an entity's columns (a plain row of `fetch_pages_by_parent`)."""
    return namedtuple("PlainRow", names)


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
    `row.name`, ...), not ORM objects: several times cheaper to load, for pages
    that are only read (shown), never changed or navigated through relationships.
    """
    if request.after is not None:
        stmt = stmt.where(key > request.after)
    parent_col = parent.label("page_parent")
    numbered = stmt.add_columns(
        parent_col,
        func.row_number().over(partition_by=parent, order_by=key).label("page_rank"),
    ).subquery()
    names: tuple[str, ...] = ()
    if plain_rows:
        names = tuple(column.name for column in sa_inspect(entity).columns)
        query = select(*(numbered.c[name] for name in names), numbered.c.page_parent)
    else:
        alias: Any = aliased(entity, numbered)
        query = select(alias, numbered.c.page_parent)
    query = query.where(numbered.c.page_rank <= request.first + 1).order_by(
        numbered.c.page_parent, numbered.c[key.key]
    )
    grouped: dict[Any, list[T]] = defaultdict(list)
    found = (await session.execute(query)).all()
    if plain_rows:
        # A SQL row's attribute lookup costs microseconds; a named tuple's, nanoseconds.
        make = _plain_row(names)._make
        for row in found:
            grouped[row[-1]].append(make(row[:-1]))
    else:
        for row in found:
            grouped[row[-1]].append(row[0])
    pages: dict[K, Page[T]] = {}
    for parent_value in parents:
        rows = grouped.get(parent_value, [])
        items = rows[: request.first]
        pages[parent_value] = Page(
            items=items,
            keys=[getattr(item, key.key) for item in items],
            has_next=len(rows) > request.first,
            has_previous=request.after is not None,
        )
    return pages
