"""Relay global IDs in inputs: a malformed ID or one of another type is an input error."""

from __future__ import annotations

from strawberry import relay

from resolvers.errors import INVALID_ID, UseCaseError


def decode_id(value: relay.GlobalID | str, type_name: str, field: str) -> int:
    try:
        gid = value if isinstance(value, relay.GlobalID) else relay.GlobalID.from_id(value)
        if gid.type_name != type_name:
            raise ValueError(type_name)
        return int(gid.node_id)
    except (ValueError, TypeError) as exc:
        raise UseCaseError(INVALID_ID, f"Expected the ID of a {type_name}.", field) from exc


def encode_id(type_name: str, pk: int) -> str:
    return str(relay.GlobalID(type_name, str(pk)))
