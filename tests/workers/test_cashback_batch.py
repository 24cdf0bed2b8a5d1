"""credit_cashback in batches (``workers.outbox_batch``): one message credits its row and
other pending ones in one transaction, each exactly once (SQLite file, in-process)."""

from __future__ import annotations

from typing import Any

import dramatiq
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.metrics import JOBS
from db.models import JournalEntry, OutboxMessage
from db.session import make_engine, make_sessionmaker, transaction
from domain.money import Money
from resolvers import ledger
from resolvers.events import emit
from tests.workers.test_cashback import drain, make_partner
from workers.cashback import CREDIT_CASHBACK, BadCashbackMessage, credit_cashback_batch
from workers.outbox_batch import process_batch
from workers.relay import MAX_ATTEMPTS, relay_pending

pytestmark = pytest.mark.timeout(60)

SM = async_sessionmaker[AsyncSession]
MINOR = 250


def credit(order_id: int, partner_id: int, **changes: Any) -> dict[str, Any]:
    payload = {"order_id": order_id, "partner_id": partner_id, "amount_minor": MINOR}
    return {**payload, "currency": "CHF", **changes}


async def emit_rows(sm: SM, payloads: list[dict[str, Any]]) -> list[int]:
    async with transaction(sm) as session:
        rows = [
            emit(session, CREDIT_CASHBACK, p, dedupe_key=f"test:{i}:{p.get('order_id')}")
            for i, p in enumerate(payloads)
        ]
        await session.flush()
        return [row.id for row in rows]


async def rows(sm: SM, ids: list[int]) -> dict[int, OutboxMessage]:
    async with sm() as session:
        found = await session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))
        return {row.id: row for row in found}


async def entries(sm: SM) -> dict[int | None, int]:
    async with sm() as session:
        per_order = await session.execute(
            select(JournalEntry.order_id, func.count()).group_by(JournalEntry.order_id)
        )
        return {order: count for order, count in per_order.all()}


async def deliver(sm: SM, outbox_id: int, limit: int = 5) -> bool:
    return await process_batch(
        outbox_id, credit_cashback_batch, limit=limit, actor_name=CREDIT_CASHBACK, sessionmaker=sm
    )


def jobs(outcome: str) -> float:
    return JOBS.labels(CREDIT_CASHBACK, outcome)._value.get()


async def test_one_message_credits_its_row_and_the_newest_pending_ones_once(
    sessionmaker: SM,
) -> None:
    partner_id, org_id = await make_partner(sessionmaker, "Batch", [])
    ids = await emit_rows(sessionmaker, [credit(100 + i, partner_id) for i in range(8)])
    done_before = jobs("done")

    assert await deliver(sessionmaker, ids[0], limit=4) is True

    state = await rows(sessionmaker, ids)
    processed = [i for i in ids if state[i].processed_at is not None]
    assert processed == [ids[0], *ids[-3:]]  # its own row, then the newest first
    assert all(state[i].attempts == 1 and state[i].last_error is None for i in processed)
    assert jobs("done") - done_before == 4  # one job per row
    assert await entries(sessionmaker) == {100: 1, 105: 1, 106: 1, 107: 1}

    for outbox_id in ids:  # every message, as the relay sent them
        await deliver(sessionmaker, outbox_id, limit=4)
    assert await entries(sessionmaker) == {100 + i: 1 for i in range(8)}
    async with sessionmaker() as session:
        balance = await ledger.prepaid_balance(session, org_id, "CHF")
    assert balance == Money.from_minor_units(8 * MINOR, "CHF")


async def test_a_later_delivery_of_a_row_done_in_a_batch_is_a_no_op(
    sessionmaker: SM, settings: Any
) -> None:
    partner_id, _ = await make_partner(sessionmaker, "Again", [])
    ids = await emit_rows(sessionmaker, [credit(200 + i, partner_id) for i in range(4)])
    assert await deliver(sessionmaker, ids[0]) is True
    duplicates = jobs("duplicate")

    # This process knows the rows it committed; another one (another engine) reads them.
    assert await deliver(sessionmaker, ids[2]) is False
    other_engine = make_engine(settings.database_url)
    try:
        other = make_sessionmaker(other_engine)
        assert await deliver(other, ids[1]) is False  # read from the database...
        assert await deliver(other, ids[3]) is False  # ...with its whole batch
    finally:
        await other_engine.dispose()

    assert jobs("duplicate") - duplicates == 3
    assert await entries(sessionmaker) == {200 + i: 1 for i in range(4)}
    assert all(r.attempts == 1 for r in (await rows(sessionmaker, ids)).values())


async def test_bad_rows_in_a_batch_get_their_error_and_the_others_commit(
    sessionmaker: SM,
) -> None:
    partner_id, _ = await make_partner(sessionmaker, "Mixed", [])
    ids = await emit_rows(
        sessionmaker,
        [
            credit(300, partner_id),
            credit(301, partner_id, currency="XXX"),  # a bad payload
            credit(302, partner_id),
            credit(303, 999_999),  # no such partner: refused by the ledger
            credit(304, partner_id),
        ],
    )

    assert await deliver(sessionmaker, ids[0], limit=10) is True

    state = await rows(sessionmaker, ids)
    assert [state[i].processed_at is not None for i in ids] == [True, False, True, False, True]
    for bad in (ids[1], ids[3]):
        assert state[bad].attempts == MAX_ATTEMPTS  # dead: the sweeper leaves it alone
        assert (state[bad].last_error or "").startswith("permanent: BadCashbackMessage")
    assert await entries(sessionmaker) == {300: 1, 302: 1, 304: 1}

    # The bad row's own message fails the same way, alone, without a retry.
    with pytest.raises(BadCashbackMessage):
        await deliver(sessionmaker, ids[3], limit=10)
    assert (await rows(sessionmaker, [ids[3]]))[ids[3]].processed_at is None


