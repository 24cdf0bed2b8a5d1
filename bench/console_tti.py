"""Time to interactive of the console's Managed Clients page, in Chromium, beside floors.

    .venv/bin/python bench/console_tti.py [--clients 1000] [--runs 7] [--json]

Needs PostgreSQL (``PARTNERGRAPH_TEST_POSTGRES_URL``, default the local ``test`` database
as admin) and /usr/bin/chromium. It makes a throw-away database (Alembic migrations),
writes one partner with ``--clients`` clients (``bench/_dashboard_data.py``: every client
with its grant, 20 products and 20 invoices), starts ``partnergraph serve`` on it, and
drives headless Chromium (Playwright, Debian's binary) as the partner's legal
representative, whose session token is in localStorage before the page loads.

Time to interactive, per run: from the navigation's start to the moment the first page of
clients (20 rows) is in the table and the filter answers (the page's main thread is free:
a keystroke in the filter narrows the rows in the next frame). Measured inside the page
(``performance.now()``, a MutationObserver set up before any script runs), cold (a new
browser context: nothing cached) and warm (a reload: the hashed assets cached).

Beside it, in the same run, interleaved:
- **floor (static)**: the same 20 rows as a plain HTML table (no script), served by the
  same server process's static files path, time to the rows in the table;
- **API alone**: the page's GraphQL request (``ManagedClients``, 20 clients with their
  first 5 products) timed from Python over a kept-alive connection.

Reports the medians and the ratios console/floor and console/API; ``--json`` prints them
as one object. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _dashboard_data import seed_partner  # noqa: E402

ADMIN_URL = os.environ.get(
    "PARTNERGRAPH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
SECRET = "bench-secret-key-for-the-console-0123456789"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CONSOLE = ROOT / "app" / "console_dist" / "console"
# The page's own operation (web/src/graphql/partner.graphql), for the API-alone floor.
MANAGED_CLIENTS = """query ManagedClients($partnerId: ID!, $first: Int!, $after: String) {
  node(id: $partnerId) { ... on Partner { id clients(first: $first, after: $after) {
    edges { node { id name grant { id status level paymentMethods }
      products(first: 5) { edges { node { id name family } } pageInfo { hasNextPage } } } }
    pageInfo { hasNextPage endCursor } } } } }"""

# Set up before any script of the page runs: when the clients' table holds its 20 rows,
# type in the filter and note when the narrowed table is painted (the next frame).
WATCH = """
(() => {
  const done = (at) => { window.__tti = at; };
  const check = () => {
    const rows = document.querySelectorAll('table[aria-label="%(table)s"] tbody tr');
    if (rows.length < %(rows)d || window.__typed) return;
    window.__typed = true;
    const input = '%(filter)s' ? document.querySelector('%(filter)s') : null;
    if (!input) { done(performance.now()); return; }
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
    setter.call(input, '%(needle)s');
    input.dispatchEvent(new Event('input', { bubbles: true }));
    const narrowed = () => {
      const now = document.querySelectorAll('table[aria-label="%(table)s"] tbody tr');
      if (now.length < %(rows)d) requestAnimationFrame(() => done(performance.now()));
      else requestAnimationFrame(narrowed);
    };
    narrowed();
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
})();
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pg(url: str) -> str:
    return url.replace("postgresql+asyncpg", "postgresql")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def create_database() -> str:
    name = f"bench_console_{uuid.uuid4().hex[:8]}"
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


async def seed(url: str, clients: int) -> tuple[str, int, list[str]]:
    from db.migrate import upgrade_async

    await upgrade_async(url)
    conn = await asyncpg.connect(pg(url))
    try:
        world = await seed_partner(conn, "tti", clients, SECRET)
        await conn.execute("ANALYZE")
        names = [
            r["name"]
            for r in await conn.fetch(
                "SELECT o.name FROM grants g JOIN organizations o ON o.id = g.client_id "
                "WHERE g.partner_id = $1 ORDER BY g.id LIMIT 20",
                world.partner_id,
            )
        ]
    finally:
        await conn.close()
    return world.token, world.partner_id, names


def floor_page(names: list[str]) -> str:
    """The same first page as plain HTML, no script: the floor of any page showing it."""
    rows = "".join(
        f"<tr><td><a href='#'>{n}</a></td><td>Full</td><td>Partner</td>"
        f"<td>site-1.ch, site-2.ch</td><td>Active</td></tr>"
        for n in names
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>floor</title>"
        "</head><body><main><h1>Managed Clients</h1><input aria-label='filter'>"
        f"<table aria-label='Managed clients'><tbody>{rows}</tbody></table></main></body></html>"
    )


def serve(database_url: str, port: int, home: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTNERGRAPH_")}
    env |= {
        "PARTNERGRAPH_DATABASE_URL": database_url,
        "PARTNERGRAPH_SECRET_KEY": SECRET,
        "PARTNERGRAPH_EMAIL_BACKEND": "file",
        "PARTNERGRAPH_EMAIL_FILE_DIR": str(home / "mail"),
    }
    log_file = (home / "serve.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--log-level", "warning"],
        cwd=home,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("partnergraph serve did not become ready")


def measure(page: Any, url: str, *, reload: bool) -> float:
    if reload:
        page.reload(wait_until="commit")
    else:
        page.goto(url, wait_until="commit")
    page.wait_for_function("() => window.__tti !== undefined", timeout=30_000)
    value: float = page.evaluate("() => window.__tti")
    return value


def run(args: argparse.Namespace) -> dict[str, Any]:
    from strawberry.relay import to_base64

    database_url = asyncio.run(create_database())
    home = Path(tempfile.mkdtemp(prefix="bench-console-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        started = time.perf_counter()
        token, partner_pk, names = asyncio.run(seed(database_url, args.clients))
        log(f"seeded a partner with {args.clients} clients in {time.perf_counter() - started:.1f}s")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = serve(database_url, port, home)
        wait_ready(url)
        floor_dir = home / "floor"
        floor_dir.mkdir()
        (floor_dir / "index.html").write_text(floor_page(names))
        floor_port = free_port()
        floor_server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(floor_port), "--bind", "127.0.0.1"],
            cwd=floor_dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            floor_url = f"http://127.0.0.1:{floor_port}/"
            return _measure_all(args, url, floor_url, token, to_base64("Partner", partner_pk))
        finally:
            floor_server.terminate()
            floor_server.wait(timeout=10)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=15)
        asyncio.run(drop_database(database_url))


def _measure_all(
    args: argparse.Namespace, url: str, floor_url: str, token: str, partner_id: str
) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    watch_console = WATCH % {
        "table": "Managed clients",
        "rows": 20,
        "filter": "input[name=filter]",
        "needle": "000001",
    }
    watch_floor = WATCH % {"table": "Managed clients", "rows": 20, "filter": "", "needle": ""}
    results: dict[str, list[float]] = {"cold": [], "warm": [], "floor": [], "api": []}
    body = {"query": MANAGED_CLIENTS, "variables": {"partnerId": partner_id, "first": 20}}
    with (
        sync_playwright() as playwright,
        httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}) as api,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        answer = api.post("/graphql", json=body).json()
        assert len(answer["data"]["node"]["clients"]["edges"]) == 20, answer
        for i in range(args.runs + 1):  # the first round warms the server up, not counted
            context = browser.new_context()
            context.add_init_script(f"localStorage.setItem('partnergraph.token', {token!r});")
            context.add_init_script(watch_console)
            page = context.new_page()
            cold = measure(page, f"{url}/clients", reload=False)
            warm = measure(page, f"{url}/clients", reload=True)
            context.close()
            floor_context = browser.new_context()
            floor_context.add_init_script(watch_floor)
            floor = measure(floor_context.new_page(), floor_url, reload=False)
            floor_context.close()
            began = time.perf_counter()
            api.post("/graphql", json=body).raise_for_status()
            api_ms = (time.perf_counter() - began) * 1000
            if i == 0:
                continue
            for key, value in (("cold", cold), ("warm", warm), ("floor", floor), ("api", api_ms)):
                results[key].append(value)
        browser.close()
    medians = {key: statistics.median(values) for key, values in results.items()}
    js = sorted((CONSOLE / "assets").glob("*.js"))
    css = sorted((CONSOLE / "assets").glob("*.css"))
    return {
        "clients": args.clients,
        "runs": args.runs,
        "load_average": os.getloadavg()[0],
        "tti_cold_ms": round(medians["cold"], 1),
        "tti_warm_ms": round(medians["warm"], 1),
        "floor_static_ms": round(medians["floor"], 1),
        "api_alone_ms": round(medians["api"], 1),
        "ratio_cold_over_floor": round(medians["cold"] / medians["floor"], 2),
        "ratio_warm_over_floor": round(medians["warm"] / medians["floor"], 2),
        "ratio_warm_over_api": round(medians["warm"] / medians["api"], 2),
        "bundle_js_gzip_bytes": sum(len(gzip.compress(p.read_bytes(), 9)) for p in js),
        "bundle_css_gzip_bytes": sum(len(gzip.compress(p.read_bytes(), 9)) for p in css),
        "samples": {k: [round(v, 1) for v in vs] for k, vs in results.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"Managed Clients, a partner with {result['clients']} clients, "
        f"median of {result['runs']} runs (load average {result['load_average']:.2f})"
    )
    print(f"  console, cold (new context)   {result['tti_cold_ms']:8.1f} ms")
    print(f"  console, warm (reload)        {result['tti_warm_ms']:8.1f} ms")
    print(f"  floor: static HTML, no script {result['floor_static_ms']:8.1f} ms")
    print(f"  floor: the API request alone  {result['api_alone_ms']:8.1f} ms")
    print(
        f"  ratios: cold/floor {result['ratio_cold_over_floor']}, warm/floor "
        f"{result['ratio_warm_over_floor']}, warm/API {result['ratio_warm_over_api']}"
    )
    print(
        f"  bundle: {result['bundle_js_gzip_bytes'] / 1024:.1f} KiB JS + "
        f"{result['bundle_css_gzip_bytes'] / 1024:.1f} KiB CSS, gzipped"
    )


if __name__ == "__main__":
    main()
