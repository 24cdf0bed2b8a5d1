"""/metrics: request latency by operation, errors by code, the outbox backlog, the pool;
one answer for all the processes of a server (prometheus-client multiprocess mode)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from app.asgi import create_app
from config.settings import Settings
from db.models import OutboxMessage
from resolvers.demo import PARTNER
from tests.conftest import (
    TEST_SECRET,
    RedisSpace,
    create_pg_database,
    drop_pg_database,
    gid,
)
from tests.processes import Children


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
async def metrics_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"metrics_enabled": True}), start_workers=False)
    runtime = app.state.runtime
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    await runtime.stop()


async def test_metrics_after_a_few_requests(
    metrics_client: httpx.AsyncClient, world: Any, sessionmaker: Any, database_url: str
) -> None:
    client = metrics_client
    before = samples((await client.get("/metrics")).text)
    login = await client.post(
        "/graphql",
        json={
            "query": "mutation SignIn($i: LoginInput!) { login(input: $i) { token } }",
            "variables": {"i": {"email": "rep@partner.example", "password": "partnergraph-demo"}},
        },
    )
    token = login.json()["data"]["login"]["token"]
    auth = {"authorization": f"Bearer {token}"}
    dashboard = """query Dashboard { viewer { memberships { organization { partner {
      clients(first: 10) { edges { node { name invoices(first: 5) { edges { node { number }
      } } } } } } } } } }"""
    for _ in range(3):
        answer = await client.post("/graphql", json={"query": dashboard}, headers=auth)
        assert "FORBIDDEN" in str(answer.json()["errors"])
    invite = await client.post(
        "/graphql",
        json={
            "query": "mutation Invite($i: InviteInput!) { invite(input: $i) { "
            "userErrors { code } } }",
            "variables": {
                "i": {
                    "organizationId": gid("Organization", world.organizations[PARTNER]),
                    "clientEmail": "owner@metrics.example",
                    "access": {"level": "LIMITED", "productFamilies": ["WEB_HOSTING"]},
                }
            },
        },
        headers=auth,
    )
    assert invite.json()["data"]["invite"]["userErrors"] == [], invite.text

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = samples(response.text)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    histogram = "partnergraph_graphql_request_duration_seconds"
    assert delta(f"{histogram}_count", operation="Dashboard", operation_type="query") == 3
    assert delta(f"{histogram}_count", operation="SignIn", operation_type="mutation") == 1
    assert delta(f"{histogram}_sum", operation="Dashboard", operation_type="query") > 0
    assert delta("partnergraph_errors_total", code="FORBIDDEN") >= 3
    assert delta("partnergraph_http_requests_total", route="/graphql", status="200") == 5

    async with sessionmaker() as session:
        pending = await session.scalar(
            select(func.count()).where(OutboxMessage.processed_at.is_(None))
        )
    assert pending
    assert pending > 0
    assert value(after, "partnergraph_outbox_backlog", state="pending") == pending
    assert value(after, "partnergraph_outbox_oldest_age_seconds") >= 0
    assert ("partnergraph_outbox_oldest_age_seconds", ()) in after
    if database_url.startswith("postgresql"):
        assert value(after, "partnergraph_db_pool_size", pool="api") > 0
        assert ("partnergraph_db_pool_connections_in_use", (("pool", "api"),)) in after


async def test_metrics_are_off_unless_enabled(api: Any) -> None:
    response = await api.client.get("/metrics")  # the console's catch-all may answer it
    assert "version=0.0.4" not in response.headers.get("content-type", "")
    assert "partnergraph_" not in response.text


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
def test_one_answer_for_every_process_of_the_server(
    children: Children, redis_space: RedisSpace, tmp_path: Path
) -> None:
    url = create_pg_database()
    try:
        samples_dir = tmp_path / "prom"
        env = {
            **redis_space.env(),
            "PARTNERGRAPH_DATABASE_URL": url,
            "PARTNERGRAPH_SECRET_KEY": TEST_SECRET,
            "PARTNERGRAPH_METRICS_ENABLED": "true",
            "PROMETHEUS_MULTIPROC_DIR": str(samples_dir),
        }
        server, base = children.serve(env, "--workers", "2", "--migrate", name="api")
        query = {"query": "query Probe { __typename }"}
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(12):
                assert client.post("/graphql", json=query).status_code == 200
            # Whichever process answers the scrape, it counts every process's requests.
            for _ in range(4):
                found = samples(client.get("/metrics").text)
                count = value(
                    found,
                    "partnergraph_graphql_request_duration_seconds_count",
                    operation="Probe",
                    operation_type="query",
                )
                assert count == 12, server.log()
        pids = {p.stem.rsplit("_", 1)[-1] for p in samples_dir.glob("*.db")}
        assert len(pids) >= 2, pids  # two API processes wrote samples
    finally:
        children.end_all()
        drop_pg_database(url)
