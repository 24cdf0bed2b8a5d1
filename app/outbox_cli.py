"""`partnergraph outbox status | dead | retry [ID ...]`: what is stuck, and sending it again."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from config.settings import get_settings

if TYPE_CHECKING:  # SQLAlchemy is imported by the commands that use it, not by `partnergraph`
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

T = TypeVar("T")


def _with_database(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    """``work`` on the configured database; a database it cannot use (unreachable, never
    migrated, another head) ends the command with one line and exit 2, as `serve` does."""
    from app.cli import _refuse  # here: app.cli imports this module
    from db.migrate import check_database
    from db.session import make_engine, make_sessionmaker

    url = get_settings().database_url
    problem = asyncio.run(check_database(url))
    if problem is not None:
        raise SystemExit(_refuse("outbox", problem))

    async def run() -> T:
        engine = make_engine(url, pool_size=1, pool_name="cli")
        try:
            return await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _status(args: argparse.Namespace) -> int:
    from db.models import utcnow
    from workers.outbox_ops import outbox_status

    status = _with_database(outbox_status)
    now = utcnow()
    print(f"{'actor':<28} {'pending':>8} {'failing':>8} {'dead':>6}  oldest not processed")
    for a in status.actors:
        oldest = (
            f"{a.oldest:%Y-%m-%dT%H:%M:%SZ} ({(now - a.oldest).total_seconds():.0f} s ago)"
            if a.oldest
            else "-"
        )
        print(f"{a.actor:<28} {a.pending:>8} {a.failing:>8} {a.dead:>6}  {oldest}")
    print(
        f"{'total':<28} {status.count('pending'):>8} {status.count('failing'):>8} "
        f"{status.count('dead'):>6}  oldest {status.oldest_age_seconds(now):.0f} s"
    )
    return 0


def _dead(args: argparse.Namespace) -> int:
    from workers.outbox_ops import dead_messages

    rows = _with_database(lambda sm: dead_messages(sm, limit=args.limit))
    if not rows:
        print("no dead outbox messages")
        return 0
    for row in rows:
        error = (row.last_error or "").replace("\n", " ")[:160]
        print(f"{row.id:>10}  {row.actor_name:<28} attempts={row.attempts}  {error}")
    print(f"{len(rows)} dead; `partnergraph outbox retry ID ...` sends them again")
    return 0


def _retry(args: argparse.Namespace) -> int:
    from workers.outbox_ops import retry_messages

    count = _with_database(lambda sm: retry_messages(sm, args.ids or None))
    print(f"{count} outbox messages will be sent again on the relay's next pass")
    return 0


def add_outbox_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    formatter: type[argparse.HelpFormatter],
) -> None:
    def parser(
        within: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str
    ) -> argparse.ArgumentParser:
        return within.add_parser(name, help=help, description=help, formatter_class=formatter)

    outbox = parser(commands, "outbox", "show and retry the outbox's stuck or failed jobs")
    actions = outbox.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = parser(
        actions, "status", "rows not processed yet, by actor: pending, failing, dead, the oldest"
    )
    status.set_defaults(run=_status)
    dead = parser(
        actions, "dead", "rows given up on (failed too often, or permanently), last error"
    )
    dead.add_argument("--limit", type=int, default=100, help="show at most this many")
    dead.set_defaults(run=_dead)
    retry = parser(actions, "retry", "send rows again (their failure count starts over)")
    retry.add_argument(
        "ids", type=int, nargs="*", default=[], help="outbox ids (none: every failing and dead)"
    )
    retry.set_defaults(run=_retry)
