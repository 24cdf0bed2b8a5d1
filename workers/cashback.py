"""Cashback actors: credit an order's cashback once; send the monthly cashback statements.

``credit_cashback`` (an outbox actor)
    An order or a renewal that earns cashback writes, in its own transaction, the outbox
    row ``emit(session, "credit_cashback", {"order_id": int, "partner_id": int,
    "amount_minor": int, "currency": "CHF"|"EUR"}, dedupe_key="cashback:order:<id>")``
    (commerce also sends ``client_organization_id`` and ``partner_organization_id``:
    optional, checked). The Dramatiq message carries only the outbox id; the handler
    runs inside ``workers.outbox_batch.process_batch``: the message's row and up to
    ``OUTBOX_BATCH_SIZE - 1`` other pending credit_cashback rows are credited in one
    transaction (one ``ledger.credit_cashbacks``), their ledger entries and their rows'
    ``processed_at`` commit together; the later messages of those rows are no-ops.
    Exactly once, in three layers: the outbox row is unique per order (dedupe key),
    locked while processed and skipped once processed; and the ledger refuses a second
    CASHBACK entry for the order (a unique index), so even a direct second call is a
    no-op. A failure rolls back and Dramatiq retries with exponential back-off
    (``workers.broker``: 1 s .. 5 min); a payload or a rule no retry can fix is a
    ``PermanentJobError`` (kept on the row's ``last_error``), refused without holding
    back the other credits of its batch.

``send_cashback_statements(year, month)``
    For each partner whose prepaid account moved in that month, emails each legal
    representative a statement (template ``cashback_statement``): credits, corrections
    and the closing balance per currency. Once per partner per month: the emails are
    outbox rows with the dedupe key ``cashback_statement:<org id>:<YYYY-MM>:user:<id>``;
    a partner with any such row for the month is skipped, and a concurrent run fails on
    the unique key and rolls that partner back. Safe to re-run; ``workers.scheduler``
    enqueues it on the 1st of each month for the previous month.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import OutboxMessage
from db.queries import legal_representatives, organization_name
from db.session import transaction
from domain.errors import DomainError
from domain.ledger import LedgerError
from domain.money import Currency
from resolvers import ledger
from resolvers.events import emit_email
from workers import broker as broker_module
from workers.email import validate_context
from workers.outbox import PermanentJobError
from workers.outbox_batch import batch_outbox_actor, one_at_a_time
from workers.relay import relay_pending
from workers.runtime import current_settings, worker_sessionmaker

logger = logging.getLogger(__name__)

CREDIT_CASHBACK = ledger.CREDIT_CASHBACK
SEND_CASHBACK_STATEMENTS = "send_cashback_statements"
STATEMENT_TEMPLATE = "cashback_statement"


class BadCashbackMessage(PermanentJobError):
    """A credit_cashback payload or credit that no retry can make valid."""


def _int(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    # JSON integers only: a float (or a string, or a bool) is a bug upstream.
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadCashbackMessage(f"credit_cashback: {key} must be an integer, got {value!r}")
    return value


def _optional_int(payload: dict[str, Any], key: str) -> int | None:
    return None if payload.get(key) is None else _int(payload, key)


def parse_payload(payload: Any) -> ledger.CashbackRequest:
    """Read a credit_cashback payload strictly (``BadCashbackMessage`` otherwise) as the
    credit it asks for; commerce also sends the client and the partner's organization."""
    if not isinstance(payload, dict):
        raise BadCashbackMessage(f"credit_cashback: payload is an object, got {payload!r}")
    currency = payload.get("currency")
    if not isinstance(currency, str) or currency not in {c.value for c in Currency}:
        raise BadCashbackMessage(f"credit_cashback: bad currency {currency!r}")
    return ledger.CashbackRequest(
        order_id=_int(payload, "order_id"),
        partner_id=_int(payload, "partner_id"),
        amount_minor=_int(payload, "amount_minor"),
        currency=Currency(currency),
        # Optional: the ledger reads the client from the order when it is not given.
        client_organization_id=_optional_int(payload, "client_organization_id"),
        partner_organization_id=_optional_int(payload, "partner_organization_id"),
    )


