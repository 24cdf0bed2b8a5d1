"""Demo data: a partner, three clients in three situations, products and invoices.

Idempotent: running it twice changes nothing. Every login uses DEMO_PASSWORD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    CollaboratorClient,
    Grant,
    GrantProduct,
    Invoice,
    InvoiceLine,
    Membership,
    Organization,
    Partner,
    Product,
    User,
    utcnow,
)
from db.session import transaction
from domain.enums import AccessLevel, GrantStatus, PaymentMethods, Role, Side
from domain.money import Currency
from resolvers.auth import hash_password, new_support_code

DEMO_PASSWORD = "partnergraph-demo"

PARTNER = "Alpine Web Partners"
FULL_CLIENT = "Favre Chocolatier"
LIMITED_CLIENT = "Bergbahn AG"
NEW_CLIENT = "Lac Leman Yachts"

LOGINS: list[tuple[str, str, Role, str]] = [
    ("rep@partner.example", "Anna Keller", Role.LEGAL_REPRESENTATIVE, PARTNER),
    ("admin@partner.example", "Marco Rossi", Role.ADMINISTRATOR, PARTNER),
    ("collab@partner.example", "Lena Meier", Role.COLLABORATOR, PARTNER),
    ("rep@full.example", "Claire Favre", Role.LEGAL_REPRESENTATIVE, FULL_CLIENT),
    ("rep@limited.example", "Urs Brunner", Role.LEGAL_REPRESENTATIVE, LIMITED_CLIENT),
    ("rep@new.example", "Julie Morel", Role.LEGAL_REPRESENTATIVE, NEW_CLIENT),
]


@lru_cache(maxsize=1)
def _demo_hash() -> str:
    return hash_password(DEMO_PASSWORD)


@dataclass
class DemoWorld:
    organizations: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    partner_id: int = 0
    grants: dict[str, int] = field(default_factory=dict)
    products: dict[str, list[int]] = field(default_factory=dict)
    invoices: dict[str, list[int]] = field(default_factory=dict)


async def _organization(session: AsyncSession, name: str, currency: Currency) -> Organization:
    org = await session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        org = Organization(
            name=name,
            currency=currency,
            support_code=new_support_code(),
            registration_number="CHE-100.000.001" if name == PARTNER else None,
            website="https://alpine-web.example" if name == PARTNER else None,
        )
        session.add(org)
        await session.flush()
    return org


async def _products(
    session: AsyncSession, org: Organization, specs: list[tuple[str, str, str, int]]
) -> list[int]:
    ids = []
    for kind, family, name, quantity in specs:
        product = await session.scalar(
            select(Product).where(Product.organization_id == org.id, Product.name == name)
        )
        if product is None:
            product = Product(
                organization_id=org.id,
                kind=kind,
                family=family,
                name=name,
                quantity=quantity,
                renews_at=utcnow() + timedelta(days=180),
            )
            session.add(product)
            await session.flush()
        ids.append(product.id)
    return ids


async def _invoice(
    session: AsyncSession,
    payer: Organization,
    client: Organization,
    lines: list[tuple[str, int, str]],
    product_ids: list[int],
) -> int:
    existing = await session.scalar(
        select(Invoice).where(Invoice.organization_id == payer.id, Invoice.client_id == client.id)
    )
    if existing is not None:
        return existing.id
    sequence = (
        await session.scalar(
            select(Invoice.sequence)
            .where(Invoice.organization_id == payer.id)
            .order_by(Invoice.sequence.desc())
            .limit(1)
        )
        or 0
    ) + 1
    total = sum((Decimal(price) * qty for _, qty, price in lines), Decimal("0.00"))
    invoice = Invoice(
        organization_id=payer.id,
        client_id=client.id,
        sequence=sequence,
        number=f"{payer.id:04d}-{sequence:06d}",
        currency=payer.currency,
        total_amount=total,
    )
    session.add(invoice)
    await session.flush()
    for position, ((description, qty, price), product_id) in enumerate(
        zip(lines, product_ids, strict=False), start=1
    ):
        session.add(
            InvoiceLine(
                invoice_id=invoice.id,
                position=position,
                product_id=product_id,
                description=description,
                quantity=qty,
                unit_price=Decimal(price),
                amount=Decimal(price) * qty,
            )
        )
    return invoice.id


async def _grant(
    session: AsyncSession,
    partner: Partner,
    client: Organization,
    inviter: int,
    level: AccessLevel,
    payment_methods: PaymentMethods | None,
    product_ids: list[int],
) -> int:
    grant = await session.scalar(
        select(Grant).where(Grant.partner_id == partner.id, Grant.client_id == client.id)
    )
    if grant is None:
        grant = Grant(
            partner_id=partner.id,
            client_id=client.id,
            initiated_by=Side.CLIENT,
            status=GrantStatus.ACTIVE,
            requested_level=level,
            requested_payment_methods=payment_methods,
            requested_product_ids=product_ids,
            level=level,
            payment_methods=payment_methods,
            invited_by_user_id=inviter,
            accepted_at=utcnow(),
        )
        session.add(grant)
        await session.flush()
        session.add_all(GrantProduct(grant_id=grant.id, product_id=p) for p in product_ids)
    return grant.id


async def seed_demo(sessionmaker: async_sessionmaker[AsyncSession]) -> DemoWorld:
    world = DemoWorld()
    async with transaction(sessionmaker) as session:
        orgs = {
            PARTNER: await _organization(session, PARTNER, Currency.CHF),
            FULL_CLIENT: await _organization(session, FULL_CLIENT, Currency.CHF),
            LIMITED_CLIENT: await _organization(session, LIMITED_CLIENT, Currency.CHF),
            NEW_CLIENT: await _organization(session, NEW_CLIENT, Currency.EUR),
        }
        world.organizations = {name: org.id for name, org in orgs.items()}
        for email, full_name, role, org_name in LOGINS:
            user = await session.scalar(select(User).where(User.email == email))
            if user is None:
                user = User(
                    email=email,
                    full_name=full_name,
                    password_hash=_demo_hash(),
                    email_verified_at=utcnow(),  # demo accounts act at once
                )
                session.add(user)
                await session.flush()
                session.add(
                    Membership(user_id=user.id, organization_id=orgs[org_name].id, role=role)
                )
            world.users[email] = user.id
        partner = await session.scalar(
            select(Partner).where(Partner.organization_id == orgs[PARTNER].id)
        )
        if partner is None:
            partner = Partner(organization_id=orgs[PARTNER].id)
            session.add(partner)
            await session.flush()
        world.partner_id = partner.id

        world.products[FULL_CLIENT] = await _products(
            session,
            orgs[FULL_CLIENT],
            [
                ("web_hosting", "WEB_HOSTING", "favre-chocolatier.ch", 1),
                ("mail_hosting", "MAIL_HOSTING", "mail.favre-chocolatier.ch", 5),
                ("domain_ch", "DOMAINS", "favre-chocolatier.ch domain", 1),
            ],
        )
        world.products[LIMITED_CLIENT] = await _products(
            session,
            orgs[LIMITED_CLIENT],
            [
                ("web_hosting", "WEB_HOSTING", "bergbahn.ch", 1),
                ("mail_hosting", "MAIL_HOSTING", "mail.bergbahn.ch", 12),
                ("kdrive", "STORAGE", "Bergbahn kDrive", 1),
            ],
        )
        world.products[NEW_CLIENT] = await _products(
            session,
            orgs[NEW_CLIENT],
            [("web_hosting", "WEB_HOSTING", "lacleman-yachts.ch", 1)],
        )
        rep = world.users["rep@full.example"]
        world.grants[FULL_CLIENT] = await _grant(
            session, partner, orgs[FULL_CLIENT], rep, AccessLevel.FULL, PaymentMethods.PARTNER, []
        )
        world.grants[LIMITED_CLIENT] = await _grant(
            session,
            partner,
            orgs[LIMITED_CLIENT],
            world.users["rep@limited.example"],
            AccessLevel.LIMITED,
            None,
            world.products[LIMITED_CLIENT][:2],
        )
        collab = await session.scalar(
            select(Membership).where(
                Membership.user_id == world.users["collab@partner.example"],
                Membership.organization_id == orgs[PARTNER].id,
            )
        )
        assert collab is not None
        if await session.get(CollaboratorClient, (collab.id, orgs[FULL_CLIENT].id)) is None:
            session.add(CollaboratorClient(membership_id=collab.id, client_id=orgs[FULL_CLIENT].id))

        # Who paid follows the grant: partner-paid only under FULL + PARTNER.
        full_products = world.products[FULL_CLIENT]
        world.invoices[FULL_CLIENT] = [
            await _invoice(
                session,
                orgs[FULL_CLIENT],
                orgs[FULL_CLIENT],
                [("Web hosting, 12 months", 12, "9.92")],
                full_products[:1],
            ),
            await _invoice(
                session,
                orgs[PARTNER],
                orgs[FULL_CLIENT],
                [("Mail hosting, 5 accounts, 12 months", 60, "1.65")],
                full_products[1:2],
            ),
        ]
        world.invoices[LIMITED_CLIENT] = [
            await _invoice(
                session,
                orgs[LIMITED_CLIENT],
                orgs[LIMITED_CLIENT],
                [("Web hosting, 12 months", 12, "9.92")],
                world.products[LIMITED_CLIENT][:1],
            )
        ]
        world.invoices[NEW_CLIENT] = [
            await _invoice(
                session,
                orgs[NEW_CLIENT],
                orgs[NEW_CLIENT],
                [("Web hosting, 12 months", 12, "5.75")],
                world.products[NEW_CLIENT],
            )
        ]
    return world
