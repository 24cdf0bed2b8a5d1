"""Invoices of orders: lines that sum to the amount due, each paying organization's
sequential numbers, and the write lock an order takes first."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Invoice, InvoiceCounter
from domain import pricing


def _percent(rate: Decimal) -> str:
    return f"{format((rate * 100).normalize(), 'f')} %"


def invoice_lines(q: pricing.Quote, *, description: str) -> list[tuple[str, int, Decimal, Decimal]]:
    """(description, quantity, unit price, amount) lines that sum to the amount due exactly:
    the list price, then the partner discount (if applied) and the decreasing rate, in the
    guides' order."""
    lines = [(description, q.quantity, q.unit_list_price.amount, q.list_total.amount)]
    rate = f"Decreasing rate {_percent(q.decreasing_rate)} for {q.quantity} units"
    if q.partner_discount_applies:
        discount = q.after_partner_discount.amount - q.list_total.amount
        if discount:
            lines.append(
                (f"Partner discount {_percent(q.partner_discount_rate)}", 1, discount, discount)
            )
        decrease = q.partner_price.amount - q.after_partner_discount.amount
    else:
        decrease = q.public_price.amount - q.list_total.amount
    if decrease:
        lines.append((rate, 1, decrease, decrease))
    assert sum(line[3] for line in lines) == q.amount_due.amount
    return lines


def invoice_number(organization_id: int, sequence: int) -> str:
    return f"{organization_id:04d}-{sequence:06d}"


async def next_invoice_sequence(session: AsyncSession, organization_id: int) -> int:
    """The organization's next invoice sequence, in the caller's transaction.

    The counter row is created on first use from the highest sequence already issued, then
    incremented with UPDATE ... RETURNING, which locks it until the transaction ends: two
    orders of one organization get consecutive numbers, and a rolled-back order leaves no
    gap (SQLite: the database write lock; PostgreSQL: the row lock).
    """
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    start = (
        select(func.coalesce(func.max(Invoice.sequence), 0))
        .where(Invoice.organization_id == organization_id)
        .scalar_subquery()
    )
    await session.execute(
        insert(InvoiceCounter)
        .values(organization_id=organization_id, last_sequence=start)
        .on_conflict_do_nothing(index_elements=["organization_id"])
    )
    result = await session.execute(
        update(InvoiceCounter)
        .where(InvoiceCounter.organization_id == organization_id)
        .values(last_sequence=InvoiceCounter.last_sequence + 1)
        .returning(InvoiceCounter.last_sequence)
        .execution_options(synchronize_session=False)
    )
    return int(result.scalar_one())


async def _take_write_lock(session: AsyncSession) -> None:
    """SQLite opens transactions lazily (DEFERRED): write first, so that what the order
    reads cannot change before it commits. PostgreSQL locks the rows it reads instead."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(
            update(InvoiceCounter)
            .where(InvoiceCounter.organization_id == -1)
            .values(last_sequence=InvoiceCounter.last_sequence)
            .execution_options(synchronize_session=False)
        )
