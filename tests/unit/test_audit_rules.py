"""domain.audit: who reads the trail, and which amounts in it."""

from __future__ import annotations

from domain.access import MembershipFacts, Viewer
from domain.audit import (
    may_read_grant_trail,
    may_read_trail,
    payer_of,
    redact_amounts,
    visible_states,
)
from domain.enums import Role

PAYER, OTHER = 1, 2


def viewer(**roles: Role) -> Viewer:
    memberships = {int(k[1:]): MembershipFacts(int(k[1:]), r) for k, r in roles.items()}
    return Viewer(user_id=7, memberships=memberships)


def test_only_legal_representatives_and_administrators_read_the_trail() -> None:
    assert may_read_trail(Role.LEGAL_REPRESENTATIVE)
    assert may_read_trail(Role.ADMINISTRATOR)
    assert not may_read_trail(Role.COLLABORATOR)
    assert not may_read_trail(Role.EXTERNAL)
    assert not may_read_trail(None)


def test_both_sides_of_a_grant_read_its_trail() -> None:
    assert may_read_grant_trail(viewer(o1=Role.ADMINISTRATOR), 1, 2)
    assert may_read_grant_trail(viewer(o2=Role.LEGAL_REPRESENTATIVE), 1, 2)
    assert not may_read_grant_trail(viewer(o2=Role.COLLABORATOR), 1, 2)
    assert not may_read_grant_trail(viewer(o3=Role.LEGAL_REPRESENTATIVE), 1, None)


def test_amounts_of_a_payer_show_only_to_its_billing_members() -> None:
    after = {
        "payer_organization_id": PAYER,
        "total_amount": "12.50",
        "lines": [{"amount_minor": 1250, "name": "hosting"}],
        "quantity": 3,
    }
    assert payer_of(None, after) == PAYER
    assert visible_states(viewer(o1=Role.ADMINISTRATOR), None, after) == (None, after)
    _, hidden = visible_states(viewer(o2=Role.LEGAL_REPRESENTATIVE), None, after)
    assert hidden == {
        "payer_organization_id": PAYER,
        "total_amount": None,
        "lines": [{"amount_minor": None, "name": "hosting"}],
        "quantity": 3,
    }
    # A collaborator of the payer is no billing member.
    _, hidden = visible_states(viewer(o1=Role.COLLABORATOR), None, after)
    assert hidden is not None
    assert hidden["total_amount"] is None


def test_states_without_a_payer_are_shown_as_they_are() -> None:
    state = {"role": "ADMINISTRATOR", "amount": "1.00"}
    assert visible_states(viewer(o2=Role.ADMINISTRATOR), state, None) == (state, None)
    assert redact_amounts(None) is None
