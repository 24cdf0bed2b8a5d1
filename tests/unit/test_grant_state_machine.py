"""domain.grants: every (status, action, side, role) against SPEC's lifecycle table, the
expiry of pending invitations, and every error code of validate_access.

Expected outcomes come from the tables below, written from SPEC ("The Grant and its
lifecycle"), never from the code under test.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from domain.enums import AccessLevel, GrantStatus, PaymentMethods, Role, Side
from domain.grants import (
    LIVE_STATUSES,
    Access,
    GrantAction,
    GrantError,
    effective_status,
    next_status,
    other_side,
    require_legal_representative,
    sides_allowed,
    validate_access,
)

A, S = GrantAction, GrantStatus
INVITING, INVITED, CLIENT, EITHER, SYSTEM = "inviting", "invited", "client", "either", "system"

# SPEC table "who may do it" (always a legal representative of that side).
WHO = {
    A.INVITE: INVITING,
    A.ACCEPT: INVITED,
    A.REFUSE: INVITED,
    A.RESEND: INVITING,
    A.CANCEL: INVITING,
    A.EDIT_ACCESS: CLIENT,
    A.CHANGE_PAYMENT_METHODS: CLIENT,
    A.STOP: EITHER,
    A.EXPIRE: SYSTEM,
}

# SPEC "States": PENDING -> ACTIVE | REFUSED | CANCELLED (| EXPIRED), ACTIVE -> STOPPED;
# resending keeps an invitation pending; editing access or payment keeps a grant active.
# (An invitation is created PENDING: INVITE moves no existing grant.)
MOVES = {
    (A.ACCEPT, S.PENDING): S.ACTIVE,
    (A.REFUSE, S.PENDING): S.REFUSED,
    (A.RESEND, S.PENDING): S.PENDING,
    (A.CANCEL, S.PENDING): S.CANCELLED,
    (A.EXPIRE, S.PENDING): S.EXPIRED,
    (A.EDIT_ACCESS, S.ACTIVE): S.ACTIVE,
    (A.CHANGE_PAYMENT_METHODS, S.ACTIVE): S.ACTIVE,
    (A.STOP, S.ACTIVE): S.STOPPED,
}


def side_may(action: GrantAction, initiated_by: Side, side: Side | None) -> bool:
    who = WHO[action]
    if who == SYSTEM:
        return True
    if side is None:
        return False
    invited = Side.CLIENT if initiated_by is Side.PARTNER else Side.PARTNER
    return {
        INVITING: side is initiated_by,
        INVITED: side is invited,
        CLIENT: side is Side.CLIENT,
        EITHER: True,
    }[who]


def expected(
    action: GrantAction,
    status: GrantStatus,
    initiated_by: Side,
    side: Side | None,
    role: Role | None,
) -> GrantStatus | str:
    """The outcome: the next status, or the error code (checks in this order: side, role,
    state, so that nobody learns a grant's state from an action it may not take)."""
    if WHO[action] != SYSTEM:
        if not side_may(action, initiated_by, side):
            return "WRONG_SIDE"
        if role is not Role.LEGAL_REPRESENTATIVE:
            return "ROLE_NOT_ALLOWED"
    return MOVES.get((action, status), "INVALID_STATE")


CASES = list(
    itertools.product(
        GrantAction, GrantStatus, Side, [Side.PARTNER, Side.CLIENT, None], [*Role, None]
    )
)


@pytest.mark.parametrize(("action", "status", "initiated_by", "side", "role"), CASES)
def test_next_status(
    action: GrantAction,
    status: GrantStatus,
    initiated_by: Side,
    side: Side | None,
    role: Role | None,
) -> None:
    outcome = expected(action, status, initiated_by, side, role)
    if isinstance(outcome, GrantStatus):
        assert (
            next_status(action, status, initiated_by=initiated_by, actor_side=side, actor_role=role)
            is outcome
        )
    else:
        with pytest.raises(GrantError) as caught:
            next_status(action, status, initiated_by=initiated_by, actor_side=side, actor_role=role)
        assert caught.value.code == outcome


def test_the_happy_paths_read_like_spec() -> None:
    rep = Role.LEGAL_REPRESENTATIVE

    def step(action: GrantAction, status: GrantStatus, by: Side, side: Side) -> GrantStatus:
        return next_status(action, status, initiated_by=by, actor_side=side, actor_role=rep)

    # Partner invites, client accepts, client edits, client changes payment, partner stops.
    s = step(A.ACCEPT, S.PENDING, Side.PARTNER, Side.CLIENT)
    assert s is S.ACTIVE
    assert step(A.EDIT_ACCESS, s, Side.PARTNER, Side.CLIENT) is S.ACTIVE
    assert step(A.CHANGE_PAYMENT_METHODS, s, Side.PARTNER, Side.CLIENT) is S.ACTIVE
    assert step(A.STOP, s, Side.PARTNER, Side.PARTNER) is S.STOPPED
    # Client invites: the partner accepts or refuses; the client resends or cancels.
    assert step(A.ACCEPT, S.PENDING, Side.CLIENT, Side.PARTNER) is S.ACTIVE
    assert step(A.REFUSE, S.PENDING, Side.CLIENT, Side.PARTNER) is S.REFUSED
    assert step(A.RESEND, S.PENDING, Side.CLIENT, Side.CLIENT) is S.PENDING
    assert step(A.CANCEL, S.PENDING, Side.CLIENT, Side.CLIENT) is S.CANCELLED
    assert step(A.STOP, S.ACTIVE, Side.CLIENT, Side.CLIENT) is S.STOPPED
    # The system expires a pending invitation, with no actor.
    assert (
        next_status(
            A.EXPIRE, S.PENDING, initiated_by=Side.PARTNER, actor_side=None, actor_role=None
        )
        is S.EXPIRED
    )


@pytest.mark.parametrize("status", [S.REFUSED, S.CANCELLED, S.EXPIRED, S.STOPPED])
def test_ended_grants_are_final(status: GrantStatus) -> None:
    for action, by, side in itertools.product(GrantAction, Side, Side):
        with pytest.raises(GrantError) as caught:
            next_status(
                action,
                status,
                initiated_by=by,
                actor_side=side,
                actor_role=Role.LEGAL_REPRESENTATIVE,
            )
        assert caught.value.code in {"INVALID_STATE", "WRONG_SIDE"}


def test_invalid_state_message_names_the_state() -> None:
    with pytest.raises(GrantError) as caught:
        next_status(
            A.ACCEPT,
            S.CANCELLED,
            initiated_by=Side.PARTNER,
            actor_side=Side.CLIENT,
            actor_role=Role.LEGAL_REPRESENTATIVE,
        )
    assert "cancelled" in caught.value.message


# SPEC: which sides act, relative to who invited.
SIDES = {
    (A.ACCEPT, Side.PARTNER): {Side.CLIENT},
    (A.ACCEPT, Side.CLIENT): {Side.PARTNER},
    (A.REFUSE, Side.PARTNER): {Side.CLIENT},
    (A.REFUSE, Side.CLIENT): {Side.PARTNER},
    (A.RESEND, Side.PARTNER): {Side.PARTNER},
    (A.RESEND, Side.CLIENT): {Side.CLIENT},
    (A.CANCEL, Side.PARTNER): {Side.PARTNER},
    (A.CANCEL, Side.CLIENT): {Side.CLIENT},
    (A.INVITE, Side.PARTNER): {Side.PARTNER},
    (A.INVITE, Side.CLIENT): {Side.CLIENT},
    (A.EDIT_ACCESS, Side.PARTNER): {Side.CLIENT},
    (A.EDIT_ACCESS, Side.CLIENT): {Side.CLIENT},
    (A.CHANGE_PAYMENT_METHODS, Side.PARTNER): {Side.CLIENT},
    (A.CHANGE_PAYMENT_METHODS, Side.CLIENT): {Side.CLIENT},
    (A.STOP, Side.PARTNER): {Side.PARTNER, Side.CLIENT},
    (A.STOP, Side.CLIENT): {Side.PARTNER, Side.CLIENT},
    (A.EXPIRE, Side.PARTNER): set(),
    (A.EXPIRE, Side.CLIENT): set(),
}


@pytest.mark.parametrize(("action", "initiated_by"), list(SIDES))
def test_sides_allowed(action: GrantAction, initiated_by: Side) -> None:
    assert sides_allowed(action, initiated_by) == SIDES[(action, initiated_by)]


def test_other_side_and_live_statuses() -> None:
    assert other_side(Side.PARTNER) is Side.CLIENT
    assert other_side(Side.CLIENT) is Side.PARTNER
    # SPEC: at most one PENDING or ACTIVE grant per pair.
    assert frozenset({S.PENDING, S.ACTIVE}) == LIVE_STATUSES


@pytest.mark.parametrize("role", [*Role, None])
def test_require_legal_representative(role: Role | None) -> None:
    if role is Role.LEGAL_REPRESENTATIVE:
        require_legal_representative(role)
        return
    with pytest.raises(GrantError) as caught:
        require_legal_representative(role)
    assert caught.value.code == "ROLE_NOT_ALLOWED"


# -- expiry ------------------------------------------------------------------------------
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EXPIRY = {  # expires_at relative to now -> is a pending invitation expired?
    "none": (None, False),
    "a day ago": (NOW - timedelta(days=1), True),
    "a microsecond ago": (NOW - timedelta(microseconds=1), True),
    "right now": (NOW, True),
    "in a microsecond": (NOW + timedelta(microseconds=1), False),
    "in a week": (NOW + timedelta(days=7), False),
}


@pytest.mark.parametrize("status", list(GrantStatus))
@pytest.mark.parametrize("when", list(EXPIRY))
def test_effective_status(status: GrantStatus, when: str) -> None:
    expires_at, past = EXPIRY[when]
    # Only a pending invitation expires; every other status stands as recorded.
    want = S.EXPIRED if status is S.PENDING and past else status
    assert effective_status(status, expires_at, NOW) is want


# -- validate_access: every error code ------------------------------------------------------
OWN = frozenset({1, 2, 3})
FAMILIES = frozenset({"WEB_HOSTING", "MAIL_HOSTING"})
LIMITED, FULL = AccessLevel.LIMITED, AccessLevel.FULL
P, C = Side.PARTNER, Side.CLIENT

# (label, access, proposed_by, expected code or None, expected field)
ACCESS_CASES = [
    ("FULL client pays", Access(FULL, PaymentMethods.CLIENT), C, None, None),
    ("FULL partner pays", Access(FULL, PaymentMethods.PARTNER), P, None, None),
    (
        "FULL without methods (client)",
        Access(FULL),
        C,
        "PAYMENT_METHODS_REQUIRED",
        "access.paymentMethods",
    ),
    (
        "FULL without methods (partner)",
        Access(FULL),
        P,
        "PAYMENT_METHODS_REQUIRED",
        "access.paymentMethods",
    ),
    (
        "FULL naming products",
        Access(FULL, PaymentMethods.CLIENT, frozenset({1})),
        C,
        "PRODUCTS_NOT_ALLOWED",
        "access.productIds",
    ),
    (
        "FULL naming families",
        Access(FULL, PaymentMethods.CLIENT, families=frozenset({"WEB_HOSTING"})),
        P,
        "PRODUCTS_NOT_ALLOWED",
        "access.productIds",
    ),
    (
        "LIMITED with methods",
        Access(LIMITED, PaymentMethods.CLIENT, frozenset({1})),
        C,
        "PAYMENT_METHODS_NOT_ALLOWED",
        "access.paymentMethods",
    ),
    ("LIMITED own products", Access(LIMITED, product_ids=frozenset({1, 3})), C, None, None),
    ("LIMITED no products (client)", Access(LIMITED), C, "PRODUCTS_REQUIRED", "access.productIds"),
    (
        "LIMITED families only (client)",
        Access(LIMITED, families=frozenset({"WEB_HOSTING"})),
        C,
        "PRODUCTS_REQUIRED",
        "access.productIds",
    ),
    (
        "LIMITED foreign product",
        Access(LIMITED, product_ids=frozenset({1, 99})),
        C,
        "PRODUCT_NOT_IN_ORGANIZATION",
        "access.productIds",
    ),
    (
        "LIMITED families (partner)",
        Access(LIMITED, families=frozenset({"WEB_HOSTING"})),
        P,
        None,
        None,
    ),
    (
        "LIMITED nothing (partner)",
        Access(LIMITED),
        P,
        "PRODUCTS_REQUIRED",
        "access.productFamilies",
    ),
    (
        "LIMITED unknown family (partner)",
        Access(LIMITED, families=frozenset({"WEB_HOSTING", "ROCKETS"})),
        P,
        "UNKNOWN_PRODUCT_FAMILY",
        "access.productFamilies",
    ),
    # A partner cannot see a client's products before the grant: naming some fails.
    (
        "LIMITED products (partner)",
        Access(LIMITED, product_ids=frozenset({1})),
        P,
        "PRODUCT_NOT_IN_ORGANIZATION",
        "access.productIds",
    ),
]


@pytest.mark.parametrize(
    ("label", "access", "proposed_by", "code", "field"),
    ACCESS_CASES,
    ids=[case[0] for case in ACCESS_CASES],
)
def test_validate_access(
    label: str, access: Access, proposed_by: Side, code: str | None, field: str | None
) -> None:
    client_products = OWN if proposed_by is C else None
    if code is None:
        assert (
            validate_access(
                access,
                proposed_by=proposed_by,
                client_product_ids=client_products,
                known_families=FAMILIES,
            )
            == access
        )
        return
    with pytest.raises(GrantError) as caught:
        validate_access(
            access,
            proposed_by=proposed_by,
            client_product_ids=client_products,
            known_families=FAMILIES,
        )
    assert (caught.value.code, caught.value.field) == (code, field)


def test_validate_access_without_the_client_products_refuses_products() -> None:
    with pytest.raises(GrantError) as caught:
        validate_access(Access(LIMITED, product_ids=frozenset({1})), proposed_by=C)
    assert caught.value.code == "PRODUCT_NOT_IN_ORGANIZATION"
    # Families are checked only against a known list when one is given.
    access = Access(LIMITED, families=frozenset({"ANYTHING"}))
    assert validate_access(access, proposed_by=P) == access
