"""A fault run, by hand (not part of `make bench`): traffic through real processes while
Redis is killed, SMTP goes down and comes back, and PostgreSQL restarts.

    .venv/bin/python bench/_fault_run.py [--requests 150] [--rate 4]

Everything runs on this machine, on its own servers, so nothing shared is touched: a
throwaway PostgreSQL cluster (initdb, port 5499, as the `postgres` user), its own
redis-server (port 6399, no persistence: a kill loses every queued message), an SMTP
catcher in this process (aiosmtpd, port 2526), then `partnergraph serve --workers 2` and
`partnergraph worker`. The traffic is `invite` mutations (each commits a grant and an
invitation email in one transaction) and, every third request, a client's `placeOrder`
(an order, its invoice, a confirmation email and a `credit_cashback` event for its
partner). Faults, on a timeline: Redis SIGKILLed (restarted 8 s later), SMTP down for
20 s, PostgreSQL restarted (`pg_ctl restart -m fast`).

It prints what the clients saw (status codes), what was committed (grants, orders, email
rows), what SMTP received (unique Message-IDs, duplicates), what was lost, the cashback
credits (one per order due one, none twice) and whether the ledger balances, and the log
lines and tracebacks the processes wrote.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from email import message_from_bytes
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_BIN = next(Path("/usr/lib/postgresql").glob("*/bin"))
PG_PORT, REDIS_PORT, SMTP_PORT, API_PORT = 5499, 6399, 2526, 8799


class Catcher:
    """The SMTP server: records every Message-ID it accepts."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        with self.lock:
            self.ids.append(str(message["Message-ID"]))
        return "250 OK"

    def up(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=SMTP_PORT)
        self.controller.start()

    def down(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def run_as_postgres(*args: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True)


def spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def end(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def start_redis(work: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(work),
        ],
        stdout=(work / "redis.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} not ready in {seconds}s")


INVITE = (
    "mutation Invite($i: InviteInput!) { invite(input: $i) { grant { id } userErrors { code } } }"
)
ORDER = (
    "mutation Order($i: PlaceOrderInput!) { placeOrder(input: $i) "
    "{ order { id } userErrors { code } } }"
)


def _outcome(response: httpx.Response, field: str, thing: str, label: str) -> str:
    payload = response.json()
    answered = (payload.get("data") or {}).get(field) or {}
    if response.status_code == 200 and answered.get(thing):
        return f"200 {label}"
    codes = [e.get("extensions", {}).get("code") for e in payload.get("errors", [])]
    return f"{field}: {response.status_code} {','.join(map(str, codes)) or answered}"


async def traffic(
    base: str,
    partner: tuple[str, str],
    client_side: tuple[str, str],
    count: int,
    rate: float,
    marks: dict[str, float],
) -> collections.Counter[str]:
    """``partner`` and ``client_side``: (token, organization id) of each side."""
    seen: collections.Counter[str] = collections.Counter()
    start = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=15) as client:

        async def one(i: int) -> None:
            ordering = i % 3 == 2
            token, org = client_side if ordering else partner
            if ordering:
                line = {"productKind": "WEB_HOSTING", "quantity": 1, "productName": f"f{i}.ch"}
                body: dict[str, Any] = {
                    "query": ORDER,
                    "variables": {"i": {"organizationId": org, "lines": [line]}},
                }
            else:
                access = {"level": "LIMITED", "productFamilies": ["WEB_HOSTING"]}
                body = {
                    "query": INVITE,
                    "variables": {
                        "i": {
                            "organizationId": org,
                            "clientEmail": f"client{i}@fault.example",
                            "access": access,
                        }
                    },
                }
            try:
                response = await client.post(
                    "/graphql", json=body, headers={"authorization": f"Bearer {token}"}
                )
            except httpx.HTTPError as exc:
                seen[f"transport error {type(exc).__name__}"] += 1
                return
            if ordering:
                seen[_outcome(response, "placeOrder", "order", "ordered")] += 1
            else:
                seen[_outcome(response, "invite", "grant", "invited")] += 1

        tasks = []
        for i in range(count):
            tasks.append(asyncio.create_task(one(i)))
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*tasks)
    marks["traffic_seconds"] = time.monotonic() - start
    return seen


