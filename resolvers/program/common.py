"""Program helpers shared by the use cases: errors, the legal representative check, locks."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Organization
from domain.enums import Role
from domain.errors import DomainError
from resolvers.context import RequestContext
from resolvers.errors import UseCaseError, not_found

ROLE_NOT_ALLOWED = UseCaseError(
    "ROLE_NOT_ALLOWED", "Only a legal representative of the organization may do this.", None
)


class UseCaseErrors(UseCaseError):
    """Several input errors at once (a form): the schema returns each as a userError."""

    def __init__(self, errors: Sequence[DomainError]) -> None:
        first = errors[0]
        super().__init__(first.code, first.message, first.field)
        self.errors = list(errors)


def require_legal_representative(
    ctx: RequestContext, organization_id: int, field: str = "organizationId"
) -> None:
    """A legal representative of the organization; a non-member sees NOT_FOUND (on `field`,
    the input that named the organization, as for a missing one)."""
    role = ctx.viewer.role_in(organization_id)
    if role is None:
        raise not_found(field)
    if role is not Role.LEGAL_REPRESENTATIVE:
        raise ROLE_NOT_ALLOWED


async def _lock_organization(session: AsyncSession, organization_id: int) -> Organization:
    # Serializes concurrent program changes of one organization on PostgreSQL; SQLite
    # serializes writers anyway. The unique keys catch whatever slips through.
    org = await session.scalar(
        select(Organization).where(Organization.id == organization_id).with_for_update()
    )
    if org is None:
        raise not_found("organizationId")
    return org
