"""`partnergraph` command line: serve, worker, scheduler, migrate, demo, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from config.settings import get_settings, listen_url


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    if "public_url" not in settings.model_fields_set:
        # Emailed links point where this server listens (its worker processes inherit it).
        os.environ["PARTNERGRAPH_PUBLIC_URL"] = listen_url(args.host, args.port)
        get_settings.cache_clear()
        settings = get_settings()
    if args.migrate:
        from db.migrate import upgrade

        upgrade(settings.database_url)
    uvicorn.run(
        "app.asgi:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        # The embedded default runs its worker in-process: one API process only.
        workers=args.workers if settings.redis_url else 1,
        proxy_headers=True,
        log_level=args.log_level,
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    settings = get_settings()
    if not settings.redis_url:
        print(
            "partnergraph worker needs PARTNERGRAPH_REDIS_URL; without it, "
            "`partnergraph serve` runs the worker in-process.",
            file=sys.stderr,
        )
        return 2
    argv = [
        sys.executable,
        "-m",
        "dramatiq",
        "workers.actors",
        "--processes",
        str(args.processes),
        "--threads",
        str(args.threads),
    ]
    os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with Dramatiq's CLI


def _scheduler(args: argparse.Namespace) -> int:
    from workers.scheduler import run_scheduler

    run_scheduler(get_settings())
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from db.migrate import upgrade

    upgrade(get_settings().database_url, args.revision)
    print(f"database at {args.revision}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from db.migrate import upgrade
    from db.session import make_engine, make_sessionmaker
    from resolvers.demo import DEMO_PASSWORD, LOGINS, seed_demo

    settings = get_settings()
    upgrade(settings.database_url)

    async def run() -> None:
        engine = make_engine(settings.database_url)
        try:
            await seed_demo(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    asyncio.run(run())
    print(f"demo data ready; every login's password is {DEMO_PASSWORD!r}:")
    for email, name, role, org in LOGINS:
        print(f"  {email:<26} {role.value:<22} {org} ({name})")
    return 0


def _staff_add(args: argparse.Namespace) -> int:
    from db.session import make_engine, make_sessionmaker
    from domain.errors import DomainError
    from resolvers.support import add_staff

    settings = get_settings()

    async def run() -> int:
        engine = make_engine(settings.database_url)
        try:
            return await add_staff(make_sessionmaker(engine), args.email, args.note)
        finally:
            await engine.dispose()

    try:
        user_id = asyncio.run(run())
    except DomainError as error:
        print(f"{error.code}: {error.message}", file=sys.stderr)
        return 1
    print(f"user {user_id} ({args.email}) is support staff")
    return 0


def _export_schema(args: argparse.Namespace) -> int:
    from schema.root import build_schema

    sys.stdout.write(build_schema().as_str() + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(prog="partnergraph", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API (and, without Redis, the worker)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="API processes (Redis mode)")
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--migrate", action="store_true", help="migrate the database first")
    serve.set_defaults(run=_serve)

    worker = commands.add_parser("worker", help="run Dramatiq worker processes on Redis")
    worker.add_argument("--processes", type=int, default=2)
    worker.add_argument("--threads", type=int, default=4)
    worker.set_defaults(run=_worker)

    scheduler = commands.add_parser("scheduler", help="enqueue periodic jobs, once each")
    scheduler.set_defaults(run=_scheduler)

    migrate = commands.add_parser("migrate", help="upgrade the database schema")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.set_defaults(run=_migrate)

    demo = commands.add_parser("demo", help="migrate and load the demo data (idempotent)")
    demo.set_defaults(run=_demo)

    staff = commands.add_parser(
        "staff-add", help="mark an existing user as provider support staff (operators only)"
    )
    staff.add_argument("email")
    staff.add_argument("--note", default="")
    staff.set_defaults(run=_staff_add)

    export = commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.set_defaults(run=_export_schema)

    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
