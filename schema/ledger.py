"""A partner's prepaid account: its balance and its ledger entries (cashback credits).

Reached through the root field ``prepaidAccount(organizationId:)``; only the billing
members (legal representatives, administrators) of the partner organization may read it:
anyone else gets null with ``extensions.code`` FORBIDDEN.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry import relay

from db.models.ledger import JournalEntryKind
from domain.errors import DomainError
from resolvers import ledger as use_cases
from schema.base import (
    After,
    Before,
    Connection,
    Currency,
    First,
    Last,
    Money,
    page_request,
    to_connection,
)
from schema.context import Info
from schema.ids import decode_id, primary_keys
from schema.permissions import Forbidden, IsAuthenticated

# Registered once with Strawberry (it marks the class), as schema/base.py does.
strawberry.enum(
    JournalEntryKind,
    name="LedgerEntryKind",
    description="Why a ledger entry was written: a cashback credit, or a correction.",
)


def _as_graphql_error(error: DomainError) -> GraphQLError:
    return GraphQLError(error.message, extensions={"code": error.code, "field": error.field})


def _organization_id(value: relay.GlobalID | str) -> int:
    return decode_id(value, "Organization", "organizationId")


class ReadsPrepaidAccount(Forbidden):
    """A partner's prepaid account: the billing members of that organization only."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        try:
            organization_id = _organization_id(kwargs["organization_id"])
        except (DomainError, KeyError):
            return False  # a malformed ID reveals nothing more than a foreign one
        return use_cases.may_read_prepaid_account(info.context, organization_id)


@strawberry.type(
    description="One entry of a partner's prepaid account: a cashback credit (with the "
    "order it came from) or a correction. Entries are never edited; a mistake is undone "
    "by a correction entry."
)
class LedgerEntry(relay.Node):
    id: relay.NodeID[int]
    kind: JournalEntryKind = strawberry.field(description="Cashback credit or correction.")
    created_at: datetime = strawberry.field(description="When it was written (UTC).")
    memo: str = strawberry.field(description="What it is for.")
    amount: Money = strawberry.field(
        description="Its effect on the prepaid balance: positive when credited to the "
        "partner, negative when a correction takes it back."
    )
    order_id: relay.GlobalID | None = strawberry.field(
        description="The order (or renewal) whose cashback this is, if any."
    )
    client_name: str | None = strawberry.field(
        description="The client organization whose order earned the cashback."
    )
    corrects_entry_id: relay.GlobalID | None = strawberry.field(
        description="For a correction: the entry it reverses."
    )
    organization_id: strawberry.Private[int]

    @classmethod
    def of(cls, entry: use_cases.PrepaidEntry) -> LedgerEntry:
        return cls(
            id=entry.entry_id,
            kind=entry.kind,
            created_at=entry.created_at,
            memo=entry.memo,
            amount=Money(amount=entry.amount.amount, currency=entry.amount.currency),
            order_id=(
                relay.GlobalID("Order", str(entry.order_id)) if entry.order_id is not None else None
            ),
            client_name=entry.client_name,
            corrects_entry_id=(
                relay.GlobalID("LedgerEntry", str(entry.corrects_entry_id))
                if entry.corrects_entry_id is not None
                else None
            ),
            organization_id=entry.organization_id,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[LedgerEntry | None]:
        ids = primary_keys(node_ids)
        async with info.context.services.sessionmaker() as session:
            found = await use_cases.prepaid_entries_by_id(
                session, [i for i in ids if i is not None]
            )
        result: list[LedgerEntry | None] = []
        for i in ids:
            entry = found.get(i) if i is not None else None
            visible = entry is not None and use_cases.may_read_prepaid_account(
                info.context, entry.organization_id
            )
            result.append(cls.of(entry) if visible and entry is not None else None)
        return result


@strawberry.type(
    description="A partner's prepaid account in one currency. Its balance is computed from "
    "its entries on every read: it always equals their sum."
)
class PrepaidAccount:
    currency: Currency = strawberry.field(description="The account's currency.")
    organization_id: strawberry.Private[int]

    @strawberry.field(description="What the provider owes the partner: the sum of the entries.")
    async def balance(self, info: Info) -> Money:
        async with info.context.services.sessionmaker() as session:
            money = await use_cases.prepaid_balance(session, self.organization_id, self.currency)
        return Money(amount=money.amount, currency=money.currency)

    @strawberry.field(description="Currencies in which the partner has a prepaid account.")
    async def currencies(self, info: Info) -> list[Currency]:
        async with info.context.services.sessionmaker() as session:
            return await use_cases.prepaid_currencies(session, self.organization_id)

    @strawberry.field(
        description="The account's entries, oldest first; filter by client and by period "
        "(`from` inclusive, `to` exclusive)."
    )
    async def entries(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        client_id: Annotated[
            relay.GlobalID | None,
            strawberry.argument(description="A `Client` of this partner (its ID)."),
        ] = None,
        from_: Annotated[
            datetime | None,
            strawberry.argument(name="from", description="Entries written at or after this."),
        ] = None,
        to: Annotated[
            datetime | None,
            strawberry.argument(description="Entries written before this."),
        ] = None,
    ) -> Connection[LedgerEntry]:
        try:
            request = page_request(info, first, after, last, before)
            client_organization_id = None
            if client_id is not None:
                client_organization_id = await use_cases.client_of_partner(
                    info.context, self.organization_id, decode_id(client_id, "Client", "clientId")
                )
            async with info.context.services.sessionmaker() as session:
                page = await use_cases.list_prepaid_entries(
                    session,
                    self.organization_id,
                    self.currency,
                    request,
                    client_organization_id=client_organization_id,
                    since=from_,
                    until=to,
                )
        except DomainError as error:
            raise _as_graphql_error(error) from error
        return to_connection(page, LedgerEntry.of)


@strawberry.type
class LedgerQueries:
    @strawberry.field(
        description="A partner organization's prepaid account (cashback credits), for its "
        "billing members; null if the organization is not a partner. `currency` defaults "
        "to the organization's.",
        permission_classes=[IsAuthenticated, ReadsPrepaidAccount],
    )
    async def prepaid_account(
        self,
        info: Info,
        organization_id: Annotated[
            relay.GlobalID, strawberry.argument(description="The partner organization.")
        ],
        currency: Annotated[
            Currency | None, strawberry.argument(description="The account's currency.")
        ] = None,
    ) -> PrepaidAccount | None:
        try:
            view = await use_cases.prepaid_account(
                info.context, _organization_id(organization_id), currency
            )
        except DomainError as error:
            raise _as_graphql_error(error) from error
        if view is None:
            return None
        return PrepaidAccount(currency=view.currency, organization_id=view.organization_id)
