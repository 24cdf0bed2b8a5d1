"""`partnergraph` command line: serve, worker, scheduler, migrate, demo, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from app.outbox_cli import add_outbox_commands
from config.logs import configure_logging
from config.settings import Settings, get_settings, listen_url


def _prepare_metrics(settings: Settings) -> None:
    """Several processes, one /metrics: their samples go to one folder (config.metrics).

    Before anything imports prometheus_client, so every process starts in multiprocess
    mode."""
    if not settings.metrics_enabled:
        return
    assert "prometheus_client" not in sys.modules, "imported before its folder was set"
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:  # the operator's: emptied, samples of a previous run would count again
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
    else:
        path = Path(tempfile.mkdtemp(prefix="partnergraph-metrics-"))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    # Dramatiq's Prometheus middleware (the workers' exposition port) reads these.
    os.environ["dramatiq_prom_db"] = str(path)  # noqa: SIM112
    os.environ["dramatiq_prom_port"] = str(settings.metrics_worker_port)  # noqa: SIM112


def _refuse(command: str, problem: str) -> int:
    print(f"partnergraph {command}: {problem}", file=sys.stderr)
    return 2


def _database_ready(command: str, settings: Settings, *, migrate: bool) -> bool:
    """Migrate first if asked; then the database must be reachable and at head."""
    from db.migrate import check_database, upgrade

    if migrate:
        upgrade(settings.database_url)
    problem = asyncio.run(check_database(settings.database_url))
    if problem is not None:
        _refuse(command, problem)
        return False
    return True


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    if "public_url" not in settings.model_fields_set:
        # Emailed links point where this server listens (its worker processes inherit it).
        os.environ["PARTNERGRAPH_PUBLIC_URL"] = listen_url(args.host, args.port)
        get_settings.cache_clear()
        settings = get_settings()
    _prepare_metrics(settings)
    from app.persisted_queries import RegisteredOperationsError, registered_operations

    try:  # read once here: one line, not a traceback from each API process
        registered_operations(settings.persisted_queries_dir)
    except RegisteredOperationsError as error:
        return _refuse("serve", str(error))
    if not _database_ready("serve", settings, migrate=args.migrate):
        return 2
    uvicorn.run(
        "app.asgi:served_app",
        factory=True,
        # A child that has not answered the supervisor's ping within this is killed and
        # replaced: 5 s (uvicorn's default) is shorter than a start-up on a busy machine.
        timeout_worker_healthcheck=30,
        host=args.host,
        port=args.port,
        # The embedded default runs its worker in-process: one API process only.
        workers=args.workers if settings.redis_url else 1,
        proxy_headers=True,
        log_level=args.log_level,
        # Our logging (config.logs) for uvicorn's records too; one line per request is
        # app.request_log's, so no access log.
        log_config=None,
        access_log=False,
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
    _prepare_metrics(settings)
    if not _database_ready("worker", settings, migrate=args.migrate):
        return 2
    argv = [
        sys.executable,
        "-m",
        "dramatiq",
        "workers.actors",
        "--skip-logging",  # each worker process configures ours (workers.actors)
        "--processes",
        str(args.processes),
        "--threads",
        str(args.threads),
    ]
    os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with Dramatiq's CLI


def _scheduler(args: argparse.Namespace) -> int:
    from config.tracing import setup_tracing
    from workers.scheduler import run_scheduler

    settings = get_settings()
    if not _database_ready("scheduler", settings, migrate=False):
        return 2
    setup_tracing("partnergraph-scheduler")
    run_scheduler(settings)
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
    if settings.production and not args.force:
        return _refuse(
            "demo",
            "PARTNERGRAPH_PRODUCTION is true: demo accounts with a published password have "
            "no place there (--force loads them anyway)",
        )
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


def _healthcheck(args: argparse.Namespace) -> int:
    """Exit 0 when healthy, 1 with one line otherwise (container health checks)."""
    if args.heartbeat is not None:
        from workers.heartbeat import age_seconds

        age = age_seconds(args.heartbeat)
        if age is None or age > args.max_age:
            seen = "never written" if age is None else f"last written {age:.0f} s ago"
            print(f"unhealthy: heartbeat {args.heartbeat} {seen}", file=sys.stderr)
            return 1
        return 0
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(args.url, timeout=args.timeout):  # noqa: S310 - ours
            return 0
    except urllib.error.HTTPError as error:
        body = error.read()[:300].decode(errors="replace")
        print(f"unhealthy: {args.url} answered {error.code}: {body}", file=sys.stderr)
    except OSError as error:
        print(f"unhealthy: {args.url}: {error}", file=sys.stderr)
    return 1


_formatter = argparse.ArgumentDefaultsHelpFormatter  # every option's help shows its default


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="partnergraph",
        description=__doc__,
        epilog="Configuration: PARTNERGRAPH_* environment variables or a .env file (README).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, description=help, formatter_class=_formatter)

    serve = command("serve", "run the API (and, without Redis, the worker and the scheduler)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument(
        "--workers", type=int, default=1, help="API processes (Redis mode; 1 without Redis)"
    )
    serve.add_argument("--log-level", default="info", help="uvicorn's log level")
    serve.add_argument(
        "--migrate",
        action="store_true",
        help="migrate the database to head first (else a database not at head is refused)",
    )
    serve.set_defaults(run=_serve)

    worker = command(
        "worker", "run Dramatiq worker processes on Redis (they also relay the outbox)"
    )
    worker.add_argument("--processes", type=int, default=2, help="worker processes")
    worker.add_argument("--threads", type=int, default=4, help="threads per process")
    worker.add_argument("--migrate", action="store_true", help="migrate the database to head first")
    worker.set_defaults(run=_worker)

    scheduler = command("scheduler", "enqueue periodic jobs, once each (needs Redis)")
    scheduler.set_defaults(run=_scheduler)

    migrate = command("migrate", "upgrade the database schema")
    migrate.add_argument("revision", nargs="?", default="head", help="Alembic revision")
    migrate.set_defaults(run=_migrate)

    demo = command("demo", "migrate and load the demo data (idempotent)")
    demo.add_argument(
        "--force", action="store_true", help="load it even with PARTNERGRAPH_PRODUCTION=true"
    )
    demo.set_defaults(run=_demo)

    staff = command("staff-add", "mark an existing user as provider support staff (operators only)")
    staff.add_argument("email", help="the user's email address")
    staff.add_argument("--note", default="", help="why (kept with the record)")
    staff.set_defaults(run=_staff_add)

    add_outbox_commands(commands, _formatter)

    health = command("healthcheck", "exit 0 if healthy: the API's /readyz, or a worker heartbeat")
    health.add_argument(
        "--url", default="http://127.0.0.1:8000/readyz", help="readiness URL of the API"
    )
    health.add_argument("--timeout", type=float, default=4.0, help="seconds to wait for it")
    health.add_argument(
        "--heartbeat",
        type=Path,
        default=None,
        help="check this worker heartbeat file instead (PARTNERGRAPH_HEARTBEAT_FILE)",
    )
    health.add_argument(
        "--max-age", type=float, default=60.0, help="oldest heartbeat that counts as alive, s"
    )
    health.set_defaults(run=_healthcheck)

    export = command("export-schema", "print the GraphQL schema (SDL)")
    export.set_defaults(run=_export_schema)
    return parser


def _configuration_error(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = "_".join(str(part) for part in item.get("loc", ()) if part != "__root__")
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(f"PARTNERGRAPH_{where.upper()}: {message}" if where else message)
    return "; ".join(problems)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as error:
        print(f"partnergraph: configuration error: {_configuration_error(error)}", file=sys.stderr)
        return 2
    configure_logging(settings)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
