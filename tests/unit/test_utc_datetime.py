"""db.models.base.UTCDateTime: aware UTC datetimes back from both backends, read with or
without a result processor (asyncpg reads timestamptz as UTC itself; SQLite drops it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Organization

pytestmark = pytest.mark.timeout(60)


async def test_a_datetime_comes_back_aware_in_utc(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    zurich = timezone(timedelta(hours=1))
    written = datetime(2026, 12, 4, 20, 30, 15, 123456, tzinfo=zurich)
    async with sessionmaker() as session:
        org = Organization(name="Clock", currency="CHF", support_code="CLK-1")
        session.add(org)
        await session.flush()
        await session.execute(
            update(Organization).where(Organization.id == org.id).values(created_at=written)
        )
        await session.commit()
        org_id = org.id
    async with sessionmaker() as session:
        read = await session.scalar(
            select(Organization.created_at).where(Organization.id == org_id)
        )
        core = (
            await (await session.connection()).execute(
                select(Organization.__table__.c.created_at).where(Organization.id == org_id)
            )
        ).scalar_one()
    for value in (read, core):
        assert value == written
        assert value.tzinfo is UTC
        assert value.utcoffset() == timedelta(0)
        assert (value.hour, value.minute) == (19, 30)


async def test_a_naive_datetime_is_refused(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        session.add(
            Organization(
                name="Naive", currency="CHF", support_code="CLK-2", created_at=datetime(2026, 1, 1)
            )
        )
        with pytest.raises(Exception, match="naive datetime"):
            await session.flush()
