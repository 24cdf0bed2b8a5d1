"""The Alembic migrations build exactly the models' schema, on SQLite and PostgreSQL,
and go down and up again cleanly."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from db.migrate import alembic_config, upgrade
from db.models import Base
from db.session import make_engine
from tests.conftest import create_pg_database, drop_pg_database, need_service


def _diff(url: str) -> list[Any]:
    async def run() -> list[Any]:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(sync, opts={"compare_type": True}),
                        Base.metadata,
                    )
                )
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _tables(url: str) -> set[str]:
    async def run() -> set[str]:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _round_trip(url: str) -> None:
    upgrade(url)
    assert _diff(url) == []
    assert set(Base.metadata.tables) <= _tables(url)
    command.downgrade(alembic_config(url), "base")
    assert _tables(url) <= {"alembic_version"}
    upgrade(url)
    assert _diff(url) == []


def test_migrations_match_models_on_sqlite(tmp_path: Any) -> None:
    _round_trip(f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}")


def test_migrations_match_models_on_postgres() -> None:
    need_service("PostgreSQL", "127.0.0.1", 5432)
    url = create_pg_database()
    try:
        _round_trip(url)
    finally:
        drop_pg_database(url)
