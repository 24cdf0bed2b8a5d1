"""What actors run with: settings, a database engine per event loop, the in-process worker.

Database access from actors
    Async actors run on the event loop owned by Dramatiq's ``AsyncIO`` middleware (one
    loop thread per worker process). An ``AsyncEngine`` must only be used on the loop that
    created it, so the worker never shares the API's engine: :func:`worker_sessionmaker`
    creates an engine lazily, on first use, inside the running loop, and keeps one per
    loop. The ``WorkerDatabase`` middleware disposes of it when the worker shuts down
    (while the loop still runs).

Settings
    Worker code reads :func:`current_settings`: the environment (``get_settings()``) in
    a ``dramatiq workers.actors`` process, or whatever :func:`configure` was given
    (``workers.broker.setup_broker(settings)`` calls it).

In-process mode
    Without ``PARTNERGRAPH_REDIS_URL`` the API process runs the jobs itself:
    ``start_inprocess_worker()`` starts a ``dramatiq.Worker`` (threads) on the installed
    ``StubBroker``; ``stop_inprocess_worker(worker)`` stops it (blocking: from async code
    call it through ``asyncio.to_thread``). Dramatiq allows one Worker per process.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from typing import TYPE_CHECKING

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from config.settings import Settings, get_settings
from db.session import make_engine, make_sessionmaker

if TYPE_CHECKING:
    from dramatiq import Broker

logger = logging.getLogger(__name__)

_settings: Settings | None = None
_lock = threading.Lock()
_engines: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[AsyncEngine, async_sessionmaker[AsyncSession]]
] = weakref.WeakKeyDictionary()


def configure(settings: Settings | None) -> None:
    """Use these settings in worker code (``None``: back to the environment).

    Engines made for other settings are forgotten (not disposed: they belong to their
    loop; ``dispose_worker_engine`` on that loop does that).
    """
    global _settings
    with _lock:
        if settings is not _settings:
            _engines.clear()
        _settings = settings


def current_settings() -> Settings:
    return _settings if _settings is not None else get_settings()


async def worker_sessionmaker() -> async_sessionmaker[AsyncSession]:
    """The sessionmaker for the running event loop, created on first use in that loop."""
    loop = asyncio.get_running_loop()
    with _lock:
        entry = _engines.get(loop)
        if entry is None:
            settings = current_settings()
            engine = make_engine(
                settings.database_url,
                pool_size=max(1, settings.database_pool_size // 2),
                pool_name="worker",
            )
            entry = (engine, make_sessionmaker(engine))
            _engines[loop] = entry
    return entry[1]


def loop_sessionmaker(loop: asyncio.AbstractEventLoop) -> async_sessionmaker[AsyncSession] | None:
    """The sessionmaker :func:`worker_sessionmaker` made for ``loop``, if it made one yet
    (and the settings did not change since). Safe from any thread."""
    with _lock:
        entry = _engines.get(loop)
    return None if entry is None else entry[1]


async def dispose_worker_engine() -> None:
    """Close the running loop's engine (if any); the next use creates a new one."""
    with _lock:
        entry = _engines.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        await entry[0].dispose()


class WorkerDatabase(Middleware):
    """Disposes of the worker loop's engine at worker shutdown.

    Must come after ``AsyncIO`` in the middleware list: ``after_*`` hooks run in reverse
    order, so this one runs while the event loop is still alive.
    """

    def after_worker_shutdown(self, broker: Broker, worker: dramatiq.Worker) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            return
        try:
            loop_thread.run_coroutine(dispose_worker_engine())
        except Exception:
            logger.warning("could not dispose of the worker's database engine", exc_info=True)


def start_inprocess_worker(
    broker: Broker | None = None, *, worker_threads: int = 2, idle_timeout_ms: int = 200
) -> dramatiq.Worker:
    """Run the jobs in this process (no Redis): a ``dramatiq.Worker`` on the broker.

    ``broker`` defaults to the one ``workers.broker.setup_broker`` installed.
    ``idle_timeout_ms``: how often idle threads wake up (and so how long a stop takes: at
    1000 ms `partnergraph serve` took 2 s to stop, at 200 ms 0.5 s; the idle wake-ups cost
    nothing measurable).
    """
    if broker is None:
        from workers.broker import get_installed_broker

        broker = get_installed_broker()
    worker = dramatiq.Worker(broker, worker_threads=worker_threads, worker_timeout=idle_timeout_ms)
    worker.start()
    logger.info("in-process worker started (%d threads)", worker_threads)
    return worker


def stop_inprocess_worker(worker: dramatiq.Worker, *, timeout_seconds: float = 10.0) -> None:
    """Stop the worker: running jobs finish (up to the timeout).

    Messages still queued in a ``StubBroker`` die with the process; their outbox rows stay
    unprocessed, so the sweeper sends them again after the next start.
    """
    worker.stop(timeout=int(timeout_seconds * 1000))
    logger.info("in-process worker stopped")
