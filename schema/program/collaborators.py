"""The clients a partner's collaborators act for."""

from __future__ import annotations

import strawberry
from strawberry import relay

from schema.base import UserError


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


@strawberry.type(description="A collaborator's rights after the change.")
class CollaboratorRights:
    user_id: relay.GlobalID = strawberry.field(description="The collaborator.")
    all_clients: bool = strawberry.field(description="Acts for every client.")
    client_ids: list[relay.GlobalID] = strawberry.field(
        description="The Client IDs it acts for (every live client when allClients)."
    )


@strawberry.type(description="The collaborator's rights, or why nothing changed.")
class SetCollaboratorClientsPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    rights: CollaboratorRights | None = strawberry.field(default=None, description="The rights.")
