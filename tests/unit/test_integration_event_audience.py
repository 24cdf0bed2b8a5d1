"""Which organizations receive each integration event kind: a table of kind x organization.

Every organization the table names receives the event; every other one of the world never
does, for every kind (SPEC "Events for integrations")."""

from __future__ import annotations

import pytest

from domain.access import GrantFacts
from domain.enums import AccessLevel, GrantStatus, PaymentMethods
from domain.integration_events import EventFacts, EventKind, audience

PARTNER, OTHER_PARTNER, CLIENT, OTHER_CLIENT, OUTSIDER = 1, 2, 3, 4, 5
WORLD = (PARTNER, OTHER_PARTNER, CLIENT, OTHER_CLIENT, OUTSIDER)
PRODUCT, OTHER_PRODUCT = 10, 11


def grant(
    partner: int,
    level: AccessLevel,
    products: frozenset[int] = frozenset(),
    *,
    status: GrantStatus = GrantStatus.ACTIVE,
) -> GrantFacts:
    return GrantFacts(
        partner_organization_id=partner,
        client_organization_id=CLIENT,
        status=status,
        level=level,
        payment_methods=PaymentMethods.CLIENT if level is AccessLevel.FULL else None,
        product_ids=products,
    )


BOTH_SIDES = EventFacts(partner_organization_id=PARTNER, client_organization_id=CLIENT)
UNBOUND = EventFacts(partner_organization_id=PARTNER, client_organization_id=None)

# (kind, facts, the organizations that receive it)
TABLE: list[tuple[EventKind, EventFacts, set[int]]] = [
    *[
        (kind, BOTH_SIDES, {PARTNER, CLIENT})
        for kind in EventKind
        if kind.value.startswith("GRANT_")
    ],
    # A partner's invitation to an email without an organization: only the partner knows.
    (EventKind.GRANT_INVITED, UNBOUND, {PARTNER}),
    (EventKind.GRANT_CANCELLED, UNBOUND, {PARTNER}),
    (EventKind.GRANT_EXPIRED, UNBOUND, {PARTNER}),
    # An order: the client; the payer; a partner whose active grant shows it the product.
    (
        EventKind.ORDER_PLACED,
        EventFacts(
            client_organization_id=CLIENT,
            payer_organization_id=CLIENT,
            product_id=PRODUCT,
            grants=[grant(PARTNER, AccessLevel.FULL)],
        ),
        {CLIENT, PARTNER},
    ),
    (
        EventKind.ORDER_PLACED,
        EventFacts(
            client_organization_id=CLIENT,
            payer_organization_id=PARTNER,
            product_id=PRODUCT,
            grants=[grant(PARTNER, AccessLevel.FULL)],
        ),
        {CLIENT, PARTNER},
    ),
    (
        EventKind.ORDER_PLACED,
        EventFacts(
            client_organization_id=CLIENT,
            payer_organization_id=CLIENT,
            product_id=PRODUCT,
            grants=[
                grant(PARTNER, AccessLevel.LIMITED, frozenset({PRODUCT})),
                grant(OTHER_PARTNER, AccessLevel.LIMITED, frozenset({OTHER_PRODUCT})),
            ],
        ),
        {CLIENT, PARTNER},
    ),
    (
        EventKind.ORDER_PLACED,
        EventFacts(
            client_organization_id=CLIENT,
            payer_organization_id=CLIENT,
            product_id=PRODUCT,
            grants=[grant(PARTNER, AccessLevel.FULL, status=GrantStatus.STOPPED)],
        ),
        {CLIENT},
    ),
    (
        EventKind.ORDER_PLACED,
        EventFacts(client_organization_id=CLIENT, payer_organization_id=CLIENT, product_id=PRODUCT),
        {CLIENT},
    ),
    # An invoice belongs to the organization that paid it, only.
    (
        EventKind.INVOICE_ISSUED,
        EventFacts(payer_organization_id=CLIENT, client_organization_id=CLIENT),
        {CLIENT},
    ),
    (
        EventKind.INVOICE_ISSUED,
        EventFacts(
            payer_organization_id=PARTNER,
            client_organization_id=CLIENT,
            partner_organization_id=PARTNER,
        ),
        {PARTNER},
    ),
    # Cashback only to the partner; a bid only to the partner it was delivered to.
    (
        EventKind.CASHBACK_CREDITED,
        EventFacts(partner_organization_id=PARTNER, client_organization_id=CLIENT),
        {PARTNER},
    ),
    (EventKind.BID_RECEIVED, EventFacts(partner_organization_id=OTHER_PARTNER), {OTHER_PARTNER}),
    (EventKind.OFFER_MADE, EventFacts(partner_organization_id=PARTNER), {PARTNER}),
    (EventKind.OFFER_AWARDED, EventFacts(partner_organization_id=PARTNER), {PARTNER}),
    (EventKind.MEMBER_JOINED, EventFacts(organization_id=OTHER_CLIENT), {OTHER_CLIENT}),
    (EventKind.MEMBER_REMOVED, EventFacts(organization_id=CLIENT), {CLIENT}),
]


def test_the_table_covers_every_kind() -> None:
    assert {kind for kind, _, _ in TABLE} == set(EventKind)


@pytest.mark.parametrize(("kind", "facts", "receivers"), TABLE)
@pytest.mark.parametrize("organization", WORLD)
def test_kind_x_organization(
    kind: EventKind, facts: EventFacts, receivers: set[int], organization: int
) -> None:
    assert (organization in audience(kind, facts)) is (organization in receivers)


def test_wire_names_follow_standard_webhooks_types() -> None:
    assert EventKind.GRANT_PAYMENT_METHODS_CHANGED.wire_name == "grant.payment_methods_changed"
    assert EventKind.ORDER_PLACED.wire_name == "order.placed"
    assert len({k.wire_name for k in EventKind}) == len(EventKind)
