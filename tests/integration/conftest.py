"""Integration fixtures: a fresh PostgreSQL database per test module, and a partner in it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Base, Organization, Partner
from db.session import make_engine, make_sessionmaker, transaction
from domain.money import Currency
from tests.conftest import create_pg_database, drop_pg_database, need_service


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A new database for the module (tables by create_all), dropped at its end."""
    need_service("PostgreSQL", "127.0.0.1", 5432)  # CI=true: fails; elsewhere: skips
    url = create_pg_database()

    async def setup() -> None:
        engine = make_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        await engine.dispose()

    asyncio.run(setup())
    yield url
    drop_pg_database(url)


@pytest.fixture
async def sm(
    pg_url: str, require_postgres: None
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(pg_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def make_partner(sm: async_sessionmaker[AsyncSession], name: str) -> tuple[int, int]:
    """(partners.id, organizations.id) of a new partner organization."""
    async with transaction(sm) as session:
        org = Organization(name=name, currency=Currency.CHF, support_code=name[:16])
        session.add(org)
        await session.flush()
        partner = Partner(organization_id=org.id)
        session.add(partner)
        await session.flush()
        return partner.id, org.id
