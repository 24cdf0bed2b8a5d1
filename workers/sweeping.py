"""Every worker process also relays the outbox, so committed jobs go out with no API up.

``OutboxSweeping`` (a Dramatiq middleware, on the Redis broker of ``dramatiq
workers.actors`` processes) starts a :class:`workers.relay.Sweeper` on the worker's
event loop when the worker boots and stops it at shutdown. Many sweepers are safe: each
pass claims its rows in the database (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write
lock on SQLite), and a duplicate send does nothing (``process_once``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from config.settings import Settings
from workers.runtime import worker_sessionmaker

if TYPE_CHECKING:
    from workers.relay import Sweeper

logger = logging.getLogger(__name__)


class OutboxSweeping(Middleware):
    """Must come after ``AsyncIO`` (its event loop runs the sweeper)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sweeper: Sweeper | None = None

    async def _start(self, broker: dramatiq.Broker) -> Sweeper:
        from workers.relay import Sweeper

        sweeper = Sweeper.from_settings(await worker_sessionmaker(), self.settings, broker=broker)
        sweeper.start()
        return sweeper

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            logger.warning("no worker event loop: this process does not sweep the outbox")
            return
        self.sweeper = loop_thread.run_coroutine(self._start(broker))
        logger.info("outbox sweeper started (every %ss)", self.settings.outbox_sweep_seconds)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        sweeper, self.sweeper = self.sweeper, None
        loop_thread = get_event_loop_thread()
        if sweeper is None or loop_thread is None:
            return
        try:
            loop_thread.run_coroutine(sweeper.stop())
        except Exception:
            logger.warning("outbox sweeper did not stop cleanly", exc_info=True)
