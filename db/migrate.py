"""Run Alembic from code: `partnergraph migrate`, the tests and the demo all use this; and
is a database at the migrations' head? (`serve`, `worker` and `/readyz` ask.)"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision`. Blocking; call from a thread in async code."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    # env.py runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(upgrade, url, revision)


@lru_cache(maxsize=1)
def expected_heads() -> frozenset[str]:
    """The revisions this code's migrations end at (one, normally)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def _known_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return frozenset(rev.revision for rev in script.walk_revisions())


def current_revisions(connection: Connection) -> frozenset[str]:
    """The revisions the database is stamped with (empty: never migrated)."""
    return frozenset(MigrationContext.configure(connection).get_current_heads())


def stamp_head(connection: Connection) -> None:
    """Record the database as at head (tests that make their tables with create_all)."""
    context = MigrationContext.configure(connection)
    context.stamp(ScriptDirectory.from_config(alembic_config("sqlite://")), "heads")


def schema_problem(current: frozenset[str]) -> str | None:
    """Why a database at ``current`` cannot be served by this code, in one sentence."""
    expected = expected_heads()
    if current == expected:
        return None
    want = ", ".join(sorted(expected))
    if not current:
        return (
            "the database was never migrated (no schema version); run `partnergraph migrate` "
            "or start with --migrate"
        )
    have = ", ".join(sorted(current))
    if current - _known_revisions():
        return f"the database is at {have}, newer than this code (head {want}); deploy it"
    return (
        f"the database is at {have}, not at the migrations' head {want}; run "
        "`partnergraph migrate` or start with --migrate"
    )


async def check_database(url: str) -> str | None:
    """One sentence if the database at ``url`` cannot be served (unreachable, not at
    head), else None."""
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(current_revisions)
    except Exception as exc:
        return f"cannot reach the database ({type(exc).__name__}: {exc})".splitlines()[0]
    finally:
        await engine.dispose()
    return schema_problem(current)
