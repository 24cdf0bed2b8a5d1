"""Swiss Backup accounts and their end customers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from sqlalchemy import select
from strawberry import relay

from db import models
from resolvers import support as support_cases
from schema.base import (
    After,
    Before,
    Connection,
    First,
    Last,
    UserError,
    page_request,
    to_connection,
)
from schema.context import Info
from schema.ids import primary_keys
from schema.program.common import _query


@strawberry.type(description="An end customer in a Swiss Backup account.")
class BackupCustomer(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="The end customer's name.")
    created_at: datetime = strawberry.field(description="When it was added.")

    @classmethod
    def of(cls, row: models.BackupCustomer) -> BackupCustomer:
        return cls(id=row.id, name=row.name, created_at=row.created_at)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[BackupCustomer | None]:
        ids = primary_keys(node_ids)
        async with info.context.services.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(models.BackupCustomer, models.BackupAccount)
                    .join(
                        models.BackupAccount,
                        models.BackupAccount.id == models.BackupCustomer.account_id,
                    )
                    .where(models.BackupCustomer.id.in_([i for i in ids if i is not None]))
                )
            ).all()
        found: dict[int, BackupCustomer] = {}
        for customer, account in rows:
            if await support_cases.can_read_backup_account(info.context, account):
                found[customer.id] = cls.of(customer)
        return [found.get(i) if i is not None else None for i in ids]


@strawberry.type(description="A Swiss Backup account; its end customers never change account.")
class BackupAccount(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="The account's name.")
    created_at: datetime = strawberry.field(description="When it was opened.")

    @classmethod
    def of(cls, row: models.BackupAccount) -> BackupAccount:
        return cls(id=row.id, name=row.name, created_at=row.created_at)

    @strawberry.field(description="The account's end customers.")
    async def customers(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[BackupCustomer]:
        async def run() -> Connection[BackupCustomer]:
            page = await support_cases.list_backup_customers(
                info.context, self.id, page_request(info, first, after, last, before)
            )
            return to_connection(page, BackupCustomer.of)

        return await _query(run)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[BackupAccount | None]:
        ids = primary_keys(node_ids)
        async with info.context.services.sessionmaker() as session:
            rows = list(
                await session.scalars(
                    select(models.BackupAccount).where(
                        models.BackupAccount.id.in_([i for i in ids if i is not None])
                    )
                )
            )
        found: dict[int, BackupAccount] = {}
        for row in rows:
            if await support_cases.can_read_backup_account(info.context, row):
                found[row.id] = cls.of(row)
        return [found.get(i) if i is not None else None for i in ids]


@strawberry.input(description="Move an end customer to another Swiss Backup account.")
class MoveBackupCustomerInput:
    customer_id: relay.GlobalID = strawberry.field(description="The end customer.")
    target_account_id: relay.GlobalID = strawberry.field(description="The other account.")


@strawberry.type(description="Always refused: BACKUP_MOVE_NOT_SUPPORTED.")
class MoveBackupCustomerPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing happened.")
    customer: BackupCustomer | None = strawberry.field(default=None, description="Never set.")