async def counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE actor_name = 'send_email') AS emails, "
            "count(*) FILTER (WHERE actor_name = 'send_email' AND processed_at IS NOT NULL) "
            "AS sent, count(*) FILTER (WHERE processed_at IS NULL) AS unprocessed, "
            "max(attempts) AS max_attempts FROM outbox_messages"
        )
        grants = await conn.fetchval("SELECT count(*) FROM grants")
        orders = await conn.fetchrow(
            "SELECT count(*) AS orders, count(*) FILTER (WHERE cashback_due) AS due FROM orders"
        )
        credits = await conn.fetchrow(
            "SELECT count(*) AS credits, count(DISTINCT order_id) AS credited_orders "
            "FROM journal_entries WHERE kind = 'CASHBACK'"
        )
        # Double entry: every entry's postings sum to zero, so all of them do, per currency.
        unbalanced = await conn.fetchval(
            "SELECT count(*) FROM (SELECT currency FROM ledger_postings GROUP BY currency "
            "HAVING sum(amount) <> 0) AS off"
        )
        return {
            **dict(row),
            **dict(orders),
            **dict(credits),
            "grants": int(grants),
            "unbalanced_currencies": int(unbalanced),
        }
    finally:
        await conn.close()


def signed_in(base: str, email: str, *, partner: bool) -> tuple[str, str]:
    """A demo login's token and the id of its (partner, or first) organization."""
    login = httpx.post(
        base + "/graphql",
        timeout=30,
        json={
            "query": "mutation($i: LoginInput!) { login(input: $i) { token } }",
            "variables": {"i": {"email": email, "password": "partnergraph-demo"}},
        },
    ).json()
    token = login["data"]["login"]["token"]
    viewer = httpx.post(
        base + "/graphql",
        timeout=30,
        headers={"authorization": f"Bearer {token}"},
        json={"query": "{ viewer { memberships { organization { id partner { id } } } } }"},
    ).json()
    organizations = [m["organization"] for m in viewer["data"]["viewer"]["memberships"]]
    chosen = next(o for o in organizations if o["partner"] or not partner)
    return token, str(chosen["id"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=150, help="invite mutations")
    parser.add_argument("--rate", type=float, default=4.0, help="mutations per second")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="partnergraph-faults-"))
    shutil.chown(work, "postgres")
    pgdata = work / "pg"
    pgdata.mkdir()
    shutil.chown(pgdata, "postgres")
    run_as_postgres(str(PG_BIN / "initdb"), "-D", str(pgdata), "-U", "postgres", "-A", "trust")
    pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(pgdata), "-l", str(pgdata / "log")]
    pg_opts = f"-p {PG_PORT} -k {work} -c listen_addresses=127.0.0.1"
    run_as_postgres(*pg_ctl, "-o", pg_opts, "-w", "start")
    redis = start_redis(work)
    smtp = Catcher()
    smtp.up()
    api = worker = None
    database = f"postgresql+asyncpg://postgres@127.0.0.1:{PG_PORT}/postgres"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PARTNERGRAPH_")},
        "PARTNERGRAPH_DATABASE_URL": database,
        "PARTNERGRAPH_REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "PARTNERGRAPH_SECRET_KEY": "fault-run-secret-key-0123456789abcdef",
        "PARTNERGRAPH_EMAIL_BACKEND": "smtp",
        "PARTNERGRAPH_SMTP_HOST": "127.0.0.1",
        "PARTNERGRAPH_SMTP_PORT": str(SMTP_PORT),
        "PARTNERGRAPH_SMTP_TIMEOUT_SECONDS": "3",
        "PARTNERGRAPH_LOG_FORMAT": "json",
        "PARTNERGRAPH_OUTBOX_SWEEP_SECONDS": "1",
        "PARTNERGRAPH_OUTBOX_STALE_SECONDS": "5",
        "PARTNERGRAPH_DATABASE_POOL_SIZE": "4",
        "PARTNERGRAPH_THROTTLE_EMAIL_ACCOUNT": "",
        "PARTNERGRAPH_THROTTLE_EMAIL_IP": "",
        "PARTNERGRAPH_THROTTLE_EMAIL_TOKEN": "",
    }
    pg_url = database.replace("+asyncpg", "")
    marks: dict[str, float] = {}
    try:
        subprocess.run(
            [str(BIN / "partnergraph"), "demo"], env=env, check=True, cwd=ROOT, capture_output=True
        )
        api = spawn(
            [str(BIN / "partnergraph"), "serve", "--workers", "2", "--port", str(API_PORT)],
            env,
            work / "api.log",
        )
        worker = spawn(
            [str(BIN / "partnergraph"), "worker", "--processes", "1", "--threads", "4"],
            env,
            work / "worker.log",
        )
        base = f"http://127.0.0.1:{API_PORT}"
        wait_http(base + "/readyz", 60)
        partner = signed_in(base, "rep@partner.example", partner=True)
        # A client of the partner's ordering for itself: the partner earns the cashback.
        client_side = signed_in(base, "rep@full.example", partner=False)

        def faults() -> None:
            nonlocal redis
            time.sleep(8)
            print(f"[{time.strftime('%X')}] Redis SIGKILLed", flush=True)
            redis.kill()
            redis.wait()
            time.sleep(8)
            redis = start_redis(work)
            print(f"[{time.strftime('%X')}] Redis back (empty: queued messages lost)", flush=True)
            time.sleep(4)
            print(f"[{time.strftime('%X')}] SMTP down for 20 s", flush=True)
            smtp.down()
            time.sleep(20)
            smtp.up()
            print(f"[{time.strftime('%X')}] SMTP back", flush=True)
            time.sleep(3)
            print(f"[{time.strftime('%X')}] PostgreSQL restart (fast)", flush=True)
            run_as_postgres(*pg_ctl, "-o", pg_opts, "-m", "fast", "-w", "restart")
            print(f"[{time.strftime('%X')}] PostgreSQL back", flush=True)

        before = asyncio.run(counts(pg_url))
        before_ids = list(smtp.ids)
        timeline = threading.Thread(target=faults)
        timeline.start()
        seen = asyncio.run(traffic(base, partner, client_side, args.requests, args.rate, marks))
        timeline.join()
        traffic_end = time.monotonic()
        print("clients saw:", dict(seen), flush=True)

        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            now = asyncio.run(counts(pg_url))
            if now["unprocessed"] == 0:
                break
            time.sleep(2)
        drained = time.monotonic()
        now = asyncio.run(counts(pg_url))
        ids = list(smtp.ids)
        unique = set(ids)
        duplicates = len(ids) - len(unique)
        result = {
            "invites_answered_ok": seen["200 invited"],
            "grants_committed": now["grants"] - before["grants"],
            "orders_answered_ok": seen["200 ordered"],
            "orders_committed": now["orders"] - before["orders"],
            "orders_due_cashback": now["due"] - before["due"],
            "cashback_credits": now["credits"] - before["credits"],
            "orders_credited_twice": now["credits"] - now["credited_orders"],
            "cashback_credits_lost": (now["due"] - before["due"])
            - (now["credited_orders"] - before["credited_orders"]),
            "ledger_unbalanced_currencies": now["unbalanced_currencies"],
            "email_rows_committed": now["emails"] - before["emails"],
            "email_rows_processed": now["sent"],
            "outbox_rows_unprocessed": now["unprocessed"],
            "smtp_messages_received": len(ids),
            "smtp_unique_message_ids": len(unique),
            "smtp_duplicates": duplicates,
            "emails_lost": now["emails"] - before["emails"] - len(unique - set(before_ids)),
            "max_attempts_of_a_row": now["max_attempts"],
            "seconds_to_drain_after_traffic": round(drained - traffic_end, 1),
        }
        for name in ("api", "worker"):
            text = (work / f"{name}.log").read_text(errors="replace")
            lines = text.splitlines()
            levels = collections.Counter(
                json.loads(line).get("level", "?") if line.startswith("{") else "plain"
                for line in lines
            )
            result[f"{name}_log_lines"] = len(lines)
            result[f"{name}_log_levels"] = dict(levels)
            result[f"{name}_tracebacks"] = text.count("Traceback")
        print(json.dumps(result, indent=2))
        print(f"logs and data in {work}")
    finally:
        end(api)
        end(worker)
        smtp.down()
        if redis.poll() is None:
            redis.kill()
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *pg_ctl, "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
