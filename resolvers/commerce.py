"""Commerce use cases: quote, place an order, renew a product (SPEC "Prices, discounts and
cashback").

One order or renewal is one transaction: the product is created or extended in the client
organization, the invoice (with its lines and the paying organization's next sequential
number) is created in the paying organization, the order row freezes the quote, and the
audit event, the order-confirmation emails and (when the settlement earns it) the
`credit_cashback` outbox event are written with it. Bad input raises a `UseCaseError` with
a stable code before anything is written.

Decisions where SPEC is silent:
- An order is priced and invoiced in the client organization's currency, also when the
  partner pays; an explicit `currency` that differs is refused (CURRENCY_MISMATCH).
- When a client orders for itself and several partners hold an active grant on it, the
  grant that applies is the one managing the product (FULL, or LIMITED with the product
  granted), else any active grant; ties go to the oldest grant.
- A partner-side order without an active FULL grant answers PARTNER_MAY_NOT_ORDER for an
  existing client and for a missing one alike (nothing leaks about other organizations).
- Cashback is due only when the settlement earns it and it is above zero.
- Invoices are issued DUE; emails carry no amounts (workers/email.py: no invoice data).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Grant,
    GrantProduct,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Order,
    OrderKind,
    Organization,
    Partner,
    Product,
)
from db.queries import actor_display_name, legal_representative_emails
from db.session import transaction
from domain import pricing
from domain.access import (
    BILLING_ROLES,
    ClientVisibility,
    GrantFacts,
    Viewer,
    can_see_order,
    client_visibility,
    may_order_for_client,
)
from domain.enums import (
    AccessLevel,
    GrantStatus,
    InvoiceStatus,
    PartnerStatus,
    ProductStatus,
    Side,
)
from domain.money import Currency, Money, MoneyError, parse_amount
from resolvers.auth import require_writer
from resolvers.context import RequestContext
from resolvers.errors import UNAUTHENTICATED, UseCaseError, not_found
from resolvers.events import emit, emit_email, record_audit
from resolvers.validation import clean_text

CATALOG = pricing.default_catalog()
MAX_IDEMPOTENCY_KEY = 100
CREDIT_CASHBACK = "credit_cashback"
ORDER_CONFIRMATION = "order_confirmation"

# Stable codes of this module (besides the pricing ones: UNKNOWN_PRODUCT_KIND,
# INVALID_QUANTITY, UNSUPPORTED_CURRENCY, PARTNER_MAY_NOT_ORDER).
CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
INVALID_AMOUNT = "INVALID_AMOUNT"
AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
PAYER_NOT_ALLOWED = "PAYER_NOT_ALLOWED"
ROLE_NOT_ALLOWED = "ROLE_NOT_ALLOWED"
INVALID_IDEMPOTENCY_KEY = "INVALID_IDEMPOTENCY_KEY"
IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
PRODUCT_NOT_RENEWABLE = "PRODUCT_NOT_RENEWABLE"
CONFLICT = "CONFLICT"

_PRICING_FIELDS = {
    pricing.UnknownProductKindError.CODE: "productKind",
    pricing.InvalidQuantityError.CODE: "quantity",
    pricing.UnsupportedCurrencyError.CODE: "currency",
    pricing.PartnerMayNotOrderError.CODE: "clientId",
}


def _from_pricing(error: pricing.PricingError) -> UseCaseError:
    return UseCaseError(error.code, error.message, _PRICING_FIELDS.get(error.code))


def _partner_may_not_order(message: str) -> UseCaseError:
    return UseCaseError(pricing.PartnerMayNotOrderError.CODE, message, "clientId")


# -- inputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientRef:
    """The client named by an input: an Organization ID (a client ordering for itself, or
    any caller that knows it) or a Client ID (the partner's view of a client: a grant)."""

    organization_id: int | None = None
    grant_id: int | None = None


def validate_basket(kind: str, quantity: int, currency: str | None) -> Currency | None:
    """Check the product kind, the quantity and a given currency against the catalog."""
    try:
        spec = CATALOG.product(kind)
        if isinstance(quantity, bool) or not 1 <= quantity <= CATALOG.max_quantity:
            raise pricing.InvalidQuantityError(
                f"quantity must be within 1 and {CATALOG.max_quantity}"
            )
    except pricing.PricingError as exc:
        raise _from_pricing(exc) from exc
    if currency is None:
        return None
    try:
        code = Currency(currency.strip().upper())
    except ValueError:
        raise UseCaseError(
            pricing.UnsupportedCurrencyError.CODE,
            "The catalog does not sell in this currency.",
            "currency",
        ) from None
    if code not in spec.list_prices:
        raise UseCaseError(
            pricing.UnsupportedCurrencyError.CODE, f"{kind} is not sold in {code}.", "currency"
        )
    return code


def parse_expected_amount(value: str | None, field: str = "expectedAmountDue") -> Decimal | None:
    """An amount given by a caller: at most two decimals, not negative, never a float."""
    if value is None:
        return None
    try:
        amount = parse_amount(value.strip())
    except MoneyError as exc:
        raise UseCaseError(
            INVALID_AMOUNT, "An amount is a decimal with at most two decimals.", field
        ) from exc
    if amount < 0:
        raise UseCaseError(INVALID_AMOUNT, "An amount cannot be negative.", field)
    return amount


def clean_idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    key = value.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise UseCaseError(
            INVALID_IDEMPOTENCY_KEY,
            f"An idempotency key has 1 to {MAX_IDEMPOTENCY_KEY} printable characters.",
            "idempotencyKey",
        )
    return key


# -- grants and parties ------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveGrant:
    facts: GrantFacts
    partner_id: int
    partner_status: PartnerStatus


async def active_grants_on_client(
    session: AsyncSession, client_id: int, *, lock: bool = False
) -> list[ActiveGrant]:
    """Every ACTIVE grant on the client, with its granted products.

    `lock` takes a shared row lock (PostgreSQL FOR SHARE): the access and payment methods
    cannot change until the order that read them commits.
    """
    stmt = (
        select(Grant, Partner.organization_id, Partner.status)
        .join(Partner, Partner.id == Grant.partner_id)
        .where(Grant.client_id == client_id, Grant.status == GrantStatus.ACTIVE)
        .order_by(Grant.id)
    )
    if lock:
        stmt = stmt.with_for_update(read=True, of=Grant)
    rows = (await session.execute(stmt)).all()
    products: dict[int, set[int]] = {}
    if rows:
        for grant_id, product_id in await session.execute(
            select(GrantProduct.grant_id, GrantProduct.product_id).where(
                GrantProduct.grant_id.in_([grant.id for grant, _, _ in rows])
            )
        ):
            products.setdefault(grant_id, set()).add(product_id)
    return [
        ActiveGrant(
            facts=GrantFacts(
                partner_organization_id=partner_org,
                client_organization_id=grant.client_id,
                status=grant.status,
                level=grant.level,
                payment_methods=grant.payment_methods,
                product_ids=frozenset(products.get(grant.id, ())),
                grant_id=grant.id,
            ),
            partner_id=grant.partner_id,
            partner_status=status,
        )
        for grant, partner_org, status in rows
    ]


def applicable_grant(grants: Sequence[ActiveGrant], product_id: int | None) -> ActiveGrant | None:
    """The grant that settles a client's own order (several partners may hold one)."""

    def manages(g: ActiveGrant) -> bool:
        return g.facts.level is AccessLevel.FULL or (
            product_id is not None and product_id in g.facts.product_ids
        )

    pool = [g for g in grants if manages(g)] or list(grants)
    return min(pool, key=lambda g: g.facts.grant_id) if pool else None


@dataclass(frozen=True)
class Parties:
    acting_organization_id: int
    client: Organization
    orderer: Side
    grant: ActiveGrant | None


async def _client_id(session: AsyncSession, ref: ClientRef | None, acting: int) -> int | None:
    if ref is None:
        return acting
    if ref.organization_id is not None:
        return ref.organization_id
    if ref.grant_id is not None:
        return await session.scalar(select(Grant.client_id).where(Grant.id == ref.grant_id))
    return acting


async def resolve_parties(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    acting_organization_id: int,
    client: ClientRef | None,
    placing: bool,
    grants: Sequence[ActiveGrant] | None = None,
    client_id: int | None = None,
    product_id: int | None = None,
) -> Parties:
    """Who orders for whom, under which grant; refuses what the viewer may not do."""
    viewer = ctx.viewer
    role = viewer.role_in(acting_organization_id)
    if role is None:
        raise not_found("organizationId")
    if client_id is None:
        client_id = await _client_id(session, client, acting_organization_id)
    if client_id == acting_organization_id:
        if placing and role not in BILLING_ROLES:
            raise UseCaseError(
                ROLE_NOT_ALLOWED,
                "Only a legal representative or an administrator orders for the organization.",
                "organizationId",
            )
        org = await session.get(Organization, client_id)
        if org is None:
            raise not_found("organizationId")
        if grants is None:
            grants = await active_grants_on_client(session, client_id, lock=placing)
        return Parties(
            acting_organization_id, org, Side.CLIENT, applicable_grant(grants, product_id)
        )

    # The partner on the client's behalf: only under an active FULL grant, by a member who
    # acts for that client. Every refusal answers alike, whether the client exists or not.
    refusal = _partner_may_not_order(
        "A partner orders for a client only under an active FULL grant, by a member who "
        "acts for that client."
    )
    if client_id is None:
        raise refusal
    if grants is None:
        grants = await active_grants_on_client(session, client_id, lock=placing)
    grant = next(
        (g for g in grants if g.facts.partner_organization_id == acting_organization_id), None
    )
    if (
        grant is None
        or grant.partner_status is not PartnerStatus.ACTIVE
        or grant.facts.level is not AccessLevel.FULL
        or client_visibility(viewer, grant.facts) is not ClientVisibility.WHOLE
        or (placing and not may_order_for_client(viewer, grant.facts))
    ):
        raise refusal
    org = await session.get(Organization, client_id)
    if org is None:
        raise refusal
    return Parties(acting_organization_id, org, Side.PARTNER, grant)


# -- pricing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PricedOrder:
    """A quote with its settlement: every step, who pays, what the partner earns."""

    quote: pricing.Quote
    settlement: pricing.Settlement
    client_id: int
    orderer: Side
    payer: Side
    payer_organization_id: int
    partner_id: int | None
    partner_organization_id: int | None
    cashback_due: Money

    @property
    def earns_cashback(self) -> bool:
        return self.cashback_due.amount > 0


def price(
    parties: Parties,
    kind: str,
    quantity: int,
    currency: Currency | None,
    *,
    product_id: int | None = None,
) -> PricedOrder:
    client = parties.client
    if currency is not None and currency is not client.currency:
        raise UseCaseError(
            CURRENCY_MISMATCH,
            f"The client organization buys in {client.currency}; orders are in its currency.",
            "currency",
        )
    grant = parties.grant
    facts = grant.facts if grant is not None else None
    managed = facts is not None and product_id is not None and product_id in facts.product_ids
    try:
        settled = pricing.settlement(
            facts.level.value if facts is not None and facts.level is not None else None,
            facts.payment_methods.value
            if facts is not None and facts.payment_methods is not None
            else None,
            parties.orderer.value,
            managed,
        )
        quoted = pricing.quote(
            CATALOG,
            kind,
            quantity,
            client.currency,
            partner_discount_applies=settled.partner_discount_applies,
        )
    except pricing.PricingError as exc:
        raise _from_pricing(exc) from exc
    payer = Side(settled.payer)
    if payer is Side.PARTNER:
        assert facts is not None  # settlement makes the partner pay only under a grant
        payer_org = facts.partner_organization_id
    else:
        payer_org = client.id
    return PricedOrder(
        quote=quoted,
        settlement=settled,
        client_id=client.id,
        orderer=parties.orderer,
        payer=payer,
        payer_organization_id=payer_org,
        partner_id=grant.partner_id if grant is not None else None,
        partner_organization_id=facts.partner_organization_id if facts is not None else None,
        cashback_due=pricing.cashback_due(quoted, settled),
    )


def check_expectations(
    priced: PricedOrder, payer: Side | None, expected_amount_due: Decimal | None
) -> None:
    """The caller's optional expectations must match what the grant and the catalog say."""
    if payer is not None and payer is not priced.payer:
        raise UseCaseError(
            PAYER_NOT_ALLOWED,
            f"The grant's payment methods decide who pays: here the {priced.payer.value.lower()}.",
            "payer",
        )
    if expected_amount_due is not None and expected_amount_due != priced.quote.amount_due.amount:
        raise UseCaseError(
            AMOUNT_MISMATCH,
            "The amount due is not the one expected; ask for a new quote.",
            "expectedAmountDue",
        )


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


# -- invoice numbers -------------------------------------------------------------------------


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


# -- writing ---------------------------------------------------------------------------------


@dataclass
class OrderResult:
    order: Order
    invoice: Invoice
    replayed: bool = False


def add_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _order_snapshot(order: Order, invoice: Invoice) -> dict[str, Any]:
    # No amounts: the audit trail may be shown to members who may not read the invoice.
    return {
        "kind": order.kind.value,
        "client_id": order.client_id,
        "product_id": order.product_id,
        "product_kind": order.product_kind,
        "quantity": order.quantity,
        "currency": order.currency.value,
        "orderer_side": order.orderer_side.value,
        "partner_id": order.partner_id,
        "payer_id": order.payer_id,
        "invoice_id": invoice.id,
        "cashback_due": order.cashback_due,
    }


async def _write_order(
    session: AsyncSession,
    ctx: RequestContext,
    parties: Parties,
    priced: PricedOrder,
    product: Product,
    kind: OrderKind,
    idempotency_key: str | None,
) -> OrderResult:
    q = priced.quote
    now = ctx.now()
    sequence = await next_invoice_sequence(session, priced.payer_organization_id)
    invoice = Invoice(
        organization_id=priced.payer_organization_id,
        client_id=priced.client_id,
        sequence=sequence,
        number=invoice_number(priced.payer_organization_id, sequence),
        currency=q.currency,
        total_amount=q.amount_due.amount,
        status=InvoiceStatus.DUE,
        issued_at=now,
    )
    session.add(invoice)
    await session.flush()
    verb = "Renewal" if kind is OrderKind.RENEWAL else "Order"
    description = f"{verb}: {product.name} ({q.kind}), {q.quantity} x 1 month, list price"
    for position, (text, quantity, unit, amount) in enumerate(
        invoice_lines(q, description=description[:300]), start=1
    ):
        session.add(
            InvoiceLine(
                invoice_id=invoice.id,
                position=position,
                product_id=product.id,
                description=text,
                quantity=quantity,
                unit_price=unit,
                amount=amount,
            )
        )
    order = Order(
        kind=kind,
        client_id=priced.client_id,
        product_id=product.id,
        product_kind=q.kind,
        product_family=q.family,
        quantity=q.quantity,
        currency=q.currency,
        ordered_by_user_id=ctx.viewer.user_id,
        ordered_by_api_token_id=ctx.viewer.api_token_id,
        acting_organization_id=parties.acting_organization_id,
        orderer_side=priced.orderer,
        partner_id=priced.partner_id,
        payer_id=priced.payer_organization_id,
        payer_side=priced.payer,
        list_total=q.list_total.amount,
        decreasing_rate=q.decreasing_rate,
        public_price=q.public_price.amount,
        partner_discount_rate=q.partner_discount_rate,
        partner_price=q.partner_price.amount,
        cashback=q.cashback.amount,
        amount_due=q.amount_due.amount,
        partner_discount_applied=q.partner_discount_applies,
        cashback_due=priced.earns_cashback,
        invoice_id=invoice.id,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    session.add(order)
    await session.flush()

    record_audit(
        session,
        action=f"order.{'renew' if kind is OrderKind.RENEWAL else 'place'}",
        subject_type="Order",
        subject_id=order.id,
        actor_user_id=ctx.viewer.user_id,
        actor_api_token_id=ctx.viewer.api_token_id,
        organization_id=parties.acting_organization_id,
        after=_order_snapshot(order, invoice),
    )
    mail = {
        "client_name": parties.client.name,
        "actor_name": await actor_display_name(session, ctx.viewer),
        # No amounts: emails never carry invoice data (workers/email.py).
        "products": [f"{verb}: {product.name} ({q.kind}), {q.quantity} x 1 month"],
    }
    for address in await legal_representative_emails(session, priced.payer_organization_id):
        emit_email(
            session,
            to=address,
            template=ORDER_CONFIRMATION,
            context=mail,
            dedupe_key=f"order_confirmation:{order.id}:{address}"[:200],
        )
    if priced.earns_cashback:
        emit(
            session,
            CREDIT_CASHBACK,
            {
                "order_id": order.id,
                "partner_id": priced.partner_id,
                "amount_minor": priced.cashback_due.to_minor_units(),
                "currency": priced.cashback_due.currency.value,
                # Beyond the agreed keys, for the ledger's listing by client and account.
                "client_organization_id": priced.client_id,
                "partner_organization_id": priced.partner_organization_id,
            },
            dedupe_key=f"cashback:order:{order.id}",
        )
    return OrderResult(order=order, invoice=invoice)


# -- idempotency -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    kind: OrderKind
    product_kind: str | None
    quantity: int | None
    client: ClientRef | None
    product_id: int | None


async def _replay(
    ctx: RequestContext, acting_organization_id: int, key: str, request: _Request
) -> OrderResult | None:
    """The order an earlier call with this key placed, if any; refused if it differs."""
    async with ctx.services.sessionmaker() as session:
        order = await session.scalar(
            select(Order).where(
                Order.acting_organization_id == acting_organization_id,
                Order.idempotency_key == key,
            )
        )
        if order is None:
            return None
        client_id = (
            await _client_id(session, request.client, acting_organization_id)
            if request.kind is OrderKind.ORDER
            else order.client_id
        )
        same = (
            order.kind is request.kind
            and client_id == order.client_id
            and (request.product_kind is None or request.product_kind == order.product_kind)
            and (request.quantity is None or request.quantity == order.quantity)
            and (request.product_id is None or request.product_id == order.product_id)
        )
        # Another member of the acting organization replaying a key gets the order only if
        # it may see it (the same answer as a mismatch otherwise: nothing leaks).
        grants = await active_grants_on_client(session, order.client_id)
        visible = can_see_order(
            ctx.viewer, order.client_id, order.payer_id, order.product_id, [g.facts for g in grants]
        )
        if not same or not visible:
            raise UseCaseError(
                IDEMPOTENCY_KEY_REUSED,
                "This idempotency key was used for another order.",
                "idempotencyKey",
            )
        invoice = await session.get(Invoice, order.invoice_id)
        assert invoice is not None
        return OrderResult(order=order, invoice=invoice, replayed=True)


async def _run(
    ctx: RequestContext,
    acting_organization_id: int,
    key: str | None,
    request: _Request,
    body: Any,
) -> OrderResult:
    if key is not None:
        earlier = await _replay(ctx, acting_organization_id, key, request)
        if earlier is not None:
            return earlier
    try:
        async with transaction(ctx.services.sessionmaker) as session:
            await _take_write_lock(session)
            result: OrderResult = await body(session)
    except IntegrityError as exc:
        # The same key committed by a concurrent call: answer with that order.
        if key is not None:
            earlier = await _replay(ctx, acting_organization_id, key, request)
            if earlier is not None:
                return earlier
        raise UseCaseError(
            CONFLICT, "The order clashed with another one; try again.", None
        ) from exc
    ctx.services.after_commit()
    return result


# -- use cases ---------------------------------------------------------------------------------


async def quote(
    ctx: RequestContext,
    *,
    organization_id: int,
    kind: str,
    quantity: int,
    currency: str | None = None,
    client: ClientRef | None = None,
) -> PricedOrder:
    """Every price step and who would pay, for the acting organization (a client for
    itself, or a partner for a client under an active FULL grant). Writes nothing."""
    if ctx.viewer.user_id is None and ctx.viewer.api_token_id is None:
        raise UseCaseError(UNAUTHENTICATED, "Authentication required.", None)
    code = validate_basket(kind, quantity, currency)
    async with ctx.services.sessionmaker() as session:
        parties = await resolve_parties(
            session, ctx, acting_organization_id=organization_id, client=client, placing=False
        )
    return price(parties, kind, quantity, code)


async def place_order(
    ctx: RequestContext,
    *,
    organization_id: int,
    kind: str,
    quantity: int,
    client: ClientRef | None = None,
    currency: str | None = None,
    product_name: str | None = None,
    payer: Side | None = None,
    expected_amount_due: str | None = None,
    idempotency_key: str | None = None,
) -> OrderResult:
    """Order a new product, installed in the client organization, invoiced to the payer."""
    require_writer(ctx)
    code = validate_basket(kind, quantity, currency)
    expected = parse_expected_amount(expected_amount_due)
    key = clean_idempotency_key(idempotency_key)
    name = clean_text(product_name, "productName") if product_name is not None else None
    if ctx.viewer.role_in(organization_id) is None:
        raise not_found("organizationId")

    async def body(session: AsyncSession) -> OrderResult:
        parties = await resolve_parties(
            session, ctx, acting_organization_id=organization_id, client=client, placing=True
        )
        priced = price(parties, kind, quantity, code)
        check_expectations(priced, payer, expected)
        now = ctx.now()
        product = Product(
            organization_id=parties.client.id,
            kind=priced.quote.kind,
            family=priced.quote.family,
            name=name or priced.quote.kind,
            quantity=quantity,
            status=ProductStatus.ACTIVE,
            renews_at=add_month(now),
            created_at=now,
        )
        session.add(product)
        await session.flush()
        return await _write_order(session, ctx, parties, priced, product, OrderKind.ORDER, key)

    request = _Request(OrderKind.ORDER, kind, quantity, client or ClientRef(organization_id), None)
    return await _run(ctx, organization_id, key, request, body)


def _can_see_product(viewer: Viewer, product: Product, grants: Sequence[ActiveGrant]) -> bool:
    if viewer.is_member(product.organization_id):
        return True
    for grant in grants:
        visibility = client_visibility(viewer, grant.facts)
        if visibility is ClientVisibility.WHOLE:
            return True
        if visibility is ClientVisibility.PRODUCTS and product.id in grant.facts.product_ids:
            return True
    return False


async def renew_product(
    ctx: RequestContext,
    *,
    organization_id: int,
    product_id: int,
    quantity: int | None = None,
    payer: Side | None = None,
    expected_amount_due: str | None = None,
    idempotency_key: str | None = None,
) -> OrderResult:
    """Renew a product for one more month (optionally with a new quantity)."""
    require_writer(ctx)
    expected = parse_expected_amount(expected_amount_due)
    key = clean_idempotency_key(idempotency_key)
    if quantity is not None:
        validate_quantity(quantity)
    if ctx.viewer.role_in(organization_id) is None:
        raise not_found("organizationId")

    async def body(session: AsyncSession) -> OrderResult:
        product = await session.scalar(
            select(Product).where(Product.id == product_id).with_for_update()
        )
        if product is None:
            raise not_found("productId")
        grants = await active_grants_on_client(session, product.organization_id, lock=True)
        if not _can_see_product(ctx.viewer, product, grants):
            raise not_found("productId")
        parties = await resolve_parties(
            session,
            ctx,
            acting_organization_id=organization_id,
            client=None,
            placing=True,
            grants=grants,
            client_id=product.organization_id,
            product_id=product.id,
        )
        if product.status is ProductStatus.CANCELLED:
            raise UseCaseError(
                PRODUCT_NOT_RENEWABLE, "A cancelled product cannot be renewed.", "productId"
            )
        units = product.quantity if quantity is None else quantity
        validate_basket(product.kind, units, None)
        priced = price(parties, product.kind, units, None, product_id=product.id)
        check_expectations(priced, payer, expected)
        now = ctx.now()
        base = product.renews_at if product.renews_at and product.renews_at > now else now
        product.renews_at = add_month(base)
        product.quantity = units
        product.status = ProductStatus.ACTIVE
        await session.flush()
        return await _write_order(session, ctx, parties, priced, product, OrderKind.RENEWAL, key)

    request = _Request(OrderKind.RENEWAL, None, quantity, None, product_id)
    return await _run(ctx, organization_id, key, request, body)


def validate_quantity(quantity: int) -> None:
    if isinstance(quantity, bool) or not 1 <= quantity <= CATALOG.max_quantity:
        raise UseCaseError(
            pricing.InvalidQuantityError.CODE,
            f"quantity must be within 1 and {CATALOG.max_quantity}",
            "quantity",
        )


# -- who sees an order ---------------------------------------------------------------------------


__all__ = [
    "ClientRef",
    "OrderResult",
    "PricedOrder",
    "invoice_lines",
    "next_invoice_sequence",
    "place_order",
    "quote",
    "renew_product",
]
