"""domain.access against SPEC "What each side sees", for every role, grant status, level
and payment methods. The expected values are tables written from SPEC, not computed by the
code under test."""

from __future__ import annotations

import itertools

import pytest

from domain.access import (
    ClientVisibility,
    GrantFacts,
    MembershipFacts,
    Viewer,
    acts_for_client,
    can_read_client_invoices,
    can_read_invoice,
    can_see_grant,
    can_see_order,
    can_see_product,
    client_visibility,
    has_billing_rights,
    may_order_for_client,
)
from domain.enums import AccessLevel, GrantStatus, PaymentMethods, Role

PARTNER_ORG = 1
CLIENT_ORG = 2
OTHER_CLIENT = 3
GRANTED, NOT_GRANTED = 21, 22

N, NAME, PRODUCTS, WHOLE = (
    ClientVisibility.NONE,
    ClientVisibility.NAME_ONLY,
    ClientVisibility.PRODUCTS,
    ClientVisibility.WHOLE,
)

# -- viewers of the partner side -----------------------------------------------------------
PARTNER_VIEWERS: dict[str, MembershipFacts | None] = {
    "rep": MembershipFacts(PARTNER_ORG, Role.LEGAL_REPRESENTATIVE),
    "admin": MembershipFacts(PARTNER_ORG, Role.ADMINISTRATOR),
    "collab": MembershipFacts(PARTNER_ORG, Role.COLLABORATOR, client_ids=frozenset({CLIENT_ORG})),
    "collab_all": MembershipFacts(PARTNER_ORG, Role.COLLABORATOR, all_clients=True),
    "collab_other": MembershipFacts(
        PARTNER_ORG, Role.COLLABORATOR, client_ids=frozenset({OTHER_CLIENT})
    ),
    "collab_none": MembershipFacts(PARTNER_ORG, Role.COLLABORATOR),
    "external": MembershipFacts(PARTNER_ORG, Role.EXTERNAL),
    # "all clients" means nothing for an external member
    "external_all": MembershipFacts(PARTNER_ORG, Role.EXTERNAL, all_clients=True),
    "stranger": None,
}

# SPEC: legal representatives and administrators act for every client; collaborators only
# for the clients their rights name; external members (and strangers) for none.
ACTS_FOR_THE_CLIENT = {
    "rep": True,
    "admin": True,
    "collab": True,
    "collab_all": True,
    "collab_other": False,
    "collab_none": False,
    "external": False,
    "external_all": False,
    "stranger": False,
}
BILLING = {"rep": True, "admin": True}  # the others: no billing rights

ACCESSES = {
    "LIMITED": (AccessLevel.LIMITED, None),
    "FULL+CLIENT": (AccessLevel.FULL, PaymentMethods.CLIENT),
    "FULL+PARTNER": (AccessLevel.FULL, PaymentMethods.PARTNER),
}

# What a member acting for the client sees, per grant status and access (SPEC's table).
SEES = {
    GrantStatus.PENDING: {"LIMITED": NAME, "FULL+CLIENT": NAME, "FULL+PARTNER": NAME},
    GrantStatus.ACTIVE: {"LIMITED": PRODUCTS, "FULL+CLIENT": WHOLE, "FULL+PARTNER": WHOLE},
    GrantStatus.REFUSED: {"LIMITED": N, "FULL+CLIENT": N, "FULL+PARTNER": N},
    GrantStatus.CANCELLED: {"LIMITED": N, "FULL+CLIENT": N, "FULL+PARTNER": N},
    GrantStatus.EXPIRED: {"LIMITED": N, "FULL+CLIENT": N, "FULL+PARTNER": N},
    GrantStatus.STOPPED: {"LIMITED": N, "FULL+CLIENT": N, "FULL+PARTNER": N},
}
# Client.invoices (invoices the partner paid for the client): FULL + PARTNER, active only.
READS_PARTNER_PAID = {(GrantStatus.ACTIVE, "FULL+PARTNER")}
# Ordering / renewing for the client: active FULL grants (LIMITED: no, decided).
MAY_ORDER = {(GrantStatus.ACTIVE, "FULL+CLIENT"), (GrantStatus.ACTIVE, "FULL+PARTNER")}


def viewer_of(name: str, *, read_only: bool = False) -> Viewer:
    membership = PARTNER_VIEWERS[name]
    memberships = {} if membership is None else {PARTNER_ORG: membership}
    return Viewer(user_id=7, memberships=memberships, read_only=read_only)