def _refused(exc: Exception) -> BadCashbackMessage:
    # Validation and conflicts: the same message would fail the same way again.
    refusal = BadCashbackMessage(f"credit_cashback refused: {exc}")
    refusal.__cause__ = exc
    return refusal


@batch_outbox_actor(CREDIT_CASHBACK, time_limit=60_000)
async def credit_cashback_batch(
    session: AsyncSession, messages: Sequence[OutboxMessage]
) -> dict[int, Exception]:
    """Credit the cashback of every message with ``session`` (process_batch's transaction)
    in one ``ledger.credit_cashbacks``; return the refused ones (nothing written for them)."""
    refused: dict[int, Exception] = {}
    parsed: list[tuple[int, ledger.CashbackRequest]] = []
    for message in messages:
        try:
            parsed.append((message.id, parse_payload(message.payload)))
        except BadCashbackMessage as exc:
            refused[message.id] = exc
    outcomes = await ledger.credit_cashbacks(session, [request for _, request in parsed])
    for (outbox_id, _), outcome in zip(parsed, outcomes, strict=True):
        if isinstance(outcome, DomainError | LedgerError):
            refused[outbox_id] = _refused(outcome)
    return refused


#: Credit the cashback of one message (``process_once``'s handler; tests, tools).
credit_cashback_handler = one_at_a_time(credit_cashback_batch)


# -- monthly statements -------------------------------------------------------------------


def statement_key_prefix(organization_id: int, year: int, month: int) -> str:
    return f"cashback_statement:{organization_id}:{year:04d}-{month:02d}:"


def _joined(values: list[str]) -> str:
    return " / ".join(values) if values else "-"


async def emit_statement(session: AsyncSession, organization_id: int, year: int, month: int) -> int:
    """Queue the partner's statement for the month (one email per legal representative).

    Returns the number of emails queued: 0 if the statement was already queued, if
    nothing moved that month, or if the partner has no legal representative.
    """
    prefix = statement_key_prefix(organization_id, year, month)
    already = await session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key.startswith(prefix)).limit(1)
    )
    if already is not None:
        return 0
    start, end = ledger.month_bounds(year, month)
    statements = await ledger.cashback_statement(session, organization_id, start, end)
    if not statements:
        return 0
    context = {
        "partner_name": await organization_name(session, organization_id),
        "period": start.strftime("%B %Y"),
        "credit_count": str(sum(s.credit_count for s in statements)),
        "credited": _joined([str(s.credited) for s in statements]),
        "corrected": _joined([str(s.corrected) for s in statements]),
        "closing_balance": _joined([str(s.closing_balance) for s in statements]),
    }
    validate_context(STATEMENT_TEMPLATE, context)  # a template mismatch fails here, not later
    recipients = await legal_representatives(session, organization_id)
    for user_id, email in recipients:
        emit_email(
            session,
            to=email,
            template=STATEMENT_TEMPLATE,
            context=context,
            dedupe_key=f"{prefix}user:{user_id}",
        )
    await session.flush()  # a concurrent run's rows collide here, not later
    return len(recipients)


async def send_cashback_statements(year: int, month: int) -> int:
    """Queue every partner's statement for ``year``-``month``; return the emails queued.

    Each partner in its own transaction (one failure does not block the others), then
    relays the queued emails to the broker at once (the API's sweeper would otherwise pick
    them up on its next pass).
    """
    year, month = int(year), int(month)
    sessionmaker = await worker_sessionmaker()
    start, end = ledger.month_bounds(year, month)
    async with sessionmaker() as session:
        partners = await ledger.partners_with_entries(session, start, end)
    queued = 0
    for organization_id in partners:
        try:
            async with transaction(sessionmaker) as session:
                queued += await emit_statement(session, organization_id, year, month)
        except IntegrityError:
            logger.info(
                "cashback statement %04d-%02d of organization %s queued concurrently; skipped",
                year,
                month,
                organization_id,
            )
    if queued:
        await relay_pending(
            sessionmaker, stale_after_seconds=current_settings().outbox_stale_seconds
        )
    logger.info("cashback statements %04d-%02d: %d emails queued", year, month, queued)
    return queued


# A bad (year, month) is not retried (``throws``); a database error is, with back-off.
broker_module.register_actor(
    SEND_CASHBACK_STATEMENTS,
    send_cashback_statements,
    time_limit=30 * 60_000,
    throws=(DomainError,),
)
