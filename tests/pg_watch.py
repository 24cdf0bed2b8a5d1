"""How many PostgreSQL connections the run holds at most (its own databases only).

A thread samples ``pg_stat_activity`` for the databases named after this run's RUN_ID
every 0.2 s; the peak is printed at the end of the run (``pytest_terminal_summary`` in
``tests/conftest.py``). The suite's pools are sized (``PARTNERGRAPH_DATABASE_POOL_SIZE``)
so that it stays near 20.
"""

from __future__ import annotations

import asyncio
import threading


class ConnectionWatch:
    def __init__(self, admin_url: str, run_id: str) -> None:
        self.admin_url = admin_url.replace("postgresql+asyncpg", "postgresql")
        self.pattern = f"pgtest_{run_id}_%"
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            asyncio.run(self._watch())
        except Exception:  # the server went away: the figure is what was seen
            return

    async def _watch(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.admin_url)
        try:
            while not self._stop.is_set():
                count = await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE $1", self.pattern
                )
                self.peak = max(self.peak, int(count or 0))
                await asyncio.sleep(0.2)
        finally:
            await conn.close()
