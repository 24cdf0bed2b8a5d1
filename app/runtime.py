"""What a process runs beside its requests: the engine, the broker, the outbox relay and,
in the embedded default (no Redis), the in-process worker and the scheduler; and the
persisted queries (app/persisted_queries.py), whose Redis connection it closes."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from app.persisted_queries import PersistedQueries
from config.settings import Settings
from db.session import make_engine, make_sessionmaker
from resolvers.context import Services

if TYPE_CHECKING:
    import dramatiq

    from resolvers.subscriptions.bus import EventBus
    from workers.relay import Sweeper
    from workers.scheduler import Scheduler

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings, *, start_workers: bool = True) -> None:
        self.settings = settings
        self.engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
        self.services = Services(settings=settings, sessionmaker=make_sessionmaker(self.engine))
        self.persisted_queries = PersistedQueries.from_settings(settings)
        # Tests drive the outbox themselves; a served process relays it (and, without
        # Redis, also consumes it).
        self.start_workers = start_workers
        self.sweeper: Sweeper | None = None
        self.worker: dramatiq.Worker | None = None
        self.scheduler: Scheduler | None = None
        self.bus: EventBus | None = None

    async def start(self) -> None:
        await self._start_bus()
        if not self.start_workers:
            return
        from workers.broker import is_inprocess, setup_broker
        from workers.relay import Sweeper
        from workers.runtime import start_inprocess_worker

        broker = setup_broker(self.settings)
        self.sweeper = Sweeper.from_settings(
            self.services.sessionmaker, self.settings, broker=broker
        )
        self.services.after_commit = self.sweeper.kick
        self.sweeper.start()
        if is_inprocess(broker):
            # The embedded default: nothing else runs the jobs nor the periodic ones.
            from workers.scheduler import Scheduler

            self.worker = start_inprocess_worker(broker)
            self.scheduler = Scheduler(self.services.sessionmaker, broker)
            self.scheduler.start()

    async def _start_bus(self) -> None:
        """Live subscriptions: Redis pub/sub across API processes, in-process without Redis."""
        from resolvers.subscriptions.bus import InProcessBus, RedisBus, install_bus

        settings = self.settings
        self.bus = (
            RedisBus(settings.redis_url, settings.redis_namespace)
            if settings.redis_url
            else InProcessBus()
        )
        await self.bus.start()
        install_bus(self.bus)

    async def stop(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self.bus is not None:
            from resolvers.subscriptions.bus import current_bus, install_bus

            if current_bus() is self.bus:
                install_bus(None)
            await self.bus.stop()
            self.bus = None
        if self.sweeper is not None:
            await self.sweeper.stop()
        if self.worker is not None:
            from workers.runtime import stop_inprocess_worker

            await asyncio.to_thread(stop_inprocess_worker, self.worker)
        if self.services._cost_bucket is not None:
            await self.services._cost_bucket.close()
        await self.persisted_queries.close()
        await self.engine.dispose()
        if self.start_workers:
            from config.metrics import mark_process_dead

            mark_process_dead()

    async def check_schema(self) -> str:
        """ "ok", or why the database is not at the migrations' head (for /readyz)."""
        from db.migrate import current_revisions, schema_problem

        async with self.engine.connect() as connection:
            current = await connection.run_sync(current_revisions)
        problem = schema_problem(current)
        return "ok" if problem is None else f"error: {problem}"

    async def check_broker(self) -> dict[str, str]:
        if not self.settings.redis_url:
            return (
                {"broker": "ok"}
                if self.worker is not None or not self.start_workers
                else {"broker": "error: in-process worker not running"}
            )
        import redis.asyncio as redis

        client = redis.Redis.from_url(self.settings.redis_url, socket_timeout=2)
        try:
            await client.ping()
            return {"broker": "ok"}
        except Exception as exc:
            return {"broker": f"error: {type(exc).__name__}"}
        finally:
            await client.aclose()
