"""People in an organization (SPEC "People in an organization"). Pure rules.

Who may invite whom, who manages members, the organization's last legal representative,
and the state of an emailed single-use token or a member invitation.
"""

from __future__ import annotations

from datetime import datetime

from domain.enums import MemberInvitationStatus, Role
from domain.error_codes import ErrorCode
from domain.errors import DomainError

#: Roles an administrator may invite (a legal representative invites any role).
ADMINISTRATOR_INVITES = frozenset({Role.COLLABORATOR, Role.EXTERNAL})
#: Roles that read the members, the invitations and the audit trail of their organization.
MEMBER_READERS = frozenset({Role.LEGAL_REPRESENTATIVE, Role.ADMINISTRATOR})

LAST_LEGAL_REPRESENTATIVE = ErrorCode.LAST_LEGAL_REPRESENTATIVE
ROLE_NOT_ALLOWED = ErrorCode.ROLE_NOT_ALLOWED


def may_invite(inviter: Role | None, invited: Role) -> bool:
    if inviter is Role.LEGAL_REPRESENTATIVE:
        return True
    return inviter is Role.ADMINISTRATOR and invited in ADMINISTRATOR_INVITES


def may_read_members(role: Role | None) -> bool:
    return role in MEMBER_READERS


def may_manage_members(role: Role | None) -> bool:
    """Changing roles and removing members: legal representatives only."""
    return role is Role.LEGAL_REPRESENTATIVE


def check_keeps_legal_representative(
    legal_representatives: int, current: Role, new: Role | None
) -> None:
    """Refuse a change (`new` None: leaving or removal) that would leave no legal
    representative; `legal_representatives` counts them before the change."""
    leaves = current is Role.LEGAL_REPRESENTATIVE and new is not Role.LEGAL_REPRESENTATIVE
    if leaves and legal_representatives <= 1:
        raise DomainError(
            LAST_LEGAL_REPRESENTATIVE,
            "An organization keeps at least one legal representative: appoint another one first.",
            None,
        )


def token_usable(*, used_at: datetime | None, expires_at: datetime, now: datetime) -> bool:
    """An emailed token works once, before it expires."""
    return used_at is None and now < expires_at


def invitation_status(
    *,
    accepted_at: datetime | None,
    cancelled_at: datetime | None,
    expires_at: datetime,
    now: datetime,
) -> MemberInvitationStatus:
    if accepted_at is not None:
        return MemberInvitationStatus.ACCEPTED
    if cancelled_at is not None:
        return MemberInvitationStatus.CANCELLED
    if now >= expires_at:
        return MemberInvitationStatus.EXPIRED
    return MemberInvitationStatus.PENDING


PRODUCT_NOT_COVERED = ErrorCode.PRODUCT_NOT_COVERED


def check_product_rights(
    client_id: int,
    all_products: bool,
    chosen: frozenset[int],
    covered: frozenset[int],
) -> frozenset[int] | None:
    """A collaborator's products on one client: None for every product the grant covers,
    else the chosen ones, each of which the grant must cover (`covered`)."""
    if all_products:
        if chosen:
            raise DomainError(
                "INVALID_INPUT", "Give allProducts or a list of products, not both.", "clients"
            )
        return None
    if not chosen:
        raise DomainError(
            "INVALID_INPUT",
            "Choose at least one product, or allProducts for every product the grant covers.",
            "clients",
        )
    if chosen - covered:
        raise DomainError(
            PRODUCT_NOT_COVERED,
            "Each product must be one the grant with this client covers.",
            "clients",
        )
    return chosen
