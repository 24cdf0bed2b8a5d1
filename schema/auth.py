"""Login and API tokens (sign-up, verification, sessions: `schema.accounts`).

Input IDs are plain `ID`s decoded by `schema.ids.decode_id` inside the mutation, so a
malformed or foreign ID answers a `userErrors` entry (INVALID_ID), not a request error.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from db import models
from resolvers import auth
from schema.base import ApiTokenAccess, UserError, mutate
from schema.context import Info
from schema.ids import decode_id, primary_keys
from schema.permissions import IsAuthenticated, IsPerson
from schema.types import User


@strawberry.type(description="A login: send `token` as `Authorization: Bearer <token>`.")
class AuthPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    token: str | None = strawberry.field(default=None, description="The bearer token.")
    expires_at: datetime | None = strawberry.field(default=None, description="Its expiry.")
    user: User | None = strawberry.field(default=None, description="The person logged in.")


@strawberry.input(description="Credentials.")
class LoginInput:
    email: str = strawberry.field(description="Login email.")
    password: str = strawberry.field(description="Password.")


@strawberry.type(description="A named credential for a partner integration.")
class ApiToken(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="A label.")
    prefix: str = strawberry.field(description="The secret's first characters.")
    access: ApiTokenAccess = strawberry.field(description="Read, or read and write.")
    created_at: datetime = strawberry.field(description="Created at.")
    expires_at: datetime | None = strawberry.field(description="Expiry, if any.")
    revoked_at: datetime | None = strawberry.field(description="Revocation, if revoked.")

    @classmethod
    def of(cls, row: models.ApiToken) -> ApiToken:
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            access=row.access,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[ApiToken | None]:
        ids = primary_keys(node_ids)
        rows = await auth.visible_api_tokens(info.context, [i for i in ids if i is not None])
        return [cls.of(rows[i]) if i in rows else None for i in ids]


@strawberry.input(description="A new API token acting for one organization.")
class CreateApiTokenInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    name: str = strawberry.field(description="A label, at most 100 characters.")
    access: ApiTokenAccess = strawberry.field(description="Read, or read and write.")
    expires_at: datetime | None = strawberry.field(default=None, description="Optional expiry.")


@strawberry.type(description="A new API token; `secret` is shown this once only.")
class CreateApiTokenPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    api_token: ApiToken | None = strawberry.field(default=None, description="The token.")
    secret: str | None = strawberry.field(default=None, description="Shown once.")


@strawberry.input(description="The API token to revoke.")
class RevokeApiTokenInput:
    id: strawberry.ID = strawberry.field(description="The token.")


@strawberry.type(description="The revoked token.")
class RevokeApiTokenPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    api_token: ApiToken | None = strawberry.field(default=None, description="The token.")


@strawberry.type
class AuthMutations:
    @strawberry.mutation(description="Log in. A wrong email and a wrong password answer alike.")
    async def login(self, info: Info, input: LoginInput) -> AuthPayload:
        async def run() -> dict[str, object]:
            done = await auth.login(info.context, email=input.email, password=input.password)
            return {"token": done.token, "expires_at": done.expires_at, "user": User.of(done.user)}

        return await mutate(AuthPayload, run)

    @strawberry.mutation(
        description="Create an API token (legal representatives).", permission_classes=[IsPerson]
    )
    async def create_api_token(
        self, info: Info, input: CreateApiTokenInput
    ) -> CreateApiTokenPayload:
        async def run() -> dict[str, object]:
            created = await auth.create_api_token(
                info.context,
                organization_id=decode_id(input.organization_id, "Organization", "organizationId"),
                name=input.name,
                access=input.access,
                expires_at=input.expires_at,
            )
            return {"api_token": ApiToken.of(created.token), "secret": created.secret}

        return await mutate(CreateApiTokenPayload, run)

    @strawberry.mutation(description="Revoke an API token.", permission_classes=[IsPerson])
    async def revoke_api_token(
        self, info: Info, input: RevokeApiTokenInput
    ) -> RevokeApiTokenPayload:
        async def run() -> dict[str, object]:
            token = await auth.revoke_api_token(
                info.context, token_id=decode_id(input.id, "ApiToken", "id")
            )
            return {"api_token": ApiToken.of(token)}

        return await mutate(RevokeApiTokenPayload, run)


__all__ = ["AuthMutations", "IsAuthenticated"]
