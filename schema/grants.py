"""Partnership mutations: invite, accept, refuse, resend, cancel, edit, pay, stop.

Input IDs are plain `ID`s decoded by `schema.ids.decode_id` inside the mutation, so a
malformed or foreign ID answers a `userErrors` entry (INVALID_ID), not a request error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import strawberry

from db import models
from domain.grants import Access, Term
from resolvers import grants as use_cases
from schema.base import AccessLevel, PaymentMethods, ProductFamily, UserError, mutate
from schema.context import Info
from schema.ids import decode_id
from schema.permissions import IsAuthenticated, IsPerson
from schema.types import Grant


@strawberry.input(
    description="An access level with its products (LIMITED) or payment methods (FULL)."
)
class AccessInput:
    level: AccessLevel = strawberry.field(description="LIMITED or FULL.")
    payment_methods: PaymentMethods | None = strawberry.field(
        default=None, description="FULL only: whose wallet pays."
    )
    product_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="LIMITED, set by a client: the products granted."
    )
    product_families: list[ProductFamily] | None = strawberry.field(
        default=None,
        description="LIMITED, asked by a partner (which cannot see the products yet).",
    )

    def to_domain(self) -> Access:
        return Access(
            level=self.level,
            payment_methods=self.payment_methods,
            product_ids=frozenset(
                decode_id(p, "Product", "access.productIds") for p in self.product_ids or []
            ),
            families=frozenset(f.value for f in self.product_families or []),
        )


@strawberry.input(
    description="Invite: as a partner, a client by email; as a client, a partner by its ID."
)
class InviteInput:
    organization_id: strawberry.ID = strawberry.field(description="The inviting organization.")
    client_email: str | None = strawberry.field(
        default=None, description="As a partner: the client's email (it may have no account)."
    )
    partner_id: strawberry.ID | None = strawberry.field(
        default=None, description="As a client: the partner, found with `partners(search:)`."
    )
    access: AccessInput = strawberry.field(description="Asked for (partner) or granted (client).")
    message: str | None = strawberry.field(default=None, description="A note, max 1000 chars.")
    ends_at: datetime | None = strawberry.field(
        default=None,
        description="The client only: when the grant ends by itself (it becomes EXPIRED).",
    )
    renews_automatically: bool | None = strawberry.field(
        default=None, description="The client only: at the end, renew for the same length."
    )


@strawberry.input(description="Accept an invitation, by its grant ID or its emailed token.")
class AcceptInput:
    grant_id: strawberry.ID | None = strawberry.field(default=None, description="The grant.")
    token: str | None = strawberry.field(default=None, description="The invitation token.")
    organization_id: strawberry.ID | None = strawberry.field(
        default=None, description="The client organization accepting an invitation sent by email."
    )
    access: AccessInput | None = strawberry.field(
        default=None, description="A client may grant other rights than those requested."
    )
    ends_at: datetime | None = strawberry.field(
        default=None,
        description="The client only: when the grant ends by itself (it becomes EXPIRED).",
    )
    renews_automatically: bool | None = strawberry.field(
        default=None, description="The client only: at the end, renew for the same length."
    )


@strawberry.input(description="Refuse an invitation.")
class RefuseInput:
    grant_id: strawberry.ID | None = strawberry.field(default=None, description="The grant.")
    token: str | None = strawberry.field(default=None, description="The invitation token.")


@strawberry.input(description="A pending invitation of the inviting side.")
class InvitationInput:
    grant_id: strawberry.ID = strawberry.field(description="The grant.")


@strawberry.input(description="New access for an active grant (client side).")
class EditAccessInput:
    grant_id: strawberry.ID = strawberry.field(description="The grant.")
    access: AccessInput = strawberry.field(description="The new access.")
    ends_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="A new end; null: none; omitted: unchanged.",
    )
    renews_automatically: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Renew at the end; omitted: unchanged."
    )


@strawberry.input(description="Whose wallet pays under an active FULL grant (client side).")
class ChangePaymentMethodsInput:
    grant_id: strawberry.ID = strawberry.field(description="The grant.")
    payment_methods: PaymentMethods = strawberry.field(description="CLIENT or PARTNER.")


@strawberry.input(description="End a partnership; re-enter your password.")
class StopCollaborationInput:
    grant_id: strawberry.ID = strawberry.field(description="The grant.")
    password: str = strawberry.field(description="Your password.")


@strawberry.type(description="The grant after the mutation, or why nothing happened.")
class GrantPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    grant: Grant | None = strawberry.field(default=None, description="The grant.")


def _term(ends_at: datetime | None, renews: bool | None) -> Term:
    return Term(ends_at=ends_at, renews_automatically=bool(renews))


def _grant_id(value: strawberry.ID | None) -> int | None:
    return None if value is None else decode_id(value, "Grant", "grantId")


async def _run(action: Callable[[], Awaitable[models.Grant]]) -> GrantPayload:
    async def run() -> dict[str, object]:
        return {"grant": Grant.of(await action())}

    return await mutate(GrantPayload, run)


@strawberry.type
class GrantMutations:
    @strawberry.mutation(
        description="Invite a client (as a partner) or a partner (as a client). Legal "
        "representatives only; the invited side is emailed.",
        permission_classes=[IsAuthenticated],
    )
    async def invite(self, info: Info, input: InviteInput) -> GrantPayload:
        return await _run(
            lambda: use_cases.invite(
                info.context,
                organization_id=decode_id(input.organization_id, "Organization", "organizationId"),
                target=use_cases.InviteTarget(
                    client_email=input.client_email,
                    partner_id=None
                    if input.partner_id is None
                    else decode_id(input.partner_id, "Partner", "partnerId"),
                ),
                access=input.access.to_domain(),
                message=input.message,
                term=_term(input.ends_at, input.renews_automatically),
            )
        )

    @strawberry.mutation(
        description="Accept an invitation (the invited side's legal representative).",
        permission_classes=[IsAuthenticated],
    )
    async def accept(self, info: Info, input: AcceptInput) -> GrantPayload:
        return await _run(
            lambda: use_cases.accept(
                info.context,
                grant_id=_grant_id(input.grant_id),
                token=input.token,
                organization_id=None
                if input.organization_id is None
                else decode_id(input.organization_id, "Organization", "organizationId"),
                access=None if input.access is None else input.access.to_domain(),
                term=_term(input.ends_at, input.renews_automatically),
            )
        )

    @strawberry.mutation(
        description="Refuse an invitation (the invited side).", permission_classes=[IsAuthenticated]
    )
    async def refuse(self, info: Info, input: RefuseInput) -> GrantPayload:
        return await _run(
            lambda: use_cases.refuse(
                info.context, grant_id=_grant_id(input.grant_id) or 0, token=input.token
            )
        )

    @strawberry.mutation(
        description="Send a pending invitation again, with a fresh link and expiry.",
        permission_classes=[IsAuthenticated],
    )
    async def resend_invitation(self, info: Info, input: InvitationInput) -> GrantPayload:
        return await _run(
            lambda: use_cases.resend_invitation(
                info.context, grant_id=decode_id(input.grant_id, "Grant", "grantId")
            )
        )

    @strawberry.mutation(
        description="Cancel a pending invitation (the inviting side).",
        permission_classes=[IsAuthenticated],
    )
    async def cancel_invitation(self, info: Info, input: InvitationInput) -> GrantPayload:
        return await _run(
            lambda: use_cases.cancel_invitation(
                info.context, grant_id=decode_id(input.grant_id, "Grant", "grantId")
            )
        )

    @strawberry.mutation(
        description="Change the level and products of an active grant (the client); the "
        "partner loses removed products at once and is emailed.",
        permission_classes=[IsAuthenticated],
    )
    async def edit_access(self, info: Info, input: EditAccessInput) -> GrantPayload:
        return await _run(
            lambda: use_cases.edit_access(
                info.context,
                grant_id=decode_id(input.grant_id, "Grant", "grantId"),
                access=input.access.to_domain(),
                ends_at=use_cases.KEEP if input.ends_at is strawberry.UNSET else input.ends_at,
                renews_automatically=None
                if input.renews_automatically is strawberry.UNSET
                else input.renews_automatically,
            )
        )

    @strawberry.mutation(
        description="Choose whose wallet pays under a FULL grant (the client).",
        permission_classes=[IsAuthenticated],
    )
    async def change_payment_methods(
        self, info: Info, input: ChangePaymentMethodsInput
    ) -> GrantPayload:
        return await _run(
            lambda: use_cases.change_payment_methods(
                info.context,
                grant_id=decode_id(input.grant_id, "Grant", "grantId"),
                payment_methods=input.payment_methods,
            )
        )

    @strawberry.mutation(
        description="End a partnership (either side, re-entering the password); the partner "
        "loses all access at once.",
        permission_classes=[IsPerson],
    )
    async def stop_collaboration(self, info: Info, input: StopCollaborationInput) -> GrantPayload:
        return await _run(
            lambda: use_cases.stop_collaboration(
                info.context,
                grant_id=decode_id(input.grant_id, "Grant", "grantId"),
                password=input.password,
            )
        )
