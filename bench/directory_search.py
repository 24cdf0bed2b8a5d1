"""Directory search on 100,000 listings (PostgreSQL): query plans and timings.

    .venv/bin/python bench/directory_search.py [--listings 100000] [--repeat 30]

Creates a fresh database (dropped at the end, even on failure) on the server of
``PARTNERGRAPH_BENCH_POSTGRES_URL`` (default ``postgresql+asyncpg://postgres@127.0.0.1:5432/
test``), the schema with ``Base.metadata.create_all`` (pg_trgm included), and bulk-loads
organizations, partners, listings (90 % published), their tags (1-3 languages, regions and
product families each) and accepted applications (half the partners) with COPY. Then, for
each search, it prints the ``EXPLAIN (ANALYZE, BUFFERS)`` plan of the page query the API
runs and the time of the whole use case (``resolvers.directory.search_directory``: the
page, then its tags, partner organizations and verified flags: four queries in one
session), median and p95 over ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from config.settings import Settings
from db.models import Base, DirectoryListing
from db.session import make_engine, make_sessionmaker
from domain.program import listing_search_text
from resolvers.context import RequestContext, Services
from resolvers.directory import directory_statement, search_directory
from resolvers.pagination import PageRequest, encode_cursor

ADMIN_URL = os.environ.get(
    "PARTNERGRAPH_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
PAGE = 20


def _words(text_: str) -> list[str]:
    return text_.split()


LANGUAGES = ["fr", "de", "it", "en", "rm", "es", "pt"]
CANTONS = [
    f"CH-{c}"
    for c in _words("AG AI AR BE BL BS FR GE GL GR JU LU NE NW OW SG SH SO SZ TG TI UR VD VS ZG ZH")
]
REGIONS = ["CH", "FR", "DE", "AT", "IT", "BE", "LU", *CANTONS]
FAMILIES = ["WEB_HOSTING", "MAIL_HOSTING", "DOMAINS", "STORAGE", "CLOUD"]

WORDS = _words(
    "agency web studio digital cloud hosting mail domains backup storage security design "
    "consulting development ecommerce shop marketing seo support maintenance network "
    "servers migration training wordpress drupal apps mobile data analytics swiss "
    "geneva lausanne zurich bern basel lugano sion fribourg neuchatel valais vaud alpine "
    "lake mountain family small business sme association school hotel restaurant"
)


def _pg(url: str) -> str:
    return url.replace("postgresql+asyncpg", "postgresql")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_pg(ADMIN_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _rows(n: int, seed: int = 4) -> dict[str, list[tuple[Any, ...]]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    out: dict[str, list[tuple[Any, ...]]] = {
        "organizations": [],
        "partners": [],
        "directory_listings": [],
        "directory_listing_tags": [],
        "partner_applications": [],
    }
    for i in range(1, n + 1):
        name = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} p{i:06d}"
        description = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 25)))
        website = f"https://p{i:06d}.example.ch"
        out["organizations"].append(
            (i, name, "COMPANY", "CHF", f"{i:08d}", False, now, "CHE-116.281.710", website)
        )
        out["partners"].append((i, i, "ACTIVE", now))
        out["directory_listings"].append(
            (
                i,
                i,
                rng.random() < 0.9,
                name,
                description,
                website,
                listing_search_text(name, description, website),
                now,
                now,
            )
        )
        for kind, values in (
            ("LANGUAGE", LANGUAGES),
            ("REGION", REGIONS),
            ("PRODUCT_FAMILY", FAMILIES),
        ):
            for value in rng.sample(values, rng.randint(1, 3)):
                out["directory_listing_tags"].append((i, i, kind, value))  # listing, partner
        if i % 2 == 0:
            out["partner_applications"].append(
                (i, i, 1, "CHE-116.281.710", website, True, True, "ACCEPTED", "[]", i, now)
            )
    return out


COLUMNS = {
    "organizations": [
        "id", "name", "kind", "currency", "support_code", "premium_support", "created_at",
        "registration_number", "website",
    ],
    "partners": ["id", "organization_id", "status", "created_at"],
    "directory_listings": [
        "id", "partner_id", "published", "name", "description", "website", "search_text",
        "created_at", "updated_at",
    ],
    "directory_listing_tags": ["listing_id", "partner_id", "kind", "value"],
    "partner_applications": [
        "id", "organization_id", "submitted_by_user_id", "registration_number", "website",
        "accepted_reseller_conditions", "accepted_bid_exclusivity", "status",
        "refusal_reasons", "partner_id", "created_at",
    ],
}  # fmt: skip


async def _load(url: str, n: int) -> float:
    started = time.perf_counter()
    data = _rows(n)
    conn = await asyncpg.connect(_pg(url))
    try:
        await conn.execute(
            "INSERT INTO users (id, email, full_name, password_hash, created_at) "
            "VALUES (1, 'bench@example.ch', 'Bench', 'x', now())"
        )
        for table in COLUMNS:
            await conn.copy_records_to_table(table, records=data[table], columns=COLUMNS[table])
        for table in ("organizations", "partners", "directory_listings", "partner_applications"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    print(
        f"loaded {n} listings, {len(data['directory_listing_tags'])} tags, "
        f"{len(data['partner_applications'])} applications in "
        f"{time.perf_counter() - started:.1f} s (COPY)"
    )
    return time.perf_counter() - started


def _sql(stmt: Any, after: int | None) -> str:
    if after is not None:
        stmt = stmt.where(DirectoryListing.id > after)
    stmt = stmt.order_by(DirectoryListing.id).limit(PAGE + 1)
    compiled = stmt.compile(
        dialect=postgresql.asyncpg.dialect(), compile_kwargs={"literal_binds": True}
    )
    return str(compiled)


async def _timed(fn: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, float, Any]:
    await fn()  # warm: plan cache, buffers
    samples = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95, result


async def _bench(url: str, n: int, repeat: int) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await _load(url, n)
    settings = Settings(database_url=url, secret_key="bench-secret-key-0123456789")
    ctx = RequestContext(
        services=Services(settings=settings, sessionmaker=make_sessionmaker(engine))
    )
    deep_after = int(n * 0.9)
    searches: list[tuple[str, dict[str, Any], int | None]] = [
        ("first page, no filter", {}, None),
        ("text, common word ('cloud')", {"search": "cloud"}, None),
        ("text, rare (one partner: 'p042424')", {"search": "p042424"}, None),
        ("text, absent ('zzzqqq')", {"search": "zzzqqq"}, None),
        ("filter language=it + region=CH-TI", {"languages": ["it"], "regions": ["CH-TI"]}, None),
        (
            "text 'wordpress' + language=fr + region=CH-VD + family=WEB_HOSTING",
            {
                "search": "wordpress",
                "languages": ["fr"],
                "regions": ["CH-VD"],
                "product_families": ["WEB_HOSTING"],
            },
            None,
        ),
        (f"deep page via cursor (after id {deep_after})", {}, deep_after),
        (
            f"filter language=it + region=CH-TI, deep cursor (after {deep_after})",
            {"languages": ["it"], "regions": ["CH-TI"]},
            deep_after,
        ),
    ]
    summary: list[tuple[str, float, float, int, float]] = []
    async with engine.connect() as conn:
        for label, filters, after in searches:
            sql = _sql(directory_statement(**filters), after)
            plan = await conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql))
            lines = [row[0] for row in plan]
            print(f"\n=== {label}\n{sql}\n" + "\n".join(lines))
            execution = next(
                (
                    float(line.split(":")[1].split()[0])
                    for line in lines
                    if "Execution Time" in line
                ),
                float("nan"),
            )
            request = PageRequest(first=PAGE, after=after)

            async def run(filters: dict[str, Any] = filters, request: PageRequest = request) -> Any:
                return await search_directory(ctx, request, **filters)

            median, p95, page = await _timed(run, repeat)
            summary.append((label, median, p95, len(page.items), execution))
        # Only this script's numbers go into the statement, as bound parameters.
        offset = int(n * 0.9 * 0.9)
        offset_sql = (
            "EXPLAIN (ANALYZE, BUFFERS) SELECT directory_listings.* FROM directory_listings "
            "JOIN partners ON partners.id = directory_listings.partner_id "
            "WHERE directory_listings.published AND partners.status = 'ACTIVE' "
            "ORDER BY directory_listings.id LIMIT :limit OFFSET :offset"
        )
        plan = [
            row[0]
            for row in await conn.execute(text(offset_sql), {"limit": PAGE + 1, "offset": offset})
        ]
        print("\n=== for comparison: the same deep page with OFFSET (not used by the API)")
        print("\n".join(plan))
        offset_ms = next(float(x.split(":")[1].split()[0]) for x in plan if "Execution" in x)
    await engine.dispose()

    print(f"\n{n} listings, page size {PAGE}, {repeat} runs each (use case = 4 queries)")
    print(f"{'search':<72} {'median ms':>10} {'p95 ms':>8} {'rows':>5} {'plan ms':>8}")
    for label, median, p95, rows, execution in summary:
        print(f"{label:<72} {median:>10.2f} {p95:>8.2f} {rows:>5} {execution:>8.2f}")
    print(f"{'deep page with OFFSET (for comparison, page query only)':<72} "
          f"{'':>10} {'':>8} {'':>5} {offset_ms:>8.2f}")  # fmt: skip
    print(f"cursor of the deep page: {encode_cursor(deep_after)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    name = f"bench_directory_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        await _bench(url, args.listings, args.repeat)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"dropped database {name}")


if __name__ == "__main__":
    asyncio.run(main())
