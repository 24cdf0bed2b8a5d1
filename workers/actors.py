"""The worker entry point: ``dramatiq workers.actors --processes 1 --threads 4``.

Importing this module sets the broker up from the environment (``PARTNERGRAPH_*``:
``REDIS_URL``, ``DATABASE_URL``, email settings) and then declares every actor of
``workers.broker.ACTOR_MODULES``; the Dramatiq CLI then uses the global broker. With Redis,
the integration events actors record are published to the API processes' live
subscribers (``resolvers.subscriptions.bus``).
"""

from __future__ import annotations

import gc

from config import tracing
from config.logs import configure_logging
from config.settings import get_settings
from resolvers.subscriptions.bus import RedisBus, install_bus
from workers.broker import setup_broker
from workers.runtime import current_settings

configure_logging(get_settings())  # the worker command runs Dramatiq with --skip-logging
tracing.setup_tracing("partnergraph-worker")  # only if OTEL_* say so
broker = setup_broker()  # also imports every module of workers.broker.ACTOR_MODULES

_settings = current_settings()
if _settings.redis_url:
    install_bus(RedisBus(_settings.redis_url, _settings.redis_namespace, listen=False))

# Everything loaded so far (modules, SQLAlchemy's mappers, the settings) lives as long as
# the process: out of the collector's sight, a full collection no longer walks those
# ~200k objects (it paused the event loop, and every job with it, for 0.1 s and more).
gc.freeze()

__all__ = ["broker"]