def grant(status: GrantStatus, access: str, *, client: int | None = CLIENT_ORG) -> GrantFacts:
    level, methods = ACCESSES[access]
    return GrantFacts(
        partner_organization_id=PARTNER_ORG,
        client_organization_id=client,
        status=status,
        level=level,
        payment_methods=methods,
        product_ids=frozenset({GRANTED}) if level is AccessLevel.LIMITED else frozenset(),
        grant_id=5,
    )


CASES = list(itertools.product(PARTNER_VIEWERS, GrantStatus, ACCESSES))


@pytest.mark.parametrize(("who", "status", "access"), CASES)
def test_client_visibility(who: str, status: GrantStatus, access: str) -> None:
    expected = SEES[status][access] if ACTS_FOR_THE_CLIENT[who] else N
    assert client_visibility(viewer_of(who), grant(status, access)) is expected


@pytest.mark.parametrize(("who", "status", "access"), CASES)
def test_client_invoices_only_under_full_partner_for_billing_members(
    who: str, status: GrantStatus, access: str
) -> None:
    expected = (status, access) in READS_PARTNER_PAID and BILLING.get(who, False)
    assert can_read_client_invoices(viewer_of(who), grant(status, access)) is expected


@pytest.mark.parametrize(("who", "status", "access"), CASES)
@pytest.mark.parametrize("read_only", [False, True])
def test_may_order_for_client(who: str, status: GrantStatus, access: str, read_only: bool) -> None:
    expected = (status, access) in MAY_ORDER and ACTS_FOR_THE_CLIENT[who] and not read_only
    viewer = viewer_of(who, read_only=read_only)
    assert may_order_for_client(viewer, grant(status, access)) is expected


@pytest.mark.parametrize(("who", "status", "access"), CASES)
def test_products_the_partner_side_sees(who: str, status: GrantStatus, access: str) -> None:
    viewer, facts = viewer_of(who), grant(status, access)
    sees = SEES[status][access] if ACTS_FOR_THE_CLIENT[who] else N
    granted_visible = sees in (PRODUCTS, WHOLE)
    other_visible = sees is WHOLE
    assert can_see_product(viewer, CLIENT_ORG, GRANTED, [facts]) is granted_visible
    assert can_see_product(viewer, CLIENT_ORG, NOT_GRANTED, [facts]) is other_visible
    # A grant on one client never shows the products of another.
    assert can_see_product(viewer, OTHER_CLIENT, GRANTED, [facts]) is False
    # Without any grant: nothing.
    assert can_see_product(viewer, CLIENT_ORG, GRANTED, []) is False


@pytest.mark.parametrize(("who", "status", "access"), CASES)
def test_orders_the_partner_side_sees(who: str, status: GrantStatus, access: str) -> None:
    viewer, facts = viewer_of(who), grant(status, access)
    sees = SEES[status][access] if ACTS_FOR_THE_CLIENT[who] else N
    # An order the client paid: seen through its product, like the product itself.
    assert can_see_order(viewer, CLIENT_ORG, CLIENT_ORG, GRANTED, [facts]) is (
        sees in (PRODUCTS, WHOLE)
    )
    assert can_see_order(viewer, CLIENT_ORG, CLIENT_ORG, NOT_GRANTED, [facts]) is (sees is WHOLE)
    # An order with no product yet: only a partner that sees the whole client.
    assert can_see_order(viewer, CLIENT_ORG, CLIENT_ORG, None, [facts]) is (sees is WHOLE)
    # An order the partner paid: also its billing members, whatever the grant says now.
    paid_by_partner = sees in (PRODUCTS, WHOLE) or BILLING.get(who, False)
    assert can_see_order(viewer, CLIENT_ORG, PARTNER_ORG, GRANTED, [facts]) is paid_by_partner


@pytest.mark.parametrize(("who", "status", "access"), CASES)
def test_partner_side_sees_the_grant_record(who: str, status: GrantStatus, access: str) -> None:
    # The grant (its status, for history) is seen by those who act for the client.
    assert can_see_grant(viewer_of(who), grant(status, access)) is ACTS_FOR_THE_CLIENT[who]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("status", list(GrantStatus))
