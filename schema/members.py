"""Member mutations: invite, accept, resend, cancel, change role, remove, leave."""

from __future__ import annotations

import strawberry

from db import models
from domain.enums import Role as RoleEnum
from resolvers.members import invitations, membership, queries
from resolvers.members.queries import MemberRow
from schema.base import Role, UserError, mutate
from schema.context import Info
from schema.ids import decode_id, encode_id
from schema.permissions import IsPerson
from schema.types import User
from schema.types.member import Member, MemberInvitation


@strawberry.input(description="Invite a person by email into an organization with a role.")
class InviteMemberInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    email: str = strawberry.field(description="The person's email.")
    role: Role = strawberry.field(
        description="Its role; administrators invite COLLABORATOR or EXTERNAL only."
    )


@strawberry.type(description="The invitation (pending, its link emailed).")
class MemberInvitationPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    invitation: MemberInvitation | None = strawberry.field(
        default=None, description="The invitation."
    )


@strawberry.input(description="A member invitation.")
class MemberInvitationInput:
    id: strawberry.ID = strawberry.field(description="A `MemberInvitation` ID.")


@strawberry.input(
    description="Accept through the emailed link. Without an account yet, give a name and "
    "a password to create it."
)
class AcceptMemberInvitationInput:
    token: str = strawberry.field(description="The token of the invitation link.")
    full_name: str | None = strawberry.field(default=None, description="For a new account.")
    password: str | None = strawberry.field(default=None, description="For a new account.")


@strawberry.type(description="Joined; logged in with `token`.")
class AcceptMemberInvitationPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    token: str | None = strawberry.field(default=None, description="A session token.")
    user: User | None = strawberry.field(default=None, description="The person.")
    member: Member | None = strawberry.field(default=None, description="Its membership.")


@strawberry.input(description="A member's new role.")
class ChangeMemberRoleInput:
    member_id: strawberry.ID = strawberry.field(description="A `Member` ID.")
    role: Role = strawberry.field(description="The new role.")


@strawberry.type(description="The member, as it is now.")
class MemberPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    member: Member | None = strawberry.field(default=None, description="The member.")


@strawberry.input(description="The member to remove.")
class RemoveMemberInput:
    member_id: strawberry.ID = strawberry.field(description="A `Member` ID.")


@strawberry.input(description="The organization to leave.")
class LeaveOrganizationInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")


@strawberry.type(description="The membership ended; its ID no longer resolves.")
class MembershipEndedPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    member_id: strawberry.ID | None = strawberry.field(
        default=None, description="The ended membership's ID."
    )


async def _member(info: Info, membership_id: int) -> Member | None:
    rows = await queries.member_rows(info.context, [membership_id])
    return Member.of(rows[0]) if rows else None


def _invitation(info: Info, row: models.MemberInvitation) -> dict[str, object]:
    return {"invitation": MemberInvitation.of(row, info)}


@strawberry.type
class MemberMutations:
    @strawberry.mutation(
        description="Invite a person by email with a role (7 days).", permission_classes=[IsPerson]
    )
    async def invite_member(self, info: Info, input: InviteMemberInput) -> MemberInvitationPayload:
        async def run() -> dict[str, object]:
            row = await invitations.invite_member(
                info.context,
                organization_id=decode_id(input.organization_id, "Organization", "organizationId"),
                email=input.email,
                role=RoleEnum(input.role),
            )
            return _invitation(info, row)

        return await mutate(MemberInvitationPayload, run)

    @strawberry.mutation(
        description="Send the invitation again: a new link, 7 more days.",
        permission_classes=[IsPerson],
    )
    async def resend_member_invitation(
        self, info: Info, input: MemberInvitationInput
    ) -> MemberInvitationPayload:
        async def run() -> dict[str, object]:
            row = await invitations.resend_member_invitation(
                info.context, invitation_id=decode_id(input.id, "MemberInvitation", "id")
            )
            return _invitation(info, row)

        return await mutate(MemberInvitationPayload, run)

    @strawberry.mutation(
        description="Cancel a pending invitation: its link stops working.",
        permission_classes=[IsPerson],
    )
    async def cancel_member_invitation(
        self, info: Info, input: MemberInvitationInput
    ) -> MemberInvitationPayload:
        async def run() -> dict[str, object]:
            row = await invitations.cancel_member_invitation(
                info.context, invitation_id=decode_id(input.id, "MemberInvitation", "id")
            )
            return _invitation(info, row)

        return await mutate(MemberInvitationPayload, run)

    @strawberry.mutation(
        description="Join through the emailed link, once; creates the account if needed and "
        "logs in."
    )
    async def accept_member_invitation(
        self, info: Info, input: AcceptMemberInvitationInput
    ) -> AcceptMemberInvitationPayload:
        async def run() -> dict[str, object]:
            signed_in, joined = await invitations.accept_member_invitation(
                info.context,
                token=input.token,
                full_name=input.full_name,
                password=input.password,
            )
            row = MemberRow(
                id=joined.id,
                organization_id=joined.organization_id,
                user_id=joined.user_id,
                role=joined.role,
                since=joined.created_at,
                email=signed_in.user.email,
                full_name=signed_in.user.full_name,
                last_activity_at=None,
            )
            return {
                "token": signed_in.token,
                "user": User.of(signed_in.user),
                "member": Member.of(row),
            }

        return await mutate(AcceptMemberInvitationPayload, run)

    @strawberry.mutation(
        description="Change a member's role (legal representatives); applies on its next request.",
        permission_classes=[IsPerson],
    )
    async def change_member_role(self, info: Info, input: ChangeMemberRoleInput) -> MemberPayload:
        async def run() -> dict[str, object]:
            row = await membership.change_member_role(
                info.context,
                membership_id=decode_id(input.member_id, "Member", "memberId"),
                role=RoleEnum(input.role),
            )
            return {"member": await _member(info, row.id)}

        return await mutate(MemberPayload, run)

    @strawberry.mutation(
        description="Remove a member (legal representatives); applies on its next request.",
        permission_classes=[IsPerson],
    )
    async def remove_member(self, info: Info, input: RemoveMemberInput) -> MembershipEndedPayload:
        async def run() -> dict[str, object]:
            await membership.remove_member(
                info.context, membership_id=decode_id(input.member_id, "Member", "memberId")
            )
            return {"member_id": input.member_id}

        return await mutate(MembershipEndedPayload, run)

    @strawberry.mutation(
        description="Leave an organization (not as its last legal representative).",
        permission_classes=[IsPerson],
    )
    async def leave_organization(
        self, info: Info, input: LeaveOrganizationInput
    ) -> MembershipEndedPayload:
        async def run() -> dict[str, object]:
            row = await membership.leave_organization(
                info.context,
                organization_id=decode_id(input.organization_id, "Organization", "organizationId"),
            )
            return {"member_id": strawberry.ID(encode_id("Member", row.id))}

        return await mutate(MembershipEndedPayload, run)
