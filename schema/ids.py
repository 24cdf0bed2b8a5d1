"""Relay global IDs: the one place that turns an ID a caller sent into a primary key.

A primary key is a decimal number of ASCII digits within 1 .. 2^63 - 1 (the range of the
database's BIGINT). Anything else (not base64, no `Type:` prefix, letters, Unicode digits,
a number above 2^63) is no key at all: `node(id:)` and the exports answer it as missing,
inputs answer `INVALID_ID`. No such value ever reaches SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from strawberry import relay

from resolvers.errors import INVALID_ID, UseCaseError

MAX_PK = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


def primary_key(raw: object) -> int | None:
    """The primary key `raw` names, or None when it names none."""
    text = raw if isinstance(raw, str) else str(raw) if isinstance(raw, int) else ""
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_PK else None


def primary_keys(node_ids: Iterable[str]) -> list[int | None]:
    return [primary_key(raw) for raw in node_ids]


def parse_global_id(value: relay.GlobalID | str) -> tuple[str, int] | None:
    """(type name, primary key) of a global ID, or None when it is not a valid one."""
    try:
        gid = value if isinstance(value, relay.GlobalID) else relay.GlobalID.from_id(value)
    except (ValueError, TypeError):
        return None
    pk = primary_key(gid.node_id)
    return None if pk is None else (gid.type_name, pk)


def decode_id(value: relay.GlobalID | str, type_name: str, field: str) -> int:
    parsed = parse_global_id(value)
    if parsed is None or parsed[0] != type_name:
        raise UseCaseError(INVALID_ID, f"Expected the ID of a {type_name}.", field)
    return parsed[1]


def encode_id(type_name: str, pk: int) -> str:
    return str(relay.GlobalID(type_name, str(pk)))