def test_every_client_member_sees_its_partnerships_and_products(
    role: Role, status: GrantStatus
) -> None:
    viewer = Viewer(user_id=8, memberships={CLIENT_ORG: MembershipFacts(CLIENT_ORG, role)})
    facts = grant(status, "LIMITED")
    assert can_see_grant(viewer, facts) is True
    assert can_see_product(viewer, CLIENT_ORG, NOT_GRANTED, []) is True
    # A client member is not the partner: no client visibility, no partner-paid invoices.
    assert client_visibility(viewer, facts) is N
    assert can_read_client_invoices(viewer, grant(status, "FULL+PARTNER")) is False


# A pending invitation to an email: no client organization bound yet.
UNBOUND_PENDING = {
    "rep": NAME,
    "admin": NAME,
    "collab": N,
    "collab_all": N,
    "collab_other": N,
    "collab_none": N,
    "external": N,
    "external_all": N,
    "stranger": N,
}


@pytest.mark.parametrize("who", list(PARTNER_VIEWERS))
@pytest.mark.parametrize("access", list(ACCESSES))
def test_an_unbound_invitation(who: str, access: str) -> None:
    facts = grant(GrantStatus.PENDING, access, client=None)
    assert client_visibility(viewer_of(who), facts) is UNBOUND_PENDING[who]
    assert can_see_grant(viewer_of(who), facts) is (UNBOUND_PENDING[who] is NAME)


# -- invoices: only the billing members of the organization that paid ---------------------
# (viewer's role in the paying organization, or None when not a member) -> may read
INVOICE_READERS = {
    Role.LEGAL_REPRESENTATIVE: True,
    Role.ADMINISTRATOR: True,
    Role.COLLABORATOR: False,
    Role.EXTERNAL: False,
    None: False,
}


@pytest.mark.parametrize("role", list(INVOICE_READERS))
@pytest.mark.parametrize("payer", [PARTNER_ORG, CLIENT_ORG])
def test_invoices_are_read_by_billing_members_of_the_paying_organization(
    role: Role | None, payer: int
) -> None:
    memberships = {} if role is None else {payer: MembershipFacts(payer, role)}
    viewer = Viewer(user_id=9, memberships=memberships)
    assert can_read_invoice(viewer, payer) is INVOICE_READERS[role]
    assert has_billing_rights(viewer, payer) is INVOICE_READERS[role]
    # Billing rights in one organization never open another's invoices.
    other = CLIENT_ORG if payer == PARTNER_ORG else PARTNER_ORG
    assert can_read_invoice(viewer, other) is False


@pytest.mark.parametrize("role", list(Role))
def test_a_partner_never_reads_a_client_paid_invoice(role: Role) -> None:
    viewer = Viewer(user_id=9, memberships={PARTNER_ORG: MembershipFacts(PARTNER_ORG, role)})
    assert can_read_invoice(viewer, CLIENT_ORG) is False


def test_a_read_only_token_reads_invoices_as_an_administrator() -> None:
    token = Viewer(
        user_id=None,
        api_token_id=3,
        read_only=True,
        memberships={PARTNER_ORG: MembershipFacts(PARTNER_ORG, Role.ADMINISTRATOR)},
    )
    assert can_read_invoice(token, PARTNER_ORG) is True
    assert can_read_client_invoices(token, grant(GrantStatus.ACTIVE, "FULL+PARTNER")) is True
    assert may_order_for_client(token, grant(GrantStatus.ACTIVE, "FULL+PARTNER")) is False


# -- collaborator scoping -----------------------------------------------------------------
# membership -> (acts for CLIENT_ORG, acts for OTHER_CLIENT, acts for an unbound client)
SCOPES = {
    "rep": (True, True, False),
    "admin": (True, True, False),
    "collab": (True, False, False),
    "collab_all": (True, True, False),
    "collab_other": (False, True, False),
    "collab_none": (False, False, False),
    "external": (False, False, False),
    "external_all": (False, False, False),
    "stranger": (False, False, False),
}


@pytest.mark.parametrize("who", list(SCOPES))
def test_acts_for_client(who: str) -> None:
    membership = PARTNER_VIEWERS[who]
    expected = SCOPES[who]
    actual = (
        acts_for_client(membership, CLIENT_ORG),
        acts_for_client(membership, OTHER_CLIENT),
        acts_for_client(membership, None),
    )
    assert actual == expected


def test_visibility_is_ordered() -> None:
    assert N < NAME < PRODUCTS < WHOLE
    assert Viewer(user_id=None, memberships={}).role_in(PARTNER_ORG) is None
