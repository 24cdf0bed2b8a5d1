"""The partner dashboard costs the same SQL at 10 and at 100 clients: at most 5 statements
(authentication included) and one pool checkout (the request's session authenticates too).

Extra clients (with products, a grant and invoices each) are written straight to the
database in bulk; the statements and checkouts are counted on the app's own engine with
SQLAlchemy's `before_cursor_execute` and pool `checkout` events while one dashboard query
runs over HTTP.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from app.asgi import create_app
from config.settings import Settings
from db.models import Grant, GrantProduct, Invoice, Organization, Product, utcnow
from domain.enums import AccessLevel, GrantStatus, PaymentMethods, Side
from domain.money import Currency
from resolvers.demo import PARTNER
from tests.api.spine_support import Maker, session_token
from tests.conftest import Api

DASHBOARD = """
query {
  viewer { memberships { role organization { name partner {
    clients(first: 100) { edges { node {
      id name
      grant { status level paymentMethods }
      products(first: 100) { edges { node { name } } }
      invoices(first: 100) { edges { node { number total { amount currency } } } }
    } } }
  } } } }
}
"""


@dataclass
class App:
    app: Starlette
    api: Api

    @property
    def engine(self) -> AsyncEngine:
        engine: AsyncEngine = self.app.state.runtime.engine
        return engine


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    """Like the `api` fixture, with the app itself exposed (its engine)."""
    app = create_app(settings, start_workers=False)
    runtime = app.state.runtime
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield App(app=app, api=Api(client))
    await runtime.stop()


@dataclass
class Counted:
    statements: list[str]
    checkouts: int = 0


@contextmanager
def count_sql(engine: AsyncEngine) -> Iterator[Counted]:
    counted = Counted(statements=[])

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        counted.statements.append(statement)

    def checkout(*args: Any) -> None:
        counted.checkouts += 1

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine.pool, "checkout", checkout)
    try:
        yield counted
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)
        event.remove(engine.sync_engine.pool, "checkout", checkout)


async def add_clients(sessionmaker: Maker, world: Any, start: int, count: int) -> None:
    """`count` clients of the demo partner: 2 products, a grant, 2 invoices each.

    Every other one is FULL + PARTNER (its partner-paid invoice shows), the rest LIMITED
    on one product (its invoices field answers FORBIDDEN): both paths of the dashboard.
    """
    partner_org = world.organizations[PARTNER]
    inviter = world.users["rep@partner.example"]
    now = utcnow()
    async with sessionmaker() as session, session.begin():
        orgs = [
            Organization(
                name=f"Bulk client {i:03d}", currency=Currency.CHF, support_code=f"B{i:07d}"
            )
            for i in range(start, start + count)
        ]
        session.add_all(orgs)
        await session.flush()
        products = [
            Product(
                organization_id=org.id,
                kind="web_hosting",
                family="WEB_HOSTING",
                name=f"site-{org.id}-{n}.ch",
                quantity=1,
            )
            for org in orgs
            for n in range(2)
        ]
        session.add_all(products)
        full = [i % 2 == 0 for i in range(count)]
        grants = [
            Grant(
                partner_id=world.partner_id,
                client_id=org.id,
                initiated_by=Side.CLIENT,
                status=GrantStatus.ACTIVE,
                requested_level=AccessLevel.FULL if is_full else AccessLevel.LIMITED,
                level=AccessLevel.FULL if is_full else AccessLevel.LIMITED,
                payment_methods=PaymentMethods.PARTNER if is_full else None,
                requested_families=[],
                requested_product_ids=[],
                invited_by_user_id=inviter,
                accepted_at=now,
            )
            for org, is_full in zip(orgs, full, strict=True)
        ]
        session.add_all(grants)
        await session.flush()
        session.add_all(
            GrantProduct(grant_id=grant.id, product_id=products[2 * k].id)
            for k, (grant, is_full) in enumerate(zip(grants, full, strict=True))
            if not is_full
        )
        invoices = []
        for k, org in enumerate(orgs):
            sequence = 1000 + start + k
            for payer in (partner_org, org.id):
                invoices.append(
                    Invoice(
                        organization_id=payer,
                        client_id=org.id,
                        sequence=sequence,
                        number=f"{payer:04d}-{sequence:06d}",
                        currency=Currency.CHF,
                        total_amount=Decimal("12.50"),
                    )
                )
        session.add_all(invoices)


async def dashboard(app: App, token: str, clients: int) -> tuple[int, int]:
    with count_sql(app.engine) as counted:
        result = await app.api.gql(DASHBOARD, token=token)
    partner = result.data["viewer"]["memberships"][0]["organization"]["partner"]
    edges = partner["clients"]["edges"]
    assert len(edges) == clients
    shown = [e["node"]["invoices"] for e in edges if e["node"]["invoices"] is not None]
    # FULL + PARTNER clients show their one partner-paid invoice; the others FORBIDDEN.
    assert all(len(invoices["edges"]) == 1 for invoices in shown)
    assert len(result.errors) == clients - len(shown)
    assert set(result.error_codes()) == {"FORBIDDEN"}
    return len(counted.statements), counted.checkouts


async def test_dashboard_statement_count_does_not_grow(
    app: App, sessionmaker: Maker, world: Any
) -> None:
    token = await session_token(sessionmaker, "rep@partner.example")
    await add_clients(sessionmaker, world, start=0, count=8)  # + the 2 demo clients = 10
    statements_10, checkouts_10 = await dashboard(app, token, 10)
    await add_clients(sessionmaker, world, start=8, count=90)
    statements_100, checkouts_100 = await dashboard(app, token, 100)
    print(
        f"\npartner dashboard: {statements_10} statements, {checkouts_10} checkouts at 10 "
        f"clients; {statements_100}, {checkouts_100} at 100"
    )
    assert (statements_10, checkouts_10) == (statements_100, checkouts_100)
    assert statements_100 <= 5
    assert checkouts_100 == 1


async def test_a_typename_probe_with_a_token_runs_no_sql(
    app: App, sessionmaker: Maker, world: Any
) -> None:
    """`{ __typename }` reads nothing about the caller: its token is not even looked up;
    a query that reads the viewer authenticates on the request's own connection."""
    token = await session_token(sessionmaker, "rep@partner.example")
    with count_sql(app.engine) as probe:
        result = await app.api.gql("{ __typename }", token=token)
    assert result.data == {"__typename": "Query"}
    assert (len(probe.statements), probe.checkouts) == (0, 0)
    with count_sql(app.engine) as viewer:
        result = await app.api.gql("{ viewer { user { email } } }", token=token)
    assert result.data["viewer"]["user"]["email"] == "rep@partner.example"
    assert viewer.checkouts == 1  # the request's session authenticates, then answers
    assert viewer.statements[0].count("auth_sessions") >= 1


