"""The demo world for a test: seeded once per process and database kind, then restored.

``seed_demo`` builds the world through the ORM (about 0.15 s: dozens of flushes); a test
that needs it on an empty database gets the same rows inserted table by table from a
snapshot taken after the first seeding (a few milliseconds), and its own copy of the
``DemoWorld`` (the ids are the same: the first seeding ran on an empty database too).
A database that is not empty fails the restore loudly (a duplicate key), never quietly.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.models import Base
from resolvers.demo import DemoWorld, seed_demo

Snapshot = tuple[DemoWorld, list[tuple[Table, list[dict[str, Any]]]]]

_snapshots: dict[str, Snapshot] = {}


async def demo_world(sessionmaker: async_sessionmaker[AsyncSession]) -> DemoWorld:
    engine: AsyncEngine = sessionmaker.kw["bind"]
    kind = engine.dialect.name
    snapshot = _snapshots.get(kind)
    if snapshot is None:
        world = await seed_demo(sessionmaker)
        _snapshots[kind] = (copy.deepcopy(world), await _rows(engine))
        return world
    world, tables = snapshot
    async with engine.begin() as conn:
        for table, rows in tables:
            await conn.execute(table.insert(), rows)
        if kind == "postgresql":
            # The next ids after the restored ones, as after the seeding itself.
            for table in (table for table, _ in tables if _serial_id(table)):
                name = table.name  # one of our tables' names, never input
                restart = f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), (SELECT max(id) FROM \"{name}\"))"  # noqa: E501, S608
                await conn.execute(text(restart))
    return copy.deepcopy(world)


async def _rows(engine: AsyncEngine) -> list[tuple[Table, list[dict[str, Any]]]]:
    taken = []
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = [dict(row._mapping) for row in await conn.execute(select(table))]
            if rows:
                taken.append((table, rows))
    return taken


def _serial_id(table: Table) -> bool:
    column = table.c.get("id")
    return column is not None and column.primary_key and column.autoincrement in (True, "auto")
