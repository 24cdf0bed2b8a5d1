"""Live integration events over graphql-transport-ws (bearer token in connection_init).

Each event is checked for each subscriber when it is sent (resolvers.subscriptions);
revoking the token or the session ends the subscription with UNAUTHENTICATED.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError
from strawberry import relay

from domain.access import BILLING_ROLES, can_see_grant
from domain.integration_events import GRANT_KINDS
from domain.integration_events import EventKind as EventKindEnum
from resolvers.errors import UseCaseError
from resolvers.loaders.bids import BidLoaders
from resolvers.subscriptions.streams import Wanted, event_stream
from schema.bids import Bid
from schema.context import Info
from schema.ids import decode_id
from schema.types import Grant
from schema.webhooks import EventKind, IntegrationEvent


def _error(error: UseCaseError) -> GraphQLError:
    return GraphQLError(error.message, extensions={"code": error.code})


def _not_found(field: str) -> GraphQLError:
    return GraphQLError("Not found.", extensions={"code": "NOT_FOUND", "field": field})


@strawberry.type(description="Live events; authenticate with `Authorization` in connection_init.")
class Subscription:
    @strawberry.subscription(
        description="Integration events of your organizations, as they commit (`kinds`: only "
        "those)."
    )
    async def events(
        self, info: Info, kinds: list[EventKind] | None = None
    ) -> AsyncGenerator[IntegrationEvent, None]:
        wanted = Wanted(
            kinds=None if kinds is None else frozenset(EventKindEnum(k).value for k in kinds)
        )
        try:
            async for event in event_stream(info.context, info.context.subscription_token, wanted):
                yield IntegrationEvent.of(event)
        except UseCaseError as error:
            raise _error(error) from error

    @strawberry.subscription(description="The grant, each time it changes (either side).")
    async def grant_changed(
        self, info: Info, grant_id: relay.GlobalID
    ) -> AsyncGenerator[Grant, None]:
        ctx = info.context
        pk = decode_id(grant_id, "Grant", "grantId")
        facts = await ctx.loaders.grant_facts.load(pk)
        if facts is None or not can_see_grant(ctx.viewer, facts):
            raise _not_found("grantId")
        wanted = Wanted(
            kinds=frozenset(k.value for k in GRANT_KINDS), subject_type="Grant", subject_id=pk
        )
        seen: set[str] = set()
        try:
            async for event in event_stream(ctx, ctx.subscription_token, wanted):
                if event.event_key in seen:  # a member of both sides: one change, once
                    continue
                seen.add(event.event_key)
                row = await ctx.loaders.grant.load(pk)
                if row is not None:
                    yield Grant.of(row)
        except UseCaseError as error:
            raise _error(error) from error

    @strawberry.subscription(
        description="Bids delivered to a partner you act for (legal representative or "
        "administrator), as they arrive."
    )
    async def bid_received(
        self, info: Info, partner_id: relay.GlobalID
    ) -> AsyncGenerator[Bid, None]:
        ctx = info.context
        pid = decode_id(partner_id, "Partner", "partnerId")
        partner = await ctx.loaders.partner.load(pid)
        if partner is None or ctx.viewer.role_in(partner.organization_id) not in BILLING_ROLES:
            raise _not_found("partnerId")
        wanted = Wanted(
            kinds=frozenset({EventKindEnum.BID_RECEIVED.value}),
            organization_id=partner.organization_id,
        )
        try:
            async for event in event_stream(ctx, ctx.subscription_token, wanted):
                row = await ctx.loader_set(BidLoaders).bid.load(event.subject_id)
                if row is not None:
                    yield Bid.of(row, as_author=False, as_partner_id=pid)
        except UseCaseError as error:
            raise _error(error) from error
