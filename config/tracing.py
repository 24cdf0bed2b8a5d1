"""Traces with OpenTelemetry, on only when the standard ``OTEL_*`` variables say so.

On when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``) or an OTLP
endpoint is set (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``),
and ``OTEL_SDK_DISABLED`` is not ``true``. Everything else is the SDK's own reading of the
standard variables: ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, the OTLP
endpoint, headers and protocol (HTTP/protobuf here), ``OTEL_TRACES_SAMPLER``.

What is traced: each HTTP request (Starlette), each GraphQL operation and resolver
(Strawberry's extension), each SQL statement (SQLAlchemy, on SQLite and PostgreSQL), each
Redis command (the broker, throttling), and each job: a job's span continues the trace of
the request that enqueued it (the ``traceparent`` kept in the outbox row's context, see
:func:`inject` and :func:`job_span`).

:func:`setup_tracing` is called once per process before its engines are made (the ASGI
app factory, each worker process); without the variables it does nothing, and nothing of
the SDK is imported.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)

_provider: TracerProvider | None = None


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Do the standard variables ask for traces?"""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def enabled() -> bool:
    return _provider is not None


def _exporters(environ: Mapping[str, str]) -> list[SpanExporter]:
    names = [n.strip().lower() for n in environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")]
    found: list[SpanExporter] = []
    for name in names:
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            found.append(OTLPSpanExporter())
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            found.append(ConsoleSpanExporter())
        elif name and name != "none":
            log.warning("OTEL_TRACES_EXPORTER=%s is not supported here (otlp, console)", name)
    return found


def setup_tracing(
    service_name: str,
    *,
    exporter: SpanExporter | None = None,
    environ: Mapping[str, str] = os.environ,
) -> bool:
    """Install the tracer provider and the instrumentations; True if tracing is on.

    ``exporter`` (tests: an in-memory one) is used instead of the environment's, and
    turns tracing on by itself. Idempotent.
    """
    global _provider
    if _provider is not None:
        return True
    if exporter is None and not wanted(environ):
        return False
    from opentelemetry import trace
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.environment_variables import OTEL_SERVICE_NAME
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current  # one global provider per process: a test's, or an earlier one
    else:
        attributes = {} if environ.get(OTEL_SERVICE_NAME) else {"service.name": service_name}
        provider = TracerProvider(resource=Resource.create(attributes))
        trace.set_tracer_provider(provider)
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        for each in _exporters(environ):
            provider.add_span_processor(BatchSpanProcessor(each))
    # SQLAlchemy 2.1 works with it; its package metadata says < 2.1.
    SQLAlchemyInstrumentor().instrument(tracer_provider=provider, skip_dep_check=True)
    RedisInstrumentor().instrument(tracer_provider=provider)
    _provider = provider
    log.info("tracing on (service %s)", provider.resource.attributes.get("service.name"))
    return True


def shutdown_tracing() -> None:
    """Flush the spans and undo the instrumentations (process exit, tests)."""
    global _provider
    provider, _provider = _provider, None
    if provider is None:
        return
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    SQLAlchemyInstrumentor().uninstrument()
    RedisInstrumentor().uninstrument()
    provider.force_flush()


def instrument_app(app: Any) -> None:
    """Trace the app's HTTP requests (a server span each), if tracing is on."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.starlette import StarletteInstrumentor

    StarletteInstrumentor.instrument_app(app, tracer_provider=_provider)


def graphql_extension() -> Any | None:
    """Strawberry's OpenTelemetry extension (a span per operation and resolver), or None."""
    if _provider is None:
        return None
    from strawberry.extensions.tracing import OpenTelemetryExtension

    return OpenTelemetryExtension


def inject(carrier: dict[str, str]) -> None:
    """Write the current span's ``traceparent`` (W3C) into ``carrier``, if tracing is on."""
    if _provider is None:
        return
    from opentelemetry.propagate import inject as propagate

    propagate(carrier)


@contextlib.contextmanager
def job_span(actor: str, context: Mapping[str, Any] | None, **attributes: Any) -> Iterator[None]:
    """A consumer span for one job, child of the request that enqueued it (if known)."""
    if _provider is None:
        yield
        return
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind

    parent = extract({k: str(v) for k, v in (context or {}).items()})
    tracer = _provider.get_tracer("partnergraph.jobs")
    with tracer.start_as_current_span(
        f"job {actor}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    ):
        yield
