"""Query cost: computed before execution, refused over the maximum, drawn from a leaky
bucket per caller (Redis-shared), reported on every answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import parse

from config.settings import Settings
from resolvers.cost_bucket import CostBucket
from schema.cost import query_cost
from schema.root import build_schema
from tests.conftest import RedisSpace
from tests.edge.conftest import Edge, edge_settings, open_edge

README = (Path(__file__).parents[2] / "README.md").read_text()
DASHBOARD = README.split("The partner dashboard")[1].split("```graphql")[1].split("```")[0]
SCHEMA = build_schema()._schema


def cost(query: str, **kwargs: Any) -> int:
    return query_cost(SCHEMA, parse(query), page_size=100, **kwargs)


def test_static_costs() -> None:
    assert cost("{ __typename }") == 0
    assert cost("{ viewer { user { email } } }") == 1  # a root field costs at least 1
    # A connection: 2 + first x one node (a Node costs 1, its scalars 0).
    assert cost("{ directory(first: 5) { edges { node { name } } } }") == 2 + 5
    # No `first`: the default page size; a variable's value when given.
    assert cost("{ directory { edges { node { name } } } }") == 2 + 100
    query = "query($n: Int) { directory(first: $n) { edges { node { name } } } }"
    assert cost(query, variables={"n": 7}) == 2 + 7
    # Nested connections multiply; fragments count like inline fields.
    nested = """{ viewer { memberships { organization { partner { clients(first: 10) {
      ...C } } } } } } fragment C on ClientConnection { edges { node { id
      products(first: 3) { edges { node { name } } } } } }"""
    assert cost(nested) == 1 + 1 + 2 + 10 * (1 + 2 + 3)
    # A mutation costs 10 plus what its payload selects.
    assert cost('mutation { login(input: {email: "a", password: "b"}) { token } }') == 10


def test_a_document_asked_again_costs_the_same_for_its_page_size_and_variables() -> None:
    """Requested costs are kept per document: the same parsed document, asked with
    another page size or other variables, is costed anew."""
    document = parse("{ directory { edges { node { name } } } }")
    assert query_cost(SCHEMA, document, page_size=100) == 2 + 100
    assert query_cost(SCHEMA, document, page_size=100) == 2 + 100
    assert query_cost(SCHEMA, document, page_size=10) == 2 + 10
    with_variable = parse("query($n: Int) { directory(first: $n) { edges { node { name } } } }")
    assert query_cost(SCHEMA, with_variable, variables={"n": 7}) == 2 + 7
    assert query_cost(SCHEMA, with_variable, variables={"n": 3}) == 2 + 3


def test_actual_costs_count_what_came_back() -> None:
    # A connection 2, each node there 1 (a null node nothing, a missing page nothing).
    query = "{ directory(first: 5) { edges { node { name } } } }"
    edges = [{"node": {"name": "a"}}, {"node": None}, {"node": {"name": "b"}}]
    assert cost(query, data={"directory": {"edges": edges}}, actual=True) == 2 + 2
    assert cost(query, data={"directory": {"edges": []}}, actual=True) == 2
    assert cost(query, data={"directory": None}, actual=True) == 0
    nested = """{ viewer { memberships { organization { partner { clients(first: 10) {
      edges { node { id products(first: 3) { edges { node { name } } } } } } } } } } }"""
    client = {"id": "x", "products": {"edges": [{"node": {"name": "p"}}] * 2}}
    data = {
        "viewer": {
            "memberships": [
                {"organization": {"partner": {"clients": {"edges": [{"node": client}] * 3}}}},
                {"organization": {"partner": None}},
                None,
            ]
        }
    }
    # organizations 2 (one a null partner: it costs nothing) + partner 1 + clients 2 +
    # 3 x (client 1 + products 2 + 2)
    assert cost(nested, data=data, actual=True) == 2 + 1 + 2 + 3 * (1 + 2 + 2)


def test_the_readme_dashboard_costs_924() -> None:
    # organization 1 + partner 1 + clients: 2 + 20 x (client 1 + grant 1 + products 2 + 20
    # + invoices 2 + 20).
    assert cost(DASHBOARD) == 1 + 1 + 2 + 20 * (1 + 1 + 22 + 22) == 924


async def test_every_answer_reports_its_cost(edge: Edge) -> None:
    token = await edge.login("rep@partner.example")
    body = (await edge.gql(DASHBOARD, token=token)).json()
    report = body["extensions"]["cost"]
    assert report["requestedQueryCost"] == 924
    assert report["actualQueryCost"] == cost(DASHBOARD, data=body["data"], actual=True)
    assert 0 < report["actualQueryCost"] < 924
    status = report["throttleStatus"]
    assert status["maximumAvailable"] == 100_000
    assert status["restoreRate"] == 5000
    # Took 924, got back what was not spent.
    assert status["currentlyAvailable"] == 100_000 - report["actualQueryCost"]


async def test_over_the_maximum_is_refused_before_anything_runs(edge: Edge) -> None:
    token = await edge.login("rep@partner.example")
    full_pages = DASHBOARD.replace("first: 20", "first: 100")
    assert cost(full_pages) == 20604  # two nested full pages: allowed
    # Three copies of it under aliases: over the maximum of 50,000.
    clients = full_pages.split("partner { id ")[1].rsplit("} } } } }", 1)[0]
    huge = full_pages.replace(clients, " ".join(f"c{n}: {clients}" for n in range(3)))
    assert cost(huge) == 1 + 1 + 3 * (2 + 100 * (1 + 1 + 102 + 102)) == 61808
    body = (await edge.gql(huge, token=token)).json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "MAX_COST_EXCEEDED", "cost": 61808, "maxCost": 50_000}
    assert body["extensions"]["cost"]["actualQueryCost"] == 0


async def test_the_bucket_runs_dry_then_refills(tmp_path: Path) -> None:
    settings = edge_settings(tmp_path, cost_bucket_size=10, cost_restore_rate=1.0)
    async with open_edge(settings, seed=False) as edge:
        query = "{ directory(first: 5) { edges { node { name } } } }"  # 7, actually 2
        seen = []
        for _ in range(3):
            response = await edge.gql(query)
            seen.append((response.status_code, response.json()["extensions"]["cost"]))
        available = [c["throttleStatus"]["currentlyAvailable"] for _, c in seen]
        assert available == [10 - 7 + 5, 8 - 7 + 5, 6]
        status, refused = seen[2]
        assert status == 429
        assert refused["actualQueryCost"] == 0
        error = (await edge.gql(query)).json()["errors"][0]
        assert error["extensions"] == {"code": "THROTTLED", "retryAfterSeconds": 1}
        edge.clock.advance(1)
        again = await edge.gql(query)
        assert again.status_code == 200
        assert again.json()["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 5
        # A logged-in caller has a bucket of its own (its session), not the IP's.
        token = await edge_login_without_demo(edge)
        own = (await edge.gql(query, token=token)).json()["extensions"]["cost"]
        assert own["throttleStatus"]["currentlyAvailable"] == 10 - 7 + 5


async def edge_login_without_demo(edge: Edge) -> str:
    from resolvers.demo import seed_demo

    await seed_demo(edge.services.sessionmaker)
    edge.clock.advance(10)  # the IP bucket refills for the login mutation itself
    return await edge.login("rep@partner.example")


@pytest.mark.redis
async def test_buckets_are_shared_through_redis(redis_space: RedisSpace) -> None:
    settings = Settings(
        redis_url=redis_space.url,
        redis_namespace=redis_space.namespace,
        cost_bucket_size=100,
        cost_restore_rate=10,
    )
    first, second = CostBucket.from_settings(settings), CostBucket.from_settings(settings)
    try:
        assert (await first.take("token:1", 60, now=1000.0)).ok
        refused = await second.take("token:1", 60, now=1000.0)
        assert not refused.ok
        assert refused.available == 40
        assert refused.retry_after_seconds == 2
        assert (await second.take("token:1", 60, now=1002.0)).ok
        assert (await first.give_back("token:1", 500, now=1002.0)).available == 100
        written = redis_space.keys()
        assert written
        assert all(key.startswith(redis_space.namespace.encode()) for key in written)
    finally:
        await first.close()
        await second.close()


async def test_with_redis_out_of_reach_every_request_answers_503_without_details(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The cost bucket lives in Redis: with Redis gone, a query is not run and answers
    503 SERVICE_UNAVAILABLE with the public message (no host, port or driver text), and
    the log has no traceback."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = edge_settings(tmp_path, redis_url=f"redis://127.0.0.1:{port}/0")
    async with open_edge(settings) as edge:
        for query in ("{ __typename }", "{ catalog { maxQuantity } }"):
            response = await edge.gql(query)
            assert response.status_code == 503, response.text
            body = response.json()
            assert body["data"] is None
            [error] = body["errors"]
            assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE"}
            assert str(port) not in response.text
            assert "Error 111" not in response.text
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
