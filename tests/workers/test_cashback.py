"""Cashback actors in one process: SQLite file, StubBroker, a real dramatiq.Worker."""

from __future__ import annotations

import asyncio
import email
import email.policy
from pathlib import Path

import dramatiq
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import JournalEntry, Membership, Organization, OutboxMessage, Partner, User, utcnow
from db.session import transaction
from domain.enums import Role
from domain.money import Currency, Money
from resolvers import ledger
from resolvers.events import emit
from workers.broker import DEFAULT_QUEUE
from workers.cashback import CREDIT_CASHBACK, SEND_CASHBACK_STATEMENTS
from workers.relay import relay_pending

SM = async_sessionmaker[AsyncSession]


async def drain(broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
    await asyncio.to_thread(broker.join, DEFAULT_QUEUE, timeout=10_000)  # type: ignore[attr-defined]
    await asyncio.to_thread(worker.join)


async def make_partner(sm: SM, name: str, reps: list[str]) -> tuple[int, int]:
    async with transaction(sm) as session:
        org = Organization(name=name, currency=Currency.CHF, support_code=name[:16])
        session.add(org)
        await session.flush()
        partner = Partner(organization_id=org.id)
        session.add(partner)
        for address in reps:
            user = User(email=address, full_name=address, password_hash="x")
            session.add(user)
            await session.flush()
            session.add(
                Membership(user_id=user.id, organization_id=org.id, role=Role.LEGAL_REPRESENTATIVE)
            )
        admin = User(email=f"admin@{name.lower()}.example", full_name="Admin", password_hash="x")
        session.add(admin)
        await session.flush()
        session.add(Membership(user_id=admin.id, organization_id=org.id, role=Role.ADMINISTRATOR))
        await session.flush()
        return partner.id, org.id


async def emit_credit(sm: SM, order_id: int, partner_id: int, minor: int) -> int:
    payload = {"order_id": order_id, "partner_id": partner_id, "amount_minor": minor}
    async with transaction(sm) as session:
        row = emit(
            session,
            CREDIT_CASHBACK,
            {**payload, "currency": "CHF"},
            dedupe_key=ledger.cashback_key(order_id),
        )
        await session.flush()
        return row.id


async def test_credit_cashback_actor_credits_once_whatever_the_deliveries(
    sessionmaker: SM, stub_broker: dramatiq.Broker, worker: dramatiq.Worker
) -> None:
    partner_id, org_id = await make_partner(sessionmaker, "Alpine", ["rep@alpine.example"])
    outbox_ids = [await emit_credit(sessionmaker, 100 + i, partner_id, 1000 + i) for i in range(3)]

    assert await relay_pending(sessionmaker, stale_after_seconds=30) == 3
    await drain(stub_broker, worker)
    actor = stub_broker.get_actor(CREDIT_CASHBACK)
    for _ in range(4):  # at-least-once: the same messages again and again
        for outbox_id in outbox_ids:
            actor.send(outbox_id)
    await drain(stub_broker, worker)

    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(JournalEntry)) == 3
        assert await ledger.prepaid_balance(session, org_id, "CHF") == Money.of("30.03", "CHF")
        processed = await session.scalars(
            select(OutboxMessage.processed_at).where(OutboxMessage.id.in_(outbox_ids))
        )
        assert all(p is not None for p in processed)


def _text_body(path: Path) -> str:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    assert body is not None
    return str(message["To"]) + "\n" + str(message["Subject"]) + "\n" + body.get_content()


def mails(mail_dir: Path) -> list[str]:
    """Recipient, subject and text body of every email written by the file backend."""
    return [_text_body(p) for p in sorted(mail_dir.glob("*.eml"))] if mail_dir.exists() else []


async def test_monthly_statements_go_once_to_each_legal_representative(
    sessionmaker: SM, stub_broker: dramatiq.Broker, worker: dramatiq.Worker, mail_dir: Path
) -> None:
    alpine, alpine_org = await make_partner(
        sessionmaker, "Alpine", ["anna@alpine.example", "bruno@alpine.example"]
    )
    await make_partner(sessionmaker, "Quiet", ["rep@quiet.example"])  # nothing this month
    async with transaction(sessionmaker) as session:
        await ledger.credit_cashback(session, 1, alpine, 6944, "CHF")
        wrong = await ledger.credit_cashback(session, 2, alpine, 500, "CHF")
        await ledger.credit_cashback(session, 3, alpine, 4025, "EUR")
    async with transaction(sessionmaker) as session:
        assert wrong.entry_id is not None
        await ledger.correct_entry(session, wrong.entry_id)
    now = utcnow()

    statements = stub_broker.get_actor(SEND_CASHBACK_STATEMENTS)
    statements.send(now.year, now.month)
    await drain(stub_broker, worker)
    await drain(stub_broker, worker)  # the emails it queued and relayed
    statements.send(now.year, now.month)  # a re-run (cron twice, a retry): nothing new
    await drain(stub_broker, worker)
    await drain(stub_broker, worker)

    bodies = mails(mail_dir)
    assert len(bodies) == 2
    assert sorted(b.splitlines()[0] for b in bodies) == [
        "anna@alpine.example",
        "bruno@alpine.example",
    ]
    text = bodies[0]
    assert f"Your cashback statement for {now.strftime('%B %Y')}: Alpine" in text
    assert "Cashback credits:    3" in text
    assert "Cashback credited:   CHF 74.44 / EUR 40.25" in text
    assert "Corrections:         CHF -5.00 / EUR 0.00" in text
    assert "CHF 69.44 / EUR 40.25" in text  # closing balance
    async with sessionmaker() as session:
        keys = list(
            await session.scalars(
                select(OutboxMessage.dedupe_key).where(
                    OutboxMessage.dedupe_key.startswith("cashback_statement:")
                )
            )
        )
    prefix = f"cashback_statement:{alpine_org}:{now.year:04d}-{now.month:02d}:user:"
    assert len(keys) == 2
    assert all(k is not None and k.startswith(prefix) for k in keys)

    # A month without movements sends nothing.
    before = (now.year - 1, now.month)
    statements.send(*before)
    await drain(stub_broker, worker)
    assert len(mails(mail_dir)) == 2
