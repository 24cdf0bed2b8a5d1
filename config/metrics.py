"""Prometheus metrics, correct with several processes (prometheus-client multiprocess mode).

Every metric of partnergraph is declared here, so each layer records what it knows with
one line (``THROTTLED.labels(kind).inc()``). With ``PARTNERGRAPH_METRICS_ENABLED`` the API
serves ``/metrics`` and each worker host an exposition port; the ``partnergraph`` command
prepares ``PROMETHEUS_MULTIPROC_DIR`` (``app.cli``) *before* this module is imported, so
every process it starts (uvicorn workers, Dramatiq processes) writes
its samples to files there and any of them answers a scrape with the sum of all
(:func:`render`). Without the variable (tests, one process) the default registry is used.

Gauges in multiprocess mode: ``livesum`` (connections in use: the sum over the processes
alive; a process marks itself dead when it stops, :func:`mark_process_dead`) and
``mostrecent`` (the outbox backlog: whichever process measured last).
"""

from __future__ import annotations

import os
import re
import threading

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_DURATION = Histogram(
    "partnergraph_graphql_request_duration_seconds",
    "GraphQL requests by operation: duration from the first byte in to the last out.",
    ["operation", "operation_type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_REQUESTS = Counter(
    "partnergraph_http_requests_total", "HTTP requests by route and status.", ["route", "status"]
)
ERRORS = Counter(
    "partnergraph_errors_total",
    "Errors answered, by code (GraphQL errors and userErrors).",
    ["code"],
)
THROTTLED = Counter(
    "partnergraph_throttled_total", "Attempts refused for throttling, by limit kind.", ["kind"]
)
DB_POOL_IN_USE = Gauge(
    "partnergraph_db_pool_connections_in_use",
    "Pooled database connections checked out, by pool.",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "partnergraph_db_pool_size",
    "Pooled database connections allowed (pool size plus overflow), by pool.",
    ["pool"],
    multiprocess_mode="livesum",
)
OUTBOX_BACKLOG = Gauge(
    "partnergraph_outbox_backlog",
    "Outbox messages not processed yet, by state (pending, failing, dead).",
    ["state"],
    multiprocess_mode="mostrecent",
)
OUTBOX_OLDEST_AGE = Gauge(
    "partnergraph_outbox_oldest_age_seconds",
    "Age of the oldest outbox message not processed yet (0 when none).",
    multiprocess_mode="mostrecent",
)
JOBS = Counter(
    "partnergraph_jobs_total", "Outbox jobs run, by actor and outcome.", ["actor", "outcome"]
)
JOB_DURATION = Histogram(
    "partnergraph_job_duration_seconds",
    "Outbox job duration, by actor.",
    ["actor"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120),
)
EMAILS = Counter("partnergraph_emails_total", "Emails handed to the backend.", ["outcome"])
EMAIL_FAILURES = Counter(
    "partnergraph_email_failures_total", "Emails that failed to send, by reason.", ["reason"]
)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
#: Operation names come from clients: at most this many distinct ones per process, then
#: "other", so a client cannot blow up the metric's cardinality.
MAX_OPERATION_NAMES = 200
_operations: set[str] = set()
_operations_lock = threading.Lock()


def operation_label(name: str | None) -> str:
    if not name:
        return "anonymous"
    if not _NAME.match(name):
        return "other"
    with _operations_lock:
        if name in _operations:
            return name
        if len(_operations) >= MAX_OPERATION_NAMES:
            return "other"
        _operations.add(name)
    return name


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower())


def render() -> tuple[bytes, str]:
    """The exposition text of every process (multiprocess mode) or of this one."""
    directory = multiprocess_dir()
    if directory:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int | None = None) -> None:
    """A stopping process drops out of the ``live*`` gauges (multiprocess mode only)."""
    directory = multiprocess_dir()
    if directory:
        multiprocess.mark_process_dead(  # type: ignore[no-untyped-call]
            pid if pid is not None else os.getpid(), directory
        )
