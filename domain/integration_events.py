"""Events for integrations (SPEC "Events for integrations"): which kinds exist and which
organizations may receive each one. Pure.

An event reaches an organization only if its members could read its content through the
graph at that moment: grant events to both sides, an order to the client, to the payer
and to a partner whose grant shows it the product, an invoice only to the payer, a
cashback credit only to the partner, a bid only to a partner it was delivered to, an
offer to the partner that made it, a membership change to that organization.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from domain.access import BILLING_ROLES, GrantFacts, MembershipFacts, Viewer, can_see_product
from domain.enums import Role


class EventKind(enum.StrEnum):
    GRANT_INVITED = "GRANT_INVITED"
    GRANT_ACCEPTED = "GRANT_ACCEPTED"
    GRANT_REFUSED = "GRANT_REFUSED"
    GRANT_CANCELLED = "GRANT_CANCELLED"
    GRANT_ACCESS_CHANGED = "GRANT_ACCESS_CHANGED"
    GRANT_PAYMENT_METHODS_CHANGED = "GRANT_PAYMENT_METHODS_CHANGED"
    GRANT_STOPPED = "GRANT_STOPPED"
    GRANT_EXPIRING = "GRANT_EXPIRING"
    GRANT_EXPIRED = "GRANT_EXPIRED"
    ORDER_PLACED = "ORDER_PLACED"
    INVOICE_ISSUED = "INVOICE_ISSUED"
    CASHBACK_CREDITED = "CASHBACK_CREDITED"
    BID_RECEIVED = "BID_RECEIVED"
    OFFER_MADE = "OFFER_MADE"
    OFFER_AWARDED = "OFFER_AWARDED"
    MEMBER_JOINED = "MEMBER_JOINED"
    MEMBER_REMOVED = "MEMBER_REMOVED"

    @property
    def wire_name(self) -> str:
        """The Standard Webhooks `type`: ``grant.invited``, ``payment_methods_changed``..."""
        family, _, rest = self.value.partition("_")
        return f"{family.lower()}.{rest.lower()}"


GRANT_KINDS = frozenset(k for k in EventKind if k.value.startswith("GRANT_"))
PARTNER_ONLY_KINDS = frozenset(
    {
        EventKind.CASHBACK_CREDITED,
        EventKind.BID_RECEIVED,
        EventKind.OFFER_MADE,
        EventKind.OFFER_AWARDED,
    }
)
MEMBER_KINDS = frozenset({EventKind.MEMBER_JOINED, EventKind.MEMBER_REMOVED})


@dataclass(frozen=True)
class EventFacts:
    """What decides an event's audience; each kind reads the facts it needs.

    - grant kinds: ``partner_organization_id`` and ``client_organization_id`` (None while a
      partner's invitation waits for someone without an organization);
    - ``ORDER_PLACED``: the client, the payer, the product and the client's active grants;
    - ``INVOICE_ISSUED``: the payer;
    - cashback, bid and offer kinds: the partner's organization;
    - member kinds: ``organization_id``.
    """

    partner_organization_id: int | None = None
    client_organization_id: int | None = None
    payer_organization_id: int | None = None
    organization_id: int | None = None
    product_id: int | None = None
    grants: Sequence[GrantFacts] = field(default_factory=tuple)


def organization_viewer(organization_id: int) -> Viewer:
    """The organization as a viewer: what its legal representatives read through the graph
    (webhooks are registered, and their payloads read, for the whole organization)."""
    return Viewer(
        user_id=None,
        memberships={organization_id: MembershipFacts(organization_id, Role.LEGAL_REPRESENTATIVE)},
    )


def audience(kind: EventKind, facts: EventFacts) -> frozenset[int]:
    """The organizations that may receive an event of ``kind``."""
    found: set[int | None]
    if kind in GRANT_KINDS:
        found = {facts.partner_organization_id, facts.client_organization_id}
    elif kind is EventKind.ORDER_PLACED:
        found = {facts.client_organization_id, facts.payer_organization_id}
        partners = {g.partner_organization_id for g in facts.grants}
        client = facts.client_organization_id
        if client is not None:
            found |= {
                org
                for org in partners
                if can_see_product(organization_viewer(org), client, facts.product_id, facts.grants)
            }
    elif kind is EventKind.INVOICE_ISSUED:
        found = {facts.payer_organization_id}
    elif kind in PARTNER_ONLY_KINDS:
        found = {facts.partner_organization_id}
    elif kind in MEMBER_KINDS:
        found = {facts.organization_id}
    else:  # pragma: no cover - every kind is decided above
        raise AssertionError(kind)
    return frozenset(org for org in found if org is not None)


def subscriber_may_receive(kind: EventKind, role: Role | None, *, sees_grant: bool) -> bool:
    """A live subscriber, member of the receiving organization with ``role``, gets the
    event if it reads everything the organization reads (legal representatives and
    administrators), or, for a grant event, if it sees that grant now (``sees_grant``:
    a collaborator acting for the client)."""
    if role is None:
        return False
    if role in BILLING_ROLES:
        return True
    return kind in GRANT_KINDS and sees_grant
