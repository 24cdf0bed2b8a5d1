"""Who reads the audit trail, and which amounts in it (SPEC "The audit trail"). Pure.

The legal representatives and administrators of an organization read the events that
concern it; both sides of a grant read that grant's events. An event that carries an
amount shows it only to who may read that amount through the graph: an amount tied to a
payer (`payer_organization_id` in its state) only to that payer's billing members.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.access import Viewer, can_read_invoice
from domain.enums import Role
from domain.people import MEMBER_READERS

#: Keys whose values are amounts of money (as strings or minor units).
AMOUNT_SUFFIXES = ("amount", "amount_minor", "total", "price", "balance")
PAYER_KEY = "payer_organization_id"


def may_read_trail(role: Role | None) -> bool:
    return role in MEMBER_READERS


def may_read_grant_trail(
    viewer: Viewer, partner_organization_id: int, client_organization_id: int | None
) -> bool:
    return may_read_trail(viewer.role_in(partner_organization_id)) or (
        client_organization_id is not None
        and may_read_trail(viewer.role_in(client_organization_id))
    )


def is_amount_key(key: str) -> bool:
    return key.endswith(AMOUNT_SUFFIXES)


def payer_of(*states: Mapping[str, Any] | None) -> int | None:
    for state in states:
        if state and isinstance(state.get(PAYER_KEY), int):
            return int(state[PAYER_KEY])
    return None


def amounts_readable(viewer: Viewer, payer_organization_id: int | None) -> bool:
    """Amounts not tied to a payer follow the event; a payer's only to its billing members."""
    return payer_organization_id is None or can_read_invoice(viewer, payer_organization_id)


def redact_amounts(state: Any) -> Any:
    """The state with every amount replaced by None (nested objects and lists too)."""
    if isinstance(state, dict):
        return {
            key: None if is_amount_key(str(key)) else redact_amounts(value)
            for key, value in state.items()
        }
    if isinstance(state, list):
        return [redact_amounts(item) for item in state]
    return state


def visible_states(
    viewer: Viewer, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The before and after a viewer may read of an event it may read."""
    if amounts_readable(viewer, payer_of(before, after)):
        return before, after
    return redact_amounts(before), redact_amounts(after)
