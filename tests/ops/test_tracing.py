"""Traces: off unless the OTEL_* variables say so; when on, one trace runs from the HTTP
request of a mutation through its SQL to the job it enqueued (captured in memory)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select

from app.asgi import create_app
from config import tracing
from config.settings import Settings
from db.models import OutboxMessage
from resolvers.demo import PARTNER
from resolvers.events import SEND_EMAIL
from tests.api.spine_support import session_token
from tests.conftest import gid
from workers.email import send_email_handler
from workers.outbox import process_once


def test_tracing_follows_the_standard_variables() -> None:
    assert not tracing.wanted({})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "console"})
    assert not tracing.wanted({"OTEL_TRACES_EXPORTER": "none"})
    assert not tracing.wanted(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}
    )
    assert not tracing.setup_tracing("partnergraph-test", environ={})
    assert not tracing.enabled()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.setup_tracing("partnergraph-test", exporter=exporter)
    yield exporter
    tracing.shutdown_tracing()
    exporter.clear()


@pytest.fixture
async def traced_client(
    spans: InMemorySpanExporter, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, start_workers=False)  # traced: made after setup_tracing
    await app.state.runtime.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    await app.state.runtime.stop()


def by_trace(found: tuple[ReadableSpan, ...], trace_id: int) -> list[ReadableSpan]:
    return [s for s in found if s.context is not None and s.context.trace_id == trace_id]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_one_trace_from_a_mutation_through_its_job(
    spans: InMemorySpanExporter, traced_client: httpx.AsyncClient, world: Any, sessionmaker: Any
) -> None:
    token = await session_token(sessionmaker, "rep@partner.example")
    spans.clear()
    response = await traced_client.post(
        "/graphql",
        json={
            "query": "mutation Invite($i: InviteInput!) { invite(input: $i) { "
            "grant { id } userErrors { code } } }",
            "variables": {
                "i": {
                    "organizationId": gid("Organization", world.organizations[PARTNER]),
                    "clientEmail": "owner@traced.example",
                    "access": {"level": "LIMITED", "productFamilies": ["WEB_HOSTING"]},
                }
            },
        },
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.json()["data"]["invite"]["userErrors"] == []
    request_spans = spans.get_finished_spans()
    (server,) = [s for s in request_spans if s.parent is None]
    assert server.name == "POST /graphql"
    assert server.kind.name == "SERVER"
    trace_id = server.context.trace_id
    in_request = by_trace(request_spans, trace_id)
    names = [s.name for s in in_request]
    (operation,) = [s for s in in_request if s.name.startswith("GraphQL Query")]  # Strawberry
    assert operation.name.endswith(": Invite")
    assert "GraphQL Resolving: invite" in names
    assert operation.parent is not None
    assert operation.parent.span_id == server.context.span_id
    inserts = [
        s
        for s in in_request
        if str(s.attributes.get("db.statement", "")).startswith("INSERT INTO outbox_messages")
    ]
    assert inserts, names  # the SQL, inside the request's trace

    async with sessionmaker() as session:
        email = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.actor_name == SEND_EMAIL)
        )
    assert email is not None
    assert email.context["traceparent"].split("-")[1] == f"{trace_id:032x}"

    spans.clear()
    assert await process_once(email.id, send_email_handler, sessionmaker=sessionmaker)
    job_spans = spans.get_finished_spans()
    (job,) = [s for s in job_spans if s.name == f"job {SEND_EMAIL}"]
    assert job.kind.name == "CONSUMER"
    assert job.context.trace_id == trace_id  # the request's trace goes on in the job
    assert job.parent is not None
    assert job.parent.span_id in {s.context.span_id for s in in_request}
    assert job.attributes["outbox_id"] == email.id
    job_sql = [
        s
        for s in by_trace(job_spans, trace_id)
        if s.parent and (s.parent.span_id == job.context.span_id)
    ]
    assert job_sql, [s.name for s in job_spans]  # the job's own statements, under it
