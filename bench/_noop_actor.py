"""A Dramatiq actor that does nothing: the broker's and the worker's own ceiling.

`bench/cashback_throughput.py` starts `dramatiq workers.actors _noop_actor` (with
`bench/` on the path) and sends it messages shaped like the outbox's (one integer id),
through the same Redis broker and the same middleware as the cashback actor (async, like
every outbox actor), so the two rates compare the actor's own work and nothing else.
"""

from __future__ import annotations

import dramatiq

NOOP = "bench_noop"


@dramatiq.actor(actor_name=NOOP, queue_name=NOOP, max_retries=0)
async def noop(outbox_id: int) -> None:
    return None
