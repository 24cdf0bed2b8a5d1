"""The garbage collector for a server process: start-up objects frozen, young generation larger.

A GraphQL answer allocates tens of thousands of short-lived objects (one per field value,
per node, per edge); with CPython's default threshold (700 allocations) the young
generation is collected dozens of times per request, each time walking every object the
process keeps: the schema, the models, the imported modules. `gc.freeze()` after start-up
moves those into a permanent generation that collections skip, and a larger young
generation lets most of a request's garbage die before anyone looks at it. Reference
counting still frees almost everything at once; cycles are still collected.
"""

from __future__ import annotations

import gc

#: Allocations between young collections (CPython's default is 700).
YOUNG_THRESHOLD = 20_000


def tune_after_start_up() -> None:
    """Call once the app has started (schema built, modules imported, pools made)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
