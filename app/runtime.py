"""What a process runs beside its requests: the engine, the broker, the outbox relay and,
in the embedded default, the in-process worker."""

from __future__ import annotations

import logging

from app.settings import Settings
from db.session import make_engine, make_sessionmaker
from resolvers.context import Services

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings, *, start_workers: bool = True) -> None:
        self.settings = settings
        self.engine = make_engine(settings.database_url)
        self.services = Services(settings=settings, sessionmaker=make_sessionmaker(self.engine))
        self.start_workers = start_workers

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        await self.engine.dispose()

    async def check_broker(self) -> dict[str, str]:
        return {}
