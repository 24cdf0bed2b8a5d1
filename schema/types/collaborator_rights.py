"""A collaborator's rights, as `setCollaboratorRights` and `Member.collaboratorRights`
answer them."""

from __future__ import annotations

import strawberry
from strawberry import relay

from resolvers.program import collaborators as cases


@strawberry.type(description="What a collaborator may do for one client.")
class CollaboratorClientRights:
    client_id: relay.GlobalID = strawberry.field(description="The Client.")
    all_products: bool = strawberry.field(
        description="Every product the grant covers (now and later)."
    )
    product_ids: list[relay.GlobalID] = strawberry.field(
        description="Otherwise only these products (Product IDs)."
    )


@strawberry.type(description="A collaborator's rights: the clients and, on each, the products.")
class CollaboratorRights:
    user_id: relay.GlobalID = strawberry.field(description="The collaborator.")
    member_id: relay.GlobalID = strawberry.field(description="Its membership (a Member).")
    all_clients: bool = strawberry.field(description="Acts for every client.")
    client_ids: list[relay.GlobalID] = strawberry.field(
        description="The Client IDs it acts for (every live client when allClients)."
    )
    clients: list[CollaboratorClientRights] = strawberry.field(
        description="Each live client it acts for, with its products."
    )

    @classmethod
    def of(cls, rights: cases.CollaboratorRights) -> CollaboratorRights:
        return cls(
            user_id=relay.GlobalID("User", str(rights.user_id)),
            member_id=relay.GlobalID("Member", str(rights.membership_id)),
            all_clients=rights.all_clients,
            client_ids=[relay.GlobalID("Client", str(g)) for g in rights.client_grant_ids],
            clients=[
                CollaboratorClientRights(
                    client_id=relay.GlobalID("Client", str(c.client_grant_id)),
                    all_products=c.product_ids is None,
                    product_ids=[
                        relay.GlobalID("Product", str(p)) for p in sorted(c.product_ids or ())
                    ],
                )
                for c in rights.clients
            ],
        )
