"""The partner dashboard: partnergraph beside a hand-written floor, in one interleaved run.

    .venv/bin/python bench/dashboard.py [--quick] [--json] [--sizes 10,1000,100000]
                                        [--seconds 3] [--rounds 4] [--rss-requests 10000]
                                        [--profile FILE] [--profile-concurrency 1]
                                        [--compare bytes|json]

Needs PostgreSQL (``PARTNERGRAPH_TEST_POSTGRES_URL``, default the local ``test`` database
as admin). It makes a throw-away database (Alembic migrations), writes one partner per
size with that many clients (``bench/_dashboard_data.py``), then starts two servers, each
one uvicorn process on 127.0.0.1 (uvloop, httptools): the app (``partnergraph``) and the
floor (``bench/_dashboard_floor.py``, a plain Starlette + SQLAlchemy handler). Before it
measures, it checks that both answer each size's dashboard with the same bytes.

For each size and each concurrency (1 and 8) it runs ``--rounds`` rounds; a round drives
each server for ``--seconds`` in turn (the order alternates), so both see the same load
from the other seven people on the machine. Per server it reports req/s, p50 and p99
latency, the server process's CPU ms per request (``/proc``), and the SQL statements and
pool checkouts per request (counted on the server's engine). Then ``{ __typename }``
with and without a token (the app only), and the app's RSS after ``--rss-requests``
dashboards of the smallest partner against after a tenth of them.

``--json`` prints one JSON object: ``ratio_c1``, ``ratio_c8`` (app req/s over the floor's
at the largest size), ``statements`` and ``checkouts`` (the app's per dashboard request at
the largest size) and every row. ``--quick`` runs 10 and 1,000 clients, short rounds, no
RSS phase: under 2 minutes. ``--profile FILE`` also records the app with py-spy (raw
collapsed stacks) while it serves the largest dashboard at concurrency 1; summarize with
``bench/_profile_summary.py FILE``. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _dashboard_data import seed_partner, seed_plain_member  # noqa: E402
from _http import HttpConnection  # noqa: E402

ADMIN_URL = os.environ.get(
    "PARTNERGRAPH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
SECRET = "bench-secret-key-for-the-dashboard-0123456789"
TICKS = os.sysconf("SC_CLK_TCK")

DASHBOARD = """{ viewer { memberships { role organization { id name partner { id
  clients(first: 50) { edges { node { id name
    grant { status level paymentMethods }
    products(first: 20) { edges { node { name family } } }
    invoices(first: 20) { edges { node { number total { amount currency } } } } } } } } } } } }"""
TYPENAME = "{ __typename }"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pg(url: str) -> str:
    return url.replace("postgresql+asyncpg", "postgresql")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """One uvicorn process serving a factory of bench/_dashboard_servers.py."""

    def __init__(self, name: str, factory: str, database_url: str, logfile: Path) -> None:
        self.name = name
        self.port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PARTNERGRAPH_DATABASE_URL": database_url,
            "PARTNERGRAPH_SECRET_KEY": SECRET,
            "PARTNERGRAPH_PRODUCTION": "true",
            # One token hammers the app: its query-cost bucket must never run dry here.
            "PARTNERGRAPH_COST_BUCKET_SIZE": "1000000000",
            "PARTNERGRAPH_COST_RESTORE_RATE": "1000000000",
        }
        env.pop("PARTNERGRAPH_REDIS_URL", None)
        command = [sys.executable, "-m", "uvicorn", f"_dashboard_servers:{factory}"]
        command += ["--factory", "--app-dir", str(ROOT / "bench"), "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--loop", "uvloop", "--http", "httptools"]
        command += ["--no-access-log", "--log-level", "warning", "--timeout-keep-alive", "120"]
        self.logfile = logfile
        with logfile.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        self.connections: list[HttpConnection] = []

    def connection(self, index: int) -> HttpConnection:
        while len(self.connections) <= index:
            self.connections.append(HttpConnection("127.0.0.1", self.port))
        return self.connections[index]

    async def counters(self) -> dict[str, int]:
        status, body = await self.connection(0).request("GET", "/_bench/counters")
        assert status == 200, body
        counts: dict[str, int] = orjson.loads(body)
        return counts

    async def ready(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while True:
            try:
                await self.counters()
                return
            except OSError as error:
                self.connections.clear()
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log(self.logfile.read_text())
                    raise RuntimeError(f"{self.name} did not start") from error
                await asyncio.sleep(0.2)

    def cpu_ticks(self) -> int:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass
class Measured:
    """What one server did over the rounds of one scenario."""

    requests: int = 0
    seconds: float = 0.0
    cpu_ticks: int = 0
    statements: int = 0
    checkouts: int = 0
    latencies: list[float] = field(default_factory=list)

    def row(self) -> dict[str, float]:
        n = max(self.requests, 1)
        ordered = sorted(self.latencies) or [0.0]
        return {
            "requests": self.requests,
            "req_s": self.requests / self.seconds if self.seconds else 0.0,
            "p50_ms": statistics.median(ordered) * 1000,
            "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
            "cpu_ms": self.cpu_ticks * 1000 / TICKS / n,
            "statements": self.statements / n,
            "checkouts": self.checkouts / n,
        }


def request_of(query: str, token: str | None) -> tuple[bytes, dict[str, str]]:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return orjson.dumps({"query": query}), headers


async def burst(
    server: Server,
    payload: tuple[bytes, dict[str, str]],
    concurrency: int,
    seconds: float,
    into: Measured,
    *,
    count: int | None = None,
) -> None:
    """Drive `server` with `concurrency` connections for `seconds` (or `count` requests)."""
    body, headers = payload
    before = await server.counters()
    ticks = server.cpu_ticks()
    started = time.perf_counter()
    deadline = started + seconds
    left = [count if count is not None else 1 << 62]

    async def client(index: int) -> None:
        connection = server.connection(index)
        while left[0] > 0 and time.perf_counter() < deadline:
            left[0] -= 1
            sent = time.perf_counter()
            status, answer = await connection.request("POST", "/graphql", body, headers)
            into.latencies.append(time.perf_counter() - sent)
            if status != 200:
                raise RuntimeError(f"{server.name} answered {status}: {answer[:500]!r}")
            into.requests += 1

    await asyncio.gather(*(client(i) for i in range(concurrency)))
    into.seconds += time.perf_counter() - started
    into.cpu_ticks += server.cpu_ticks() - ticks
    after = await server.counters()
    into.statements += after["statements"] - before["statements"]
    into.checkouts += after["checkouts"] - before["checkouts"]


async def interleaved(
    pairs: list[tuple[Server, tuple[bytes, dict[str, str]]]],
    concurrency: int,
    seconds: float,
    rounds: int,
) -> list[Measured]:
    results = [Measured() for _ in pairs]
    for r in range(rounds):
        order = list(range(len(pairs)))
        if r % 2:
            order.reverse()
        for i in order:
            server, payload = pairs[i]
            await burst(server, payload, 1, 0.2, Measured())  # warm the connection
            await burst(server, payload, concurrency, seconds, results[i])
    return results


async def create_database() -> str:
    name = f"bench_dashboard_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(pg(ADMIN_URL))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(url: str) -> None:
    conn = await asyncpg.connect(pg(ADMIN_URL))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


async def seed(url: str, sizes: list[int]) -> tuple[dict[int, str], str]:
    from db.migrate import upgrade_async

    await upgrade_async(url)
    conn = await asyncpg.connect(pg(url))
    try:
        tokens = {}
        for size in sizes:
            started = time.perf_counter()
            world = await seed_partner(conn, f"s{size}", size, SECRET)
            tokens[size] = world.token
            log(f"seeded a partner with {size} clients in {time.perf_counter() - started:.1f} s")
        plain = await seed_plain_member(conn, SECRET)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return tokens, plain


async def check_same_answers(
    app: Server, floor: Server, tokens: dict[int, str], compare: str
) -> None:
    for size, token in tokens.items():
        body, headers = request_of(DASHBOARD, token)
        _, mine = await app.connection(0).request("POST", "/graphql", body, headers)
        _, theirs = await floor.connection(0).request("POST", "/graphql", body, headers)
        parsed = orjson.loads(mine)
        # The app reports each answer's query cost (extensions.cost); the floor computes
        # none: the rest must be the same bytes.
        if parsed.pop("extensions", None) is not None:
            mine = orjson.dumps(parsed)
        if "errors" in parsed and not any(
            e.get("extensions", {}).get("code") == "FORBIDDEN" for e in parsed["errors"]
        ):
            raise RuntimeError(f"the app failed at {size} clients: {mine[:2000]!r}")
        if mine == theirs:
            log(f"{size} clients: same bytes ({len(mine)})")
        elif compare == "json" and parsed == orjson.loads(theirs):
            log(f"{size} clients: same JSON, different bytes ({len(mine)} vs {len(theirs)})")
        else:
            log(f"app:   {mine[:3000]!r}\nfloor: {theirs[:3000]!r}")
            raise RuntimeError(f"{size} clients: the app's answer and the floor's differ")


def profile(app: Server, seconds: float, out: str) -> subprocess.Popen[bytes]:
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "--pid", str(app.process.pid), "--format", "raw"]
    command += ["--duration", str(int(seconds)), "--rate", "250", "--output", out]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def loadavg() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


async def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = [int(s) for s in args.sizes.split(",")]
    url = await create_database()
    servers: list[Server] = []
    tmp = tempfile.TemporaryDirectory()
    report: dict[str, Any] = {"load_average_start": loadavg(), "cpus": os.cpu_count()}
    try:
        tokens, plain = await seed(url, sizes)
        app = Server("partnergraph", "partnergraph", url, Path(tmp.name) / "app.log")
        floor = Server("floor", "floor", url, Path(tmp.name) / "floor.log")
        servers += [app, floor]
        await app.ready()
        await floor.ready()
        await check_same_answers(app, floor, tokens, args.compare)
        rows = []
        for size in sizes:
            payload = request_of(DASHBOARD, tokens[size])
            for concurrency in (1, 8):
                pairs = [(floor, payload), (app, payload)]
                measured = await interleaved(pairs, concurrency, args.seconds, args.rounds)
                for server, m in zip((floor, app), measured, strict=True):
                    row = {"server": server.name, "clients": size, "concurrency": concurrency}
                    rows.append({**row, **m.row()})
                log(f"{size} clients, concurrency {concurrency}: done (load {loadavg()})")
        report["rows"] = rows
        typename = []
        for concurrency in (1, 8):
            pairs = [(app, request_of(TYPENAME, None)), (app, request_of(TYPENAME, plain))]
            measured = await interleaved(pairs, concurrency, args.seconds / 2, args.rounds)
            for label, m in zip(("no token", "token"), measured, strict=True):
                typename.append({"query": label, "concurrency": concurrency, **m.row()})
        report["typename"] = typename
        if args.profile:
            payload = request_of(DASHBOARD, tokens[max(sizes)])
            spy = profile(app, args.profile_seconds, args.profile)
            await asyncio.sleep(1.0)  # py-spy attaches
            await burst(
                app, payload, args.profile_concurrency, args.profile_seconds - 1.5, Measured()
            )
            spy.wait(timeout=60)
            log(f"py-spy profile written to {args.profile}")
        if args.rss_requests:
            payload = request_of(DASHBOARD, tokens[min(sizes)])
            tenth = Measured()
            await burst(app, payload, 8, 1e9, tenth, count=args.rss_requests // 10)
            at_tenth = app.rss_mib()
            await burst(app, payload, 8, 1e9, Measured(), count=args.rss_requests * 9 // 10)
            report["rss"] = {
                "after": [args.rss_requests // 10, args.rss_requests],
                "mib": [round(at_tenth, 1), round(app.rss_mib(), 1)],
                "growth": round(app.rss_mib() / at_tenth - 1, 3),
            }
    finally:
        for server in servers:
            server.stop()
        tmp.cleanup()
        await drop_database(url)
    report["load_average_end"] = loadavg()
    largest = max(sizes)

    def pick(server: str, concurrency: int) -> dict[str, Any]:
        return next(
            r
            for r in report["rows"]
            if r["server"] == server and r["clients"] == largest and r["concurrency"] == concurrency
        )

    for c in (1, 8):
        report[f"ratio_c{c}"] = round(
            pick("partnergraph", c)["req_s"] / pick("floor", c)["req_s"], 3
        )
    report["statements"] = pick("partnergraph", 1)["statements"]
    report["checkouts"] = pick("partnergraph", 1)["checkouts"]
    return report


def print_table(report: dict[str, Any]) -> None:
    head = f"{'server':<13}{'clients':>8}{'conc':>5}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
    head += f"{'CPU ms/req':>11}{'SQL/req':>8}{'checkouts':>10}{'ratio':>7}"
    print(head)
    floors = {(r["clients"], r["concurrency"]): r for r in report["rows"] if r["server"] == "floor"}
    for r in report["rows"]:
        ratio = r["req_s"] / floors[(r["clients"], r["concurrency"])]["req_s"]
        print(
            f"{r['server']:<13}{r['clients']:>8}{r['concurrency']:>5}{r['req_s']:>9.1f}"
            f"{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['cpu_ms']:>11.2f}"
            f"{r['statements']:>8.1f}{r['checkouts']:>10.1f}{ratio:>7.2f}"
        )
    print()
    print(f"{'{ __typename }':<13}{'conc':>13}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}", end="")
    print(f"{'CPU ms/req':>11}")
    for r in report["typename"]:
        print(
            f"{r['query']:<13}{r['concurrency']:>13}{r['req_s']:>9.1f}{r['p50_ms']:>9.2f}"
            f"{r['p99_ms']:>9.2f}{r['cpu_ms']:>11.2f}"
        )
    if "rss" in report:
        rss = report["rss"]
        print(
            f"\nRSS after {rss['after'][0]} dashboards: {rss['mib'][0]} MiB; after "
            f"{rss['after'][1]}: {rss['mib'][1]} MiB ({rss['growth']:+.1%})"
        )
    print(
        f"\nratio at {max(r['clients'] for r in report['rows'])} clients: "
        f"c1 {report['ratio_c1']:.2f}x, c8 {report['ratio_c8']:.2f}x the floor's req/s; "
        f"{report['statements']:.1f} statements, {report['checkouts']:.1f} checkouts per request"
    )
    print(
        f"machine: {report['cpus']} CPUs, load average at start {report['load_average_start']}, "
        f"at end {report['load_average_end']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 and 1,000 clients, short")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--sizes", default=None, help="clients per partner, comma-separated")
    parser.add_argument("--seconds", type=float, default=None, help="per server per round")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--rss-requests", type=int, default=None)
    parser.add_argument("--profile", default=None, help="py-spy raw output file")
    parser.add_argument("--profile-seconds", type=float, default=20.0)
    parser.add_argument(
        "--profile-concurrency", type=int, default=1, help="requests in flight while profiled"
    )
    parser.add_argument(
        "--compare", choices=["bytes", "json"], default="bytes", help="what must be equal"
    )
    args = parser.parse_args()
    if args.sizes is None:
        args.sizes = "10,1000" if args.quick else "10,1000,100000"
    if args.seconds is None:
        args.seconds = 1.5 if args.quick else 3.0
    if args.rounds is None:
        args.rounds = 2 if args.quick else 4
    if args.rss_requests is None:
        args.rss_requests = 0 if args.quick else 10_000
    report = asyncio.run(run(args))
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_table(report)


if __name__ == "__main__":
    main()