async def test_pages_the_plan_did_not_fetch_are_loaded_on_demand(
    app: App, sessionmaker: Maker, world: Any
) -> None:
    """Aliases asking a client's products with other page sizes, and a variable the plan
    cannot read, answer as the planned page does (prefetched or loaded, the same rows)."""
    token = await session_token(sessionmaker, "rep@partner.example")
    query = """query($n: Int) { viewer { memberships { organization { partner {
      clients(first: 10) { edges { node { name
        all: products(first: 20) { edges { node { name } } }
        one: products(first: 1) { edges { node { name } } pageInfo { hasNextPage } }
        asked: products(first: $n) { edges { node { name } } }
      } } } } } } } }"""
    result = await app.api.gql(query, {"n": 1}, token=token)
    partner = result.data["viewer"]["memberships"][0]["organization"]["partner"]
    nodes = [e["node"] for e in partner["clients"]["edges"]]
    assert nodes
    for node in nodes:
        names = [e["node"]["name"] for e in node["all"]["edges"]]
        assert names
        assert [e["node"]["name"] for e in node["one"]["edges"]] == names[:1]
        assert node["one"]["pageInfo"]["hasNextPage"] == (len(names) > 1)
        assert [e["node"]["name"] for e in node["asked"]["edges"]] == names[:1]


async def test_an_answered_dashboard_leaves_its_data_to_reference_counting(
    app: App, sessionmaker: Maker, world: Any
) -> None:
    """Once answered, a request's loaded rows and pages are freed at once, not kept in
    reference cycles (loaders and their set, the anonymous caller's loaders too; a field
    error's traceback; the executor, its plans and graphql-core's helpers, which held
    its errors and paths) until the cycle collector walks them: that walk cost a
    dashboard request more CPU than its SQL, more at concurrency 8. A handful of objects
    is left (a SQLAlchemy bind parameter's own cycle), not a request's worth."""
    token = await session_token(sessionmaker, "rep@partner.example")
    await add_clients(sessionmaker, world, start=0, count=20)
    await dashboard(app, token, 22)  # warm: plans, compiled statements, pools
    gc.collect()
    gc.disable()
    try:
        await dashboard(app, token, 22)  # 10 of its clients answer FORBIDDEN invoices
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = Counter(type(o).__name__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    data = {
        name: n
        for name, n in left.items()
        if name
        in {"Page", "ProductRow", "InvoiceRow", "Product", "Invoice", "Client", "frame"}
        | {"FastExecutor", "Loaders", "DataLoader", "RequestContext", "GraphQLError", "Path"}
    }
    assert data == {}, left.most_common(20)
    assert sum(left.values()) < 50, left.most_common(20)
