"""The program's mutation root."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import relay

from resolvers import directory as directory_cases
from resolvers import program as program_cases
from resolvers import support as support_cases
from resolvers.directory import ListingChanges
from resolvers.program import collaborators as collaborator_cases
from schema.context import Info
from schema.ids import decode_id
from schema.permissions import IsAuthenticated, IsPerson
from schema.program.applications import (
    Affiliate,
    ApplyToPartnerProgramInput,
    ApplyToPartnerProgramPayload,
    JoinAffiliateProgramInput,
    JoinAffiliateProgramPayload,
    PartnerApplication,
)
from schema.program.backup import BackupCustomer, MoveBackupCustomerInput, MoveBackupCustomerPayload
from schema.program.collaborators import (
    SetCollaboratorClientsInput,
    SetCollaboratorClientsPayload,
    SetCollaboratorRightsInput,
    SetCollaboratorRightsPayload,
)
from schema.program.common import _mutate, _org
from schema.program.directory import (
    DirectoryEntry,
    UpdateDirectoryListingInput,
    UpdateDirectoryListingPayload,
)
from schema.program.support import (
    GrantSupportAccessInput,
    RevokeSupportAccessInput,
    SupportAccess,
    SupportAccessPayload,
)
from schema.types.collaborator_rights import CollaboratorRights


@strawberry.type
class ProgramMutations:
    @strawberry.mutation(
        description="Apply to the Partner Program (a legal representative). Eligibility is "
        "checked at once: accepted, the organization is a Partner; refused, the application "
        "is stored with its reasons. A missing or malformed registration number or website "
        "returns userErrors and stores nothing.",
        permission_classes=[IsPerson],
    )
    async def apply_to_partner_program(
        self, info: Info, input: ApplyToPartnerProgramInput
    ) -> ApplyToPartnerProgramPayload:
        async def run() -> dict[str, Any]:
            row = await program_cases.apply_to_partner_program(
                info.context,
                organization_id=_org(input.organization_id),
                registration_number=input.registration_number,
                website=input.website,
                accepted_reseller_conditions=input.accepted_reseller_conditions,
                accepted_bid_exclusivity=input.accepted_bid_exclusivity,
            )
            return {"application": PartnerApplication.of(row)}

        return await _mutate(ApplyToPartnerProgramPayload, run)

    @strawberry.mutation(
        description="Join the Affiliate Program (an individual's legal representative); "
        "refused for a Partner.",
        permission_classes=[IsPerson],
    )
    async def join_affiliate_program(
        self, info: Info, input: JoinAffiliateProgramInput
    ) -> JoinAffiliateProgramPayload:
        async def run() -> dict[str, Any]:
            row = await program_cases.join_affiliate_program(
                info.context, organization_id=_org(input.organization_id)
            )
            return {
                "affiliate": Affiliate(
                    organization_id=relay.GlobalID("Organization", str(row.organization_id)),
                    created_at=row.created_at,
                )
            }

        return await _mutate(JoinAffiliateProgramPayload, run)

    @strawberry.mutation(
        description="Create or edit the partner's directory listing, opt in or out "
        "(a legal representative of the partner). Its languages, regions and product "
        "families are what the partner receives bids for, published or not; none of a "
        "kind: no bids.",
        permission_classes=[IsPerson],
    )
    async def update_directory_listing(
        self, info: Info, input: UpdateDirectoryListingInput
    ) -> UpdateDirectoryListingPayload:
        async def run() -> dict[str, Any]:
            view = await directory_cases.update_directory_listing(
                info.context,
                partner_id=decode_id(input.partner_id, "Partner", "partnerId"),
                changes=ListingChanges(
                    published=input.published,
                    description=input.description,
                    website=input.website,
                    languages=input.languages,
                    regions=input.regions,
                    product_families=(
                        None
                        if input.product_families is None
                        else [f.value for f in input.product_families]
                    ),
                ),
            )
            return {"entry": DirectoryEntry.of(view)}

        return await _mutate(UpdateDirectoryListingPayload, run)

    @strawberry.mutation(
        description="Set which clients a collaborator of the partner acts for (a legal "
        "representative of the partner); applies from the collaborator's next request.",
        permission_classes=[IsPerson],
        deprecation_reason="Use setCollaboratorRights (clients and products).",
    )
    async def set_collaborator_clients(
        self, info: Info, input: SetCollaboratorClientsInput
    ) -> SetCollaboratorClientsPayload:
        async def run() -> dict[str, Any]:
            rights = await program_cases.set_collaborator_clients(
                info.context,
                organization_id=_org(input.organization_id),
                user_id=decode_id(input.user_id, "User", "userId"),
                all_clients=input.all_clients,
                client_grant_ids=[
                    decode_id(c, "Client", "clientIds") for c in input.client_ids or []
                ],
            )
            return {"rights": CollaboratorRights.of(rights)}

        return await _mutate(SetCollaboratorClientsPayload, run)

    @strawberry.mutation(
        description="Set the clients a collaborator of the partner acts for and, on each, "
        "every product the grant covers or a chosen few (a legal representative of the "
        "partner); applies from the collaborator's next request, ends with the grant.",
        permission_classes=[IsPerson],
    )
    async def set_collaborator_rights(
        self, info: Info, input: SetCollaboratorRightsInput
    ) -> SetCollaboratorRightsPayload:
        async def run() -> dict[str, Any]:
            rights = await collaborator_cases.set_collaborator_rights(
                info.context,
                membership_id=decode_id(input.member_id, "Member", "memberId"),
                all_clients=input.all_clients,
                clients=[
                    collaborator_cases.ClientRightsRequest(
                        client_grant_id=decode_id(c.client_id, "Client", "clients"),
                        all_products=c.all_products,
                        product_ids=frozenset(
                            decode_id(p, "Product", "clients") for p in c.product_ids
                        ),
                    )
                    for c in input.clients
                ],
            )
            return {"rights": CollaboratorRights.of(rights)}

        return await _mutate(SetCollaboratorRightsPayload, run)

    @strawberry.mutation(
        description="Grant the provider's support staff a read-only access for at most 72 "
        "hours (a legal representative); it ends by itself.",
        permission_classes=[IsPerson],
    )
    async def grant_support_access(
        self, info: Info, input: GrantSupportAccessInput
    ) -> SupportAccessPayload:
        async def run() -> dict[str, Any]:
            row = await support_cases.grant_support_access(
                info.context,
                organization_id=_org(input.organization_id),
                duration_hours=input.duration_hours,
                reason=input.reason,
            )
            return {"support_access": SupportAccess.of(row)}

        return await _mutate(SupportAccessPayload, run)

    @strawberry.mutation(
        description="End a support access now (a legal representative).",
        permission_classes=[IsPerson],
    )
    async def revoke_support_access(
        self, info: Info, input: RevokeSupportAccessInput
    ) -> SupportAccessPayload:
        async def run() -> dict[str, Any]:
            row = await support_cases.revoke_support_access(
                info.context,
                access_id=decode_id(input.support_access_id, "SupportAccess", "supportAccessId"),
            )
            return {"support_access": SupportAccess.of(row)}

        return await _mutate(SupportAccessPayload, run)

    @strawberry.mutation(
        description="Refused, always: an end customer and its backups never move between "
        "two Swiss Backup accounts (BACKUP_MOVE_NOT_SUPPORTED).",
        permission_classes=[IsAuthenticated],
    )
    async def move_backup_customer(
        self, info: Info, input: MoveBackupCustomerInput
    ) -> MoveBackupCustomerPayload:
        async def run() -> dict[str, Any]:
            row = await support_cases.move_backup_customer(
                info.context,
                customer_id=decode_id(input.customer_id, "BackupCustomer", "customerId"),
                target_account_id=decode_id(
                    input.target_account_id, "BackupAccount", "targetAccountId"
                ),
            )
            return {"customer": BackupCustomer.of(row)}

        return await _mutate(MoveBackupCustomerPayload, run)
