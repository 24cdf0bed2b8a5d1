"""The grant lifecycle: which action, by which side and role, moves a grant where.

PENDING -> ACTIVE | REFUSED | CANCELLED | EXPIRED; ACTIVE -> STOPPED. Every action is
taken by a legal representative. The invited side accepts or refuses; the inviting side
resends or cancels; the client edits access and payment methods; either side stops.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.enums import AccessLevel, GrantStatus, PaymentMethods, Role, Side
from domain.errors import DomainError


class GrantAction(enum.StrEnum):
    INVITE = "INVITE"
    ACCEPT = "ACCEPT"
    REFUSE = "REFUSE"
    RESEND = "RESEND"
    CANCEL = "CANCEL"
    EDIT_ACCESS = "EDIT_ACCESS"
    CHANGE_PAYMENT_METHODS = "CHANGE_PAYMENT_METHODS"
    STOP = "STOP"
    EXPIRE = "EXPIRE"


class GrantError(DomainError):
    pass


_NEXT_STATUS: dict[GrantStatus, dict[GrantAction, GrantStatus]] = {
    GrantStatus.PENDING: {
        GrantAction.ACCEPT: GrantStatus.ACTIVE,
        GrantAction.REFUSE: GrantStatus.REFUSED,
        GrantAction.RESEND: GrantStatus.PENDING,
        GrantAction.CANCEL: GrantStatus.CANCELLED,
        GrantAction.EXPIRE: GrantStatus.EXPIRED,
    },
    GrantStatus.ACTIVE: {
        GrantAction.EDIT_ACCESS: GrantStatus.ACTIVE,
        GrantAction.CHANGE_PAYMENT_METHODS: GrantStatus.ACTIVE,
        GrantAction.STOP: GrantStatus.STOPPED,
    },
}

LIVE_STATUSES = frozenset({GrantStatus.PENDING, GrantStatus.ACTIVE})


def other_side(side: Side) -> Side:
    return Side.CLIENT if side is Side.PARTNER else Side.PARTNER


def sides_allowed(action: GrantAction, initiated_by: Side) -> frozenset[Side]:
    """Which side of the grant may take `action`."""
    if action in (GrantAction.ACCEPT, GrantAction.REFUSE):
        return frozenset({other_side(initiated_by)})
    if action in (GrantAction.RESEND, GrantAction.CANCEL, GrantAction.INVITE):
        return frozenset({initiated_by})
    if action in (GrantAction.EDIT_ACCESS, GrantAction.CHANGE_PAYMENT_METHODS):
        return frozenset({Side.CLIENT})
    if action is GrantAction.STOP:
        return frozenset({Side.PARTNER, Side.CLIENT})
    return frozenset()  # EXPIRE: the system only


def effective_status(
    status: GrantStatus,
    invitation_expires_at: datetime | None,
    now: datetime,
    ends_at: datetime | None = None,
    renews_automatically: bool = False,
) -> GrantStatus:
    """A pending invitation past its expiry, or an active grant past its end (not renewing
    itself), is expired, even before the job records it."""
    if (
        status is GrantStatus.PENDING
        and invitation_expires_at is not None
        and invitation_expires_at <= now
    ):
        return GrantStatus.EXPIRED
    if status is GrantStatus.ACTIVE and past_end(ends_at, renews_automatically, now):
        return GrantStatus.EXPIRED
    return status


def past_end(ends_at: datetime | None, renews_automatically: bool, now: datetime) -> bool:
    return ends_at is not None and not renews_automatically and ends_at <= now


@dataclass(frozen=True)
class Term:
    """Time-bound access (SPEC): an end, optionally renewing for the same length."""

    ends_at: datetime | None = None
    renews_automatically: bool = False


NO_TERM = Term()
#: Both sides are warned this many days before a grant ends (SPEC "Time-bound access").
END_WARNING_DAYS = (7, 1)


def validate_term(term: Term, *, set_by: Side, now: datetime) -> Term:
    """Only the client bounds a grant in time; the end is in the future; renewing needs an
    end (its length is the term's)."""
    if term == NO_TERM:
        return term
    if set_by is not Side.CLIENT:
        raise GrantError(
            "TERM_SET_BY_CLIENT", "Only the client gives a partnership an end date.", "endsAt"
        )
    if term.ends_at is None:
        raise GrantError("END_REQUIRED", "A renewing partnership needs an end date.", "endsAt")
    if term.ends_at <= now:
        raise GrantError("END_IN_PAST", "The end date must be in the future.", "endsAt")
    return term


def renewed_end(
    ends_at: datetime, term_started_at: datetime, now: datetime
) -> tuple[datetime, datetime]:
    """A renewing term rolled forward past ``now``: (new start, new end), same length."""
    length = ends_at - term_started_at
    if length <= timedelta(0):
        length = timedelta(days=1)
    start, end = term_started_at, ends_at
    while end <= now:
        start, end = end, end + length
    return start, end


def warning_due(
    ends_at: datetime | None,
    renews_automatically: bool,
    already_sent_days: int | None,
    now: datetime,
) -> int | None:
    """The end warning to send now (7 or 1 days before), if one is due and not yet sent.
    A grant renewing itself does not end, so gets none."""
    if ends_at is None or renews_automatically or ends_at <= now:
        return None
    left = ends_at - now
    due = [d for d in END_WARNING_DAYS if left <= timedelta(days=d)]
    if not due:
        return None
    days = min(due)
    if already_sent_days is not None and already_sent_days <= days:
        return None
    return days


def require_legal_representative(role: Role | None) -> None:
    if role is not Role.LEGAL_REPRESENTATIVE:
        raise GrantError(
            "ROLE_NOT_ALLOWED", "Only a legal representative of the organization may do this."
        )


def next_status(
    action: GrantAction,
    status: GrantStatus,
    *,
    initiated_by: Side,
    actor_side: Side | None,
    actor_role: Role | None,
) -> GrantStatus:
    """The status after `action`, or a GrantError saying why it is not allowed."""
    if action is not GrantAction.EXPIRE:
        if actor_side is None or actor_side not in sides_allowed(action, initiated_by):
            raise GrantError("WRONG_SIDE", "This side of the partnership cannot do this.")
        require_legal_representative(actor_role)
    target = _NEXT_STATUS.get(status, {}).get(action)
    if target is None:
        raise GrantError(
            "INVALID_STATE", f"The partnership is {status.value.lower()}: it cannot do that now."
        )
    return target


@dataclass(frozen=True)
class Access:
    """An access level with its products (LIMITED) or payment methods (FULL).

    A partner, who cannot see a client's products before the grant, asks for product
    families; a client names products.
    """

    level: AccessLevel
    payment_methods: PaymentMethods | None = None
    product_ids: frozenset[int] = field(default_factory=frozenset)
    families: frozenset[str] = field(default_factory=frozenset)


def validate_access(
    access: Access,
    *,
    proposed_by: Side,
    client_product_ids: frozenset[int] | None = None,
    known_families: frozenset[str] | None = None,
) -> Access:
    """Check an access a side asks for (partner) or grants (client).

    `client_product_ids` are the client's own products; a client-granted LIMITED access
    must name some of them and only them.
    """
    if access.level is AccessLevel.FULL:
        if access.payment_methods is None:
            raise GrantError(
                "PAYMENT_METHODS_REQUIRED",
                "A FULL access needs payment methods: CLIENT or PARTNER.",
                "access.paymentMethods",
            )
        if access.product_ids or access.families:
            raise GrantError(
                "PRODUCTS_NOT_ALLOWED",
                "A FULL access covers the whole organization: name no products.",
                "access.productIds",
            )
        return access
    if access.payment_methods is not None:
        raise GrantError(
            "PAYMENT_METHODS_NOT_ALLOWED",
            "Payment methods are chosen only with a FULL access.",
            "access.paymentMethods",
        )
    if proposed_by is Side.PARTNER and not access.product_ids:
        if not access.families:
            raise GrantError(
                "PRODUCTS_REQUIRED",
                "A LIMITED access needs the product families it asks for.",
                "access.productFamilies",
            )
        if known_families is not None and not access.families <= known_families:
            raise GrantError(
                "UNKNOWN_PRODUCT_FAMILY",
                "Unknown product family: " + ", ".join(sorted(access.families - known_families)),
                "access.productFamilies",
            )
        return access
    if not access.product_ids:
        raise GrantError(
            "PRODUCTS_REQUIRED",
            "A LIMITED access needs at least one product.",
            "access.productIds",
        )
    if client_product_ids is None or not access.product_ids <= client_product_ids:
        raise GrantError(
            "PRODUCT_NOT_IN_ORGANIZATION",
            "Every product must belong to the client organization.",
            "access.productIds",
        )
    return access
