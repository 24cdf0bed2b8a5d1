"""Integration fixtures: a fresh PostgreSQL database per test module, and a partner in it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Organization, Partner
from db.session import make_engine, make_sessionmaker, transaction
from domain.money import Currency
from tests.conftest import fresh_pg_database


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A new database for the module (tables by create_all), dropped at its end."""
    yield from fresh_pg_database()  # CI=true: a missing server fails; elsewhere: skips


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