async def test_a_bad_own_row_is_raised_and_recorded_after_the_others_commit(
    sessionmaker: SM,
) -> None:
    partner_id, _ = await make_partner(sessionmaker, "Own", [])
    ids = await emit_rows(
        sessionmaker,
        [credit(400, partner_id, amount_minor=12.5), credit(401, partner_id)],
    )

    with pytest.raises(BadCashbackMessage, match="amount_minor must be an integer"):
        await deliver(sessionmaker, ids[0])

    state = await rows(sessionmaker, ids)
    assert state[ids[0]].processed_at is None
    assert (state[ids[0]].last_error or "").startswith("permanent: BadCashbackMessage")
    assert state[ids[1]].processed_at is not None
    assert await entries(sessionmaker) == {401: 1}


async def test_a_batch_that_fails_in_the_database_leaves_its_row_to_go_alone(
    sessionmaker: SM,
) -> None:
    """A client organization that does not exist fails the whole INSERT (a foreign key):
    the batch rolls back, the message's row is credited alone, the poisoned row is left
    for its own message (which fails, is recorded, and is retried)."""
    partner_id, _ = await make_partner(sessionmaker, "Poison", [])
    ids = await emit_rows(
        sessionmaker,
        [credit(500, partner_id), credit(501, partner_id, client_organization_id=999_999)],
    )

    assert await deliver(sessionmaker, ids[0]) is True
    state = await rows(sessionmaker, ids)
    assert state[ids[0]].processed_at is not None
    assert state[ids[0]].attempts == 1
    assert state[ids[1]].processed_at is None
    assert state[ids[1]].attempts == 0

    with pytest.raises(Exception, match=r"(?i)foreign key"):
        await deliver(sessionmaker, ids[1])
    poisoned = (await rows(sessionmaker, [ids[1]]))[ids[1]]
    assert poisoned.attempts == 1
    assert poisoned.last_error is not None
    assert await entries(sessionmaker) == {500: 1}


async def test_a_retried_row_goes_alone_and_failed_rows_are_never_claimed(
    sessionmaker: SM,
) -> None:
    partner_id, _ = await make_partner(sessionmaker, "Retry", [])
    ids = await emit_rows(sessionmaker, [credit(600 + i, partner_id) for i in range(3)])
    async with transaction(sessionmaker) as session:  # two rows failed once before
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids[:2]))
            .values(attempts=1, last_error="OperationalError: earlier")
        )

    assert await deliver(sessionmaker, ids[2]) is True  # does not claim the failed ones
    assert await deliver(sessionmaker, ids[0]) is True  # a retry: alone
    state = await rows(sessionmaker, ids)
    assert [state[i].processed_at is not None for i in ids] == [True, False, True]
    assert state[ids[0]].attempts == 2
    assert state[ids[0]].last_error is None


async def test_the_actor_credits_many_rows_once_whatever_the_deliveries(
    sessionmaker: SM, stub_broker: dramatiq.Broker, worker: dramatiq.Worker
) -> None:
    partner_id, org_id = await make_partner(sessionmaker, "Actor", [])
    ids = await emit_rows(sessionmaker, [credit(700 + i, partner_id) for i in range(30)])
    done_before = jobs("done")

    assert await relay_pending(sessionmaker, stale_after_seconds=30) == 30
    await drain(stub_broker, worker)
    actor = stub_broker.get_actor(CREDIT_CASHBACK)
    for outbox_id in ids:  # at-least-once: every message again
        actor.send(outbox_id)
    await drain(stub_broker, worker)

    assert await entries(sessionmaker) == {700 + i: 1 for i in range(30)}
    assert jobs("done") - done_before == 30
    assert all(r.processed_at is not None for r in (await rows(sessionmaker, ids)).values())
    async with sessionmaker() as session:
        balance = await ledger.prepaid_balance(session, org_id, "CHF")
    assert balance == Money.from_minor_units(30 * MINOR, "CHF")


async def test_two_rows_of_one_order_in_a_batch_credit_it_once(sessionmaker: SM) -> None:
    """Rows without the order's dedupe key: the second is a repeat (nothing written) or,
    if it disagrees with the first, refused; never a second credit or posting."""
    partner_id, org_id = await make_partner(sessionmaker, "Twice", [])
    ids = await emit_rows(
        sessionmaker,
        [
            credit(800, partner_id),
            credit(800, partner_id),  # the same credit again
            credit(800, partner_id, amount_minor=MINOR + 1),  # another amount: a conflict
        ],
    )

    assert await deliver(sessionmaker, ids[0]) is True

    state = await rows(sessionmaker, ids)
    assert [state[i].processed_at is not None for i in ids] == [True, True, False]
    assert "already credited differently" in (state[ids[2]].last_error or "")
    assert await entries(sessionmaker) == {800: 1}
    async with sessionmaker() as session:
        balance = await ledger.prepaid_balance(session, org_id, "CHF")
    assert balance == Money.from_minor_units(MINOR, "CHF")  # two postings, not four
