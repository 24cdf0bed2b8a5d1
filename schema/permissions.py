"""Permission classes: who may read a field. A refusal answers null plus FORBIDDEN."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from domain.access import (
    ClientVisibility,
    can_read_client_invoices,
    client_visibility,
    has_billing_rights,
)
from domain.enums import Role
from domain.people import may_read_members
from domain.webhooks import may_manage_webhooks
from schema.context import Info


class IsAuthenticated(BasePermission):
    message = "Authentication required."
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = info.context.viewer
        return viewer.user_id is not None or viewer.api_token_id is not None


class IsPerson(BasePermission):
    """Actions that need a person (a login), not an integration's API token."""

    message = "Log in as a person to do this."
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer.user_id is not None


class Forbidden(BasePermission):
    """Base for field guards: the field answers null with `extensions.code` FORBIDDEN."""

    message = "You may not read this field."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        raise NotImplementedError


class HasBillingRights(Forbidden):
    """An organization's invoices: its legal representatives and administrators only."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return has_billing_rights(info.context.viewer, source.organization_id)


class IsMember(Forbidden):
    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer.is_member(source.organization_id)


class ReadsMembers(Forbidden):
    """An organization's members, invitations and audit trail: legal representatives and
    administrators."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return may_read_members(info.context.viewer.role_in(source.organization_id))


class ReadsCollaboratorRights(Forbidden):
    """A collaborator's rights: legal representatives of its organization, and itself."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = info.context.viewer
        own = source.user_id == viewer.user_id and viewer.api_token_id is None
        return own or viewer.role_in(source.organization_id) is Role.LEGAL_REPRESENTATIVE


class SeesClientProducts(Forbidden):
    """A partner sees a client's products under an active grant (granted ones if LIMITED)."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return client_visibility(info.context.viewer, source.facts) >= ClientVisibility.PRODUCTS


class SeesWholeClient(Forbidden):
    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return client_visibility(info.context.viewer, source.facts) is ClientVisibility.WHOLE


class ReadsClientInvoices(Forbidden):
    """SPEC: a partner sees only the invoices it paid itself, and only under FULL + PARTNER."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return can_read_client_invoices(info.context.viewer, source.facts)


class ManagesWebhooks(Forbidden):
    """An organization's webhook endpoints: its legal representatives."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return may_manage_webhooks(info.context.viewer.role_in(source.organization_id))
