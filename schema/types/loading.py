"""Loading nodes by ID: each row is kept only if the viewer may see it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from schema.context import Info
from schema.ids import primary_keys


async def _load_visible(
    info: Info, loader: Any, node_ids: Iterable[str], visible: Any
) -> list[Any]:
    ids = primary_keys(node_ids)
    rows = await loader.load_many([i for i in ids if i is not None])
    by_id = {row.id: row for row in rows if row is not None}
    result = []
    for i in ids:
        row = by_id.get(i) if i is not None else None
        result.append(await visible(info, row) if row is not None else None)
    return result
