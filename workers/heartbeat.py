"""Worker liveness: each worker process touches a file while its event loop turns.

``Heartbeat`` (a Dramatiq middleware, with ``PARTNERGRAPH_HEARTBEAT_FILE``) runs a task on
the worker's event loop that touches the file every :data:`INTERVAL_SECONDS`. A loop that
is stuck, or a process that died, stops touching it: ``partnergraph healthcheck
--heartbeat FILE`` (the container's liveness check) fails once it is older than its
``--max-age``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 10.0


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def age_seconds(path: Path) -> float | None:
    """Seconds since the file was last touched; None if there is none."""
    try:
        return max(0.0, time.time() - path.stat().st_mtime)
    except FileNotFoundError:
        return None


class Heartbeat(Middleware):
    """Must come after ``AsyncIO`` (its event loop runs the beat)."""

    def __init__(self, path: Path, interval_seconds: float = INTERVAL_SECONDS) -> None:
        self.path = path
        self.interval_seconds = interval_seconds
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        while True:
            try:
                await asyncio.to_thread(touch, self.path)
            except OSError as exc:
                logger.warning("heartbeat file %s not written (%s)", self.path, exc)
            await asyncio.sleep(self.interval_seconds)

    async def _start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._beat(), name="heartbeat")

    async def _stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            loop_thread.run_coroutine(self._start())

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            loop_thread.run_coroutine(self._stop())
