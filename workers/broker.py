"""The Dramatiq broker, and the registry of actors declared on it.

Dramatiq binds an actor to a broker when the actor is declared, so the broker must be set
before any actor exists. To make import order irrelevant, actors here are *registered*
(:func:`register_actor`, used by ``workers.outbox.outbox_actor``) and declared on whatever
broker is installed: at once if one is, otherwise by :func:`install_broker`. Installing a
new broker (tests) re-declares every registered actor on it.

- :func:`setup_broker` (idempotent): the broker for these settings (``RedisBroker`` with
  ``PARTNERGRAPH_REDIS_URL``, else a ``StubBroker`` for the in-process worker), set as
  Dramatiq's global broker, with every actor module of :data:`ACTOR_MODULES` imported.
- :func:`build_broker` + :func:`install_broker`: tests install their own ``StubBroker``
  (``build_broker(settings, stub=True, max_retries=0)``); :func:`reset_broker` forgets it.
- ``dramatiq workers.actors`` (the worker command) imports ``workers.actors``, which calls
  :func:`setup_broker` from the environment.

Adding an actor: write it in a module with ``@outbox_actor("name")`` (``workers.outbox``)
and add the module to :data:`ACTOR_MODULES`.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    AsyncIO,
    Callbacks,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from config.settings import Settings, get_settings
from workers import runtime

logger = logging.getLogger(__name__)

#: Modules whose import registers actors. ``setup_broker``/``install_broker`` import them.
ACTOR_MODULES: tuple[str, ...] = (
    "workers.email",
    "workers.cashback",
    "workers.bids",
    "workers.grants",
    "workers.program",
    "workers.webhooks",
    "workers.idempotency",
)

#: Retry back-off of failed messages: 1 s, 2 s, 4 s, ... capped at 5 minutes (plus jitter).
MIN_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 5 * 60_000
MAX_RETRIES = 10
#: An actor running longer than this is interrupted (its transaction rolls back) and retried.
TIME_LIMIT_MS = 5 * 60_000
#: Messages older than this are dropped by Dramatiq; the outbox sweeper re-sends the row.
AGE_LIMIT_MS = 24 * 3_600_000

REDIS_CONNECT_TIMEOUT_S = 5.0

DEFAULT_QUEUE = "default"


@dataclass(frozen=True)
class ActorSpec:
    actor_name: str
    fn: Callable[..., Any]
    queue_name: str = DEFAULT_QUEUE
    options: dict[str, Any] = field(default_factory=dict)


_registry: dict[str, ActorSpec] = {}
_broker: dramatiq.Broker | None = None
_lock = threading.RLock()


def build_middleware(*, max_retries: int = MAX_RETRIES) -> list[Middleware]:
    """Dramatiq's defaults with our retry/time limits, plus AsyncIO (actors are async)."""
    return [
        AgeLimit(max_age=AGE_LIMIT_MS),
        TimeLimit(time_limit=TIME_LIMIT_MS),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(max_retries=max_retries, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS),
        AsyncIO(),
        # After AsyncIO: its shutdown hook must run while the event loop is still alive.
        runtime.WorkerDatabase(),
    ]


def build_broker(
    settings: Settings, *, stub: bool | None = None, max_retries: int = MAX_RETRIES
) -> dramatiq.Broker:
    """A new broker: Redis when ``settings.redis_url`` is set (unless ``stub=True``)."""
    middleware = build_middleware(max_retries=max_retries)
    use_stub = settings.redis_url is None if stub is None else stub
    if use_stub:
        return StubBroker(middleware=middleware)
    if settings.redis_url is None:
        raise ValueError("a Redis broker needs PARTNERGRAPH_REDIS_URL")
    if settings.outbox_sweep_in_workers:
        from workers.sweeping import OutboxSweeping

        middleware.append(OutboxSweeping(settings))
    if settings.heartbeat_file is not None:
        from workers.heartbeat import Heartbeat

        middleware.append(Heartbeat(settings.heartbeat_file))
    if settings.metrics_enabled and os.environ.get("dramatiq_prom_db"):  # noqa: SIM112
        # `partnergraph worker` set the samples folder up (config.metrics): Dramatiq's
        # middleware counts messages and serves every process's samples, ours included.
        from dramatiq.middleware.prometheus import Prometheus

        middleware.append(Prometheus())
    # Fail fast when Redis is unreachable: the relay then leaves rows for the next sweep.
    pool = redis.ConnectionPool.from_url(
        settings.redis_url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S, health_check_interval=30
    )
    return RedisBroker(  # type: ignore[no-untyped-call]
        connection_pool=pool, middleware=middleware, namespace=settings.redis_namespace
    )


def _declare(broker: dramatiq.Broker, spec: ActorSpec) -> None:
    if spec.actor_name in broker.actors:
        return
    declare = dramatiq.actor(
        broker=broker, actor_name=spec.actor_name, queue_name=spec.queue_name, **spec.options
    )
    declare(spec.fn)


def register_actor(
    actor_name: str,
    fn: Callable[..., Any],
    *,
    queue_name: str = DEFAULT_QUEUE,
    **options: Any,
) -> None:
    """Register an actor function; it is declared on the installed broker (now or later).

    ``options`` are Dramatiq actor options (``time_limit``, ``throws``, ...). Do not set
    ``max_retries`` here: tests lower it on the broker's Retries middleware.
    """
    spec = ActorSpec(actor_name, fn, queue_name, dict(options))
    with _lock:
        existing = _registry.get(actor_name)
        if existing is not None and existing.fn is not fn:
            raise ValueError(f"actor {actor_name!r} is already registered")
        _registry[actor_name] = spec
        if _broker is not None:
            _declare(_broker, spec)


def registered_actor_names() -> list[str]:
    return sorted(_registry)


def import_actor_modules() -> None:
    for module in ACTOR_MODULES:
        importlib.import_module(module)


def install_broker(broker: dramatiq.Broker, settings: Settings | None = None) -> dramatiq.Broker:
    """Make ``broker`` the broker of this process and declare every actor on it.

    ``settings`` (if given) are also what worker code reads (``runtime.configure``).
    """
    global _broker
    with _lock:
        if settings is not None:
            runtime.configure(settings)
        _broker = broker
        dramatiq.set_broker(broker)
        import_actor_modules()
        for spec in _registry.values():
            _declare(broker, spec)
    return broker


def setup_broker(settings: Settings | None = None) -> dramatiq.Broker:
    """The process's broker, built from settings on the first call (later calls return it)."""
    with _lock:
        if _broker is not None:
            return _broker
        settings = settings or get_settings()
        broker = build_broker(settings)
        logger.info(
            "dramatiq broker: %s", "redis" if isinstance(broker, RedisBroker) else "in-process"
        )
        return install_broker(broker, settings)


def get_installed_broker() -> dramatiq.Broker:
    """The broker installed by ``setup_broker``/``install_broker`` (error if none)."""
    if _broker is None:
        raise RuntimeError("no broker: call workers.broker.setup_broker() first")
    return _broker


def reset_broker() -> None:
    """Forget the installed broker and the worker settings (tests)."""
    global _broker
    with _lock:
        if _broker is not None:
            _broker.close()
        _broker = None
        runtime.configure(None)


def is_inprocess(broker: dramatiq.Broker) -> bool:
    """True for the StubBroker: the API process must then run the worker itself."""
    return isinstance(broker, StubBroker)
