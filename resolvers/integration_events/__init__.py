"""Events for integrations: recorded in the change's own transaction, one row per
organization that may receive it (``domain.integration_events.audience``), each with the
object as the graph shows that organization; webhook deliveries are queued with them."""

from resolvers.integration_events.recording import (
    record_event,
    record_events,
    record_events_about,
)

__all__ = ["record_event", "record_events", "record_events_about"]
