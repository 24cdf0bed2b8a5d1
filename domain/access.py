"""Who sees what (SPEC "What each side sees"). Pure: decisions from facts the caller loads.

Inside a partner organization, legal representatives and administrators act for every
client; collaborators only for the clients their rights name; external members for none.
An invoice is seen only by billing members (legal representatives, administrators) of
the organization that paid it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from domain.enums import AccessLevel, GrantStatus, PaymentMethods, Role

BILLING_ROLES = frozenset({Role.LEGAL_REPRESENTATIVE, Role.ADMINISTRATOR})


@dataclass(frozen=True)
class MembershipFacts:
    organization_id: int
    role: Role
    all_clients: bool = False
    client_ids: frozenset[int] = field(default_factory=frozenset)
    # For a collaborator: the clients (by organization id) on which it acts only for a
    # chosen subset of the products the grant covers, and that subset. A client absent
    # here (but acted for) means every product the grant covers.
    product_ids: Mapping[int, frozenset[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Viewer:
    """The caller: a user with its memberships, or an API token acting for one organization."""

    user_id: int | None
    memberships: Mapping[int, MembershipFacts]
    read_only: bool = False
    api_token_id: int | None = None
    email: str | None = None
    # The login (auth session) of this request, for logout and the sessions list.
    session_id: int | None = None

    def role_in(self, organization_id: int) -> Role | None:
        membership = self.memberships.get(organization_id)
        return membership.role if membership else None

    def is_member(self, organization_id: int) -> bool:
        return organization_id in self.memberships


ANONYMOUS = Viewer(user_id=None, memberships={})


@dataclass(frozen=True)
class GrantFacts:
    partner_organization_id: int
    client_organization_id: int | None
    status: GrantStatus
    level: AccessLevel | None
    payment_methods: PaymentMethods | None
    product_ids: frozenset[int] = field(default_factory=frozenset)
    grant_id: int = 0


class ClientVisibility(enum.IntEnum):
    """How much of a client a partner-side viewer sees, ordered."""

    NONE = 0
    NAME_ONLY = 1
    PRODUCTS = 2
    WHOLE = 3


def acts_for_client(membership: MembershipFacts | None, client_organization_id: int | None) -> bool:
    if membership is None or client_organization_id is None:
        return False
    if membership.role in BILLING_ROLES:
        return True
    if membership.role is Role.COLLABORATOR:
        return membership.all_clients or client_organization_id in membership.client_ids
    return False


def product_limit(
    membership: MembershipFacts | None, client_organization_id: int | None
) -> frozenset[int] | None:
    """The products a collaborator's rights limit it to on this client; None: no limit."""
    if membership is None or client_organization_id is None:
        return None
    if membership.role is not Role.COLLABORATOR:
        return None
    return membership.product_ids.get(client_organization_id)


def partner_product_scope(viewer: Viewer, grant: GrantFacts) -> frozenset[int] | None:
    """The client's products a partner-side viewer sees through this grant: None for every
    one of them (the whole client), else the set (LIMITED grants, collaborators' rights)."""
    visibility = client_visibility(viewer, grant)
    if visibility is ClientVisibility.WHOLE:
        return None
    if visibility < ClientVisibility.PRODUCTS:
        return frozenset()
    limit = product_limit(
        viewer.memberships.get(grant.partner_organization_id), grant.client_organization_id
    )
    if grant.level is AccessLevel.FULL:
        return limit if limit is not None else None
    return grant.product_ids if limit is None else grant.product_ids & limit


def client_visibility(viewer: Viewer, grant: GrantFacts) -> ClientVisibility:
    """What a partner-side viewer sees of the grant's client."""
    membership = viewer.memberships.get(grant.partner_organization_id)
    if membership is None:
        return ClientVisibility.NONE
    if grant.status is GrantStatus.PENDING:
        # The inviting partner sees its own invitation, even before a client is bound.
        if membership.role in BILLING_ROLES or acts_for_client(
            membership, grant.client_organization_id
        ):
            return ClientVisibility.NAME_ONLY
        return ClientVisibility.NONE
    if grant.status is not GrantStatus.ACTIVE or not acts_for_client(
        membership, grant.client_organization_id
    ):
        return ClientVisibility.NONE
    if (
        grant.level is AccessLevel.FULL
        and product_limit(membership, grant.client_organization_id) is None
    ):
        return ClientVisibility.WHOLE
    # LIMITED, or a collaborator limited to some of the products of a FULL grant.
    return ClientVisibility.PRODUCTS


def can_see_grant(viewer: Viewer, grant: GrantFacts) -> bool:
    """Members of the client see its partnerships; partner members those they act for."""
    if grant.client_organization_id is not None and viewer.is_member(grant.client_organization_id):
        return True
    membership = viewer.memberships.get(grant.partner_organization_id)
    if membership is None:
        return False
    return membership.role in BILLING_ROLES or acts_for_client(
        membership, grant.client_organization_id
    )


def can_see_product(
    viewer: Viewer,
    product_organization_id: int,
    product_id: int | None,
    grants: Sequence[GrantFacts],
) -> bool:
    """Members of the owner; partner-side viewers who see the whole client (FULL) or,
    under LIMITED, this granted product (`None`: no product yet, only FULL sees it)."""
    if viewer.is_member(product_organization_id):
        return True
    for grant in grants:
        if grant.client_organization_id != product_organization_id:
            continue
        scope = partner_product_scope(viewer, grant)
        if scope is None or product_id in scope:
            return True
    return False


def can_see_order(
    viewer: Viewer,
    client_organization_id: int,
    paying_organization_id: int,
    product_id: int | None,
    grants: Sequence[GrantFacts],
) -> bool:
    """Whoever sees its product, and the billing members of the organization that paid."""
    return can_read_invoice(viewer, paying_organization_id) or can_see_product(
        viewer, client_organization_id, product_id, grants
    )


def has_billing_rights(viewer: Viewer, organization_id: int) -> bool:
    return viewer.role_in(organization_id) in BILLING_ROLES


def can_read_invoice(viewer: Viewer, paying_organization_id: int) -> bool:
    """An invoice belongs to the organization that paid it: its billing members only."""
    return has_billing_rights(viewer, paying_organization_id)


def can_read_client_invoices(viewer: Viewer, grant: GrantFacts) -> bool:
    """A partner reads, for a client, only the invoices it paid itself (FULL + PARTNER)."""
    return (
        grant.status is GrantStatus.ACTIVE
        and grant.level is AccessLevel.FULL
        and grant.payment_methods is PaymentMethods.PARTNER
        and has_billing_rights(viewer, grant.partner_organization_id)
    )


def may_order_for_client(viewer: Viewer, grant: GrantFacts) -> bool:
    """SPEC: a partner orders or renews for a client only under an active FULL grant."""
    return client_visibility(viewer, grant) is ClientVisibility.WHOLE and not viewer.read_only
