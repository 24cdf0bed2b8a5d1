"""The two servers the dashboard bench runs, each as one uvicorn process (factories).

    uvicorn --app-dir bench _dashboard_servers:partnergraph --factory ...
    uvicorn --app-dir bench _dashboard_servers:floor --factory ...

Both count, on their SQLAlchemy engine, the SQL statements sent and the pool checkouts,
and answer them at GET /_bench/counters (a plain ASGI wrapper in front of the app, so
the app itself is unchanged). Settings come from the PARTNERGRAPH_ environment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COUNTERS_PATH = "/_bench/counters"

Scope = dict[str, Any]


class Counted:
    """An ASGI app with its engine's statements and checkouts counted."""

    def __init__(self, app: Any, engine: AsyncEngine) -> None:
        self.app = app
        self.counts = {"statements": 0, "checkouts": 0}
        event.listen(engine.sync_engine, "before_cursor_execute", self._statement)
        event.listen(engine.sync_engine.pool, "checkout", self._checkout)

    def _statement(self, *args: Any) -> None:
        self.counts["statements"] += 1

    def _checkout(self, *args: Any) -> None:
        self.counts["checkouts"] += 1

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == COUNTERS_PATH:
            body = orjson.dumps({**self.counts, "pid": os.getpid()})
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def partnergraph() -> Counted:
    from app.asgi import create_app

    app = create_app(start_workers=False)
    return Counted(app, app.state.runtime.engine)


def floor() -> Counted:
    from _dashboard_floor import floor_app

    from config.settings import get_settings
    from db.session import make_engine

    engine = make_engine(get_settings().database_url)
    return Counted(floor_app(engine), engine)
