"""The clients, and on each the products, a partner's collaborators act for."""

from __future__ import annotations

import strawberry
from strawberry import relay

from schema.base import UserError
from schema.types.collaborator_rights import CollaboratorRights


@strawberry.input(description="The clients a partner's collaborator may act for.")
class SetCollaboratorClientsInput:
    organization_id: relay.GlobalID = strawberry.field(description="The partner organization.")
    user_id: relay.GlobalID = strawberry.field(description="The collaborator (a User).")
    all_clients: bool = strawberry.field(
        default=False, description="Act for every client, present and future."
    )
    client_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None,
        description="Otherwise these clients (Client IDs from `Partner.clients`); empty: none.",
    )


@strawberry.input(description="One client a collaborator acts for, and its products there.")
class CollaboratorClientRightsInput:
    client_id: relay.GlobalID = strawberry.field(description="A Client (`Partner.clients`).")
    all_products: bool = strawberry.field(
        default=True, description="Every product the grant covers, now and later."
    )
    product_ids: list[relay.GlobalID] = strawberry.field(
        default_factory=list,
        description="Otherwise these products, each covered by the grant.",
    )


@strawberry.input(description="A collaborator's rights, per client and per product.")
class SetCollaboratorRightsInput:
    member_id: relay.GlobalID = strawberry.field(description="The collaborator (a Member).")
    all_clients: bool = strawberry.field(
        default=False, description="Act for every client and all their products."
    )
    clients: list[CollaboratorClientRightsInput] = strawberry.field(
        default_factory=list, description="Otherwise these clients; empty: none."
    )


@strawberry.type(description="The collaborator's rights, or why nothing changed.")
class SetCollaboratorRightsPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    rights: CollaboratorRights | None = strawberry.field(default=None, description="The rights.")


@strawberry.type(description="The collaborator's rights, or why nothing changed.")
class SetCollaboratorClientsPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    rights: CollaboratorRights | None = strawberry.field(default=None, description="The rights.")
