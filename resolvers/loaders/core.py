"""Per-request DataLoaders: one query per relation per batch, each batch in its own session.

Sibling GraphQL fields resolve concurrently, so no batch shares an AsyncSession with
another. Loaders fetch raw rows; the decision who may see them is domain.access's, made
by the schema's permission classes and the node resolvers before anything is returned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from db.models import (
    Grant,
    GrantProduct,
    Invoice,
    InvoiceLine,
    Organization,
    Partner,
    Product,
    User,
)
from domain.access import GrantFacts, Viewer, partner_product_scope, product_limit
from domain.enums import AccessLevel, GrantStatus, Role
from domain.grants import effective_status
from resolvers.context import Services
from resolvers.pagination import Page, PageRequest, fetch_pages_by_parent

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

PagedKey = tuple[int, PageRequest]


def _group_by_request(keys: Sequence[PagedKey]) -> dict[PageRequest, list[int]]:
    groups: dict[PageRequest, list[int]] = defaultdict(list)
    for parent, request in keys:
        groups[request].append(parent)
    return groups


class BatchLoaders:
    """What every set of loaders shares: a DataLoader per relation whose batches each open
    their own session, and loaders of rows by id. Sets for other areas (bids, orders)
    subclass it and are made per request by `RequestContext.loader_set`."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    def _loader(
        self, batch: Callable[[AsyncSession, Sequence[K]], Awaitable[Sequence[V]]]
    ) -> DataLoader[K, V]:
        async def load(keys: list[K]) -> Sequence[V]:
            async with self._sessionmaker() as session:
                return await batch(session, keys)

        return DataLoader(load_fn=load)

    def _by_id(self, model: type[Any]) -> DataLoader[int, Any]:
        async def batch(session: AsyncSession, ids: Sequence[int]) -> list[Any]:
            rows = await session.scalars(select(model).where(model.id.in_(set(ids))))
            by_id = {row.id: row for row in rows}
            return [by_id.get(i) for i in ids]

        return self._loader(batch)


class Loaders(BatchLoaders):
    def __init__(self, services: Services, viewer: Viewer) -> None:
        super().__init__(services.sessionmaker)
        self._viewer = viewer
        self._clock = services.clock
        self.organization = self._by_id(Organization)
        self.user = self._by_id(User)
        self.partner = self._by_id(Partner)
        self.grant = self._by_id(Grant)
        self.product = self._by_id(Product)
        self.invoice = self._by_id(Invoice)
        self.partner_by_organization: DataLoader[int, Partner | None] = self._loader(
            self._partner_by_organization
        )
        self.grant_product_ids: DataLoader[int, frozenset[int]] = self._loader(
            self._grant_product_ids
        )
        self.grant_facts: DataLoader[int, GrantFacts | None] = self._loader(self._grant_facts)
        self.live_grants_on_client: DataLoader[int, list[GrantFacts]] = self._loader(
            self._live_grants_on_client
        )
        self.invoice_lines: DataLoader[int, list[InvoiceLine]] = self._loader(self._invoice_lines)
        self.organization_products: DataLoader[PagedKey, Page[Product]] = self._loader(
            self._organization_products
        )
        self.client_products: DataLoader[PagedKey, Page[Product]] = self._loader(
            self._client_products
        )
        self.organization_invoices: DataLoader[PagedKey, Page[Invoice]] = self._loader(
            self._organization_invoices
        )
        self.partner_paid_invoices: DataLoader[PagedKey, Page[Invoice]] = self._loader(
            self._partner_paid_invoices
        )
        self.partner_grants: DataLoader[PagedKey, Page[Grant]] = self._loader(self._partner_grants)
        self.client_grants: DataLoader[PagedKey, Page[Grant]] = self._loader(self._client_grants)

    @staticmethod
    def _ordered(keys: Iterable[K], values: dict[K, V], default: V) -> list[V]:
        return [values.get(k, default) for k in keys]

    # -- relations --------------------------------------------------------------------

    async def _partner_by_organization(
        self, session: AsyncSession, org_ids: Sequence[int]
    ) -> list[Partner | None]:
        rows = await session.scalars(select(Partner).where(Partner.organization_id.in_(org_ids)))
        by_org: dict[int, Partner | None] = {p.organization_id: p for p in rows}
        return self._ordered(org_ids, by_org, None)

    async def _grant_product_ids(
        self, session: AsyncSession, grant_ids: Sequence[int]
    ) -> list[frozenset[int]]:
        found: dict[int, set[int]] = defaultdict(set)
        for grant_id, product_id in await session.execute(
            select(GrantProduct.grant_id, GrantProduct.product_id).where(
                GrantProduct.grant_id.in_(grant_ids)
            )
        ):
            found[grant_id].add(product_id)
        return [frozenset(found.get(g, ())) for g in grant_ids]

    async def _facts(self, session: AsyncSession, stmt: Any) -> list[GrantFacts]:
        rows = (await session.execute(stmt)).all()
        product_ids = await self._grant_product_ids(session, [grant.id for grant, _ in rows])
        now = self._clock()
        return [
            GrantFacts(
                partner_organization_id=partner_org,
                client_organization_id=grant.client_id,
                # A pending invitation past its expiry shows nothing, even before the sweep.
                status=effective_status(grant.status, grant.invitation_expires_at, now),
                level=grant.level,
                payment_methods=grant.payment_methods,
                product_ids=products,
                grant_id=grant.id,
            )
            for (grant, partner_org), products in zip(rows, product_ids, strict=True)
        ]

    def _grants_with_partner_org(self) -> Any:
        return select(Grant, Partner.organization_id).join(Partner, Partner.id == Grant.partner_id)

    async def _grant_facts(
        self, session: AsyncSession, grant_ids: Sequence[int]
    ) -> list[GrantFacts | None]:
        facts = await self._facts(
            session, self._grants_with_partner_org().where(Grant.id.in_(grant_ids))
        )
        by_id: dict[int, GrantFacts | None] = {f.grant_id: f for f in facts}
        return self._ordered(grant_ids, by_id, None)

    async def _live_grants_on_client(
        self, session: AsyncSession, client_ids: Sequence[int]
    ) -> list[list[GrantFacts]]:
        """Active or pending grants between the viewer's organizations and these clients."""
        mine = list(self._viewer.memberships)
        if not mine:
            return [[] for _ in client_ids]
        facts = await self._facts(
            session,
            self._grants_with_partner_org().where(
                Grant.client_id.in_(client_ids),
                Partner.organization_id.in_(mine),
                Grant.status.in_([GrantStatus.ACTIVE, GrantStatus.PENDING]),
            ),
        )
        grouped: dict[int, list[GrantFacts]] = defaultdict(list)
        for fact in facts:
            if fact.client_organization_id is not None:
                grouped[fact.client_organization_id].append(fact)
        return [grouped.get(c, []) for c in client_ids]

    async def _invoice_lines(
        self, session: AsyncSession, invoice_ids: Sequence[int]
    ) -> list[list[InvoiceLine]]:
        grouped: dict[int, list[InvoiceLine]] = defaultdict(list)
        rows = await session.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id.in_(invoice_ids))
            .order_by(InvoiceLine.position)
        )
        for line in rows:
            grouped[line.invoice_id].append(line)
        return [grouped.get(i, []) for i in invoice_ids]

    # -- paginated relations ----------------------------------------------------------

    async def _paged(
        self,
        session: AsyncSession,
        keys: Sequence[PagedKey],
        model: type[V],
        stmt: Any,
        parent: Any,
    ) -> list[Page[V]]:
        results: dict[PagedKey, Page[V]] = {}
        for request, parents in _group_by_request(keys).items():
            key: Any = getattr(model, "id")  # noqa: B009 - generic over the models
            pages = await fetch_pages_by_parent(session, model, stmt, parent, key, parents, request)
            for parent_id, page in pages.items():
                results[(parent_id, request)] = page
        return [results[k] for k in keys]

    async def _organization_products(
        self, session: AsyncSession, keys: Sequence[PagedKey]
    ) -> list[Page[Product]]:
        org_ids = {k[0] for k in keys}
        stmt = select(Product).where(Product.organization_id.in_(org_ids))
        return await self._paged(session, keys, Product, stmt, Product.organization_id)

    async def _client_products(
        self, session: AsyncSession, keys: Sequence[PagedKey]
    ) -> list[Page[Product]]:
        """Products a grant covers: the whole client (FULL) or its granted set (LIMITED);
        for a collaborator whose rights choose products, those of them the grant covers."""
        all_keys = keys
        grant_ids = {k[0] for k in keys}
        pages: dict[PagedKey, Page[Product]] = {}
        chosen = await self._chosen_products(session, sorted(grant_ids))
        chosen_keys = [k for k in keys if k[0] in chosen]
        if chosen_keys:
            stmt = (
                select(Product)
                .join(Grant, Grant.client_id == Product.organization_id)
                .where(or_(*(and_(Grant.id == g, Product.id.in_(p)) for g, p in chosen.items())))
            )
            for key, page in zip(
                chosen_keys,
                await self._paged(session, chosen_keys, Product, stmt, Grant.id),
                strict=True,
            ):
                pages[key] = page
            keys = [k for k in keys if k[0] not in chosen]
            grant_ids -= chosen.keys()
        grants = {
            g.id: g for g in await session.scalars(select(Grant).where(Grant.id.in_(grant_ids)))
        }
        full = {
            g.id: g.client_id
            for g in grants.values()
            if g.level is AccessLevel.FULL and g.client_id is not None
        }
        limited = [g.id for g in grants.values() if g.level is AccessLevel.LIMITED]
        full_keys = [(full[g], r) for g, r in keys if g in full]
        if full_keys:
            by_org = await self._organization_products(session, full_keys)
            for (org_id, request), page in zip(full_keys, by_org, strict=True):
                for grant_id, client_id in full.items():
                    if client_id == org_id:
                        pages[(grant_id, request)] = page
        limited_keys = [(g, r) for g, r in keys if g in limited]
        if limited_keys:
            stmt = (
                select(Product)
                .join(GrantProduct, GrantProduct.product_id == Product.id)
                .where(GrantProduct.grant_id.in_(limited))
            )
            for key, page in zip(
                limited_keys,
                await self._paged(session, limited_keys, Product, stmt, GrantProduct.grant_id),
                strict=True,
            ):
                pages[key] = page
        return [pages.get(k, Page.empty()) for k in all_keys]

    async def _chosen_products(
        self, session: AsyncSession, grant_ids: Sequence[int]
    ) -> dict[int, frozenset[int]]:
        """Grants on which the viewer's collaborator rights choose products: the products
        it sees there (`domain.access.partner_product_scope`)."""
        if not any(m.product_ids for m in self._viewer.memberships.values()):
            return {}
        chosen: dict[int, frozenset[int]] = {}
        for facts in await self._grant_facts(session, grant_ids):
            if facts is None or self._viewer.is_member(facts.client_organization_id or 0):
                continue
            limit = product_limit(
                self._viewer.memberships.get(facts.partner_organization_id),
                facts.client_organization_id,
            )
            if limit is not None:
                chosen[facts.grant_id] = partner_product_scope(self._viewer, facts) or frozenset()
        return chosen

    async def _organization_invoices(
        self, session: AsyncSession, keys: Sequence[PagedKey]
    ) -> list[Page[Invoice]]:
        org_ids = {k[0] for k in keys}
        stmt = select(Invoice).where(Invoice.organization_id.in_(org_ids))
        return await self._paged(session, keys, Invoice, stmt, Invoice.organization_id)

    async def _partner_paid_invoices(
        self, session: AsyncSession, keys: Sequence[PagedKey]
    ) -> list[Page[Invoice]]:
        """For each grant, the invoices its partner paid for the grant's client."""
        grant_ids = {k[0] for k in keys}
        stmt = (
            select(Invoice)
            .join(Grant, Grant.client_id == Invoice.client_id)
            .join(Partner, Partner.id == Grant.partner_id)
            .where(Grant.id.in_(grant_ids), Invoice.organization_id == Partner.organization_id)
        )
        return await self._paged(session, keys, Invoice, stmt, Grant.id)

    async def _partner_grants(
        self, session: AsyncSession, keys: Sequence[PagedKey]
    ) -> list[Page[Grant]]:
        """A partner's clients: its pending (unexpired) and active grants, narrowed to the
        clients a collaborator viewer acts for. SPEC: a refused, cancelled, expired or
        stopped grant shows the partner nothing of the client, not even its name."""
        partner_ids = {k[0] for k in keys}
        live = or_(
            Grant.status == GrantStatus.ACTIVE,
            and_(
                Grant.status == GrantStatus.PENDING,
                or_(
                    Grant.invitation_expires_at.is_(None),
                    Grant.invitation_expires_at > self._clock(),
                ),
            ),
        )
        stmt = (
            select(Grant)
            .join(Partner, Partner.id == Grant.partner_id)
            .where(Grant.partner_id.in_(partner_ids), live)
        )
        partners = {
            p.id: p.organization_id
            for p in await session.scalars(select(Partner).where(Partner.id.in_(partner_ids)))
        }
        for partner_id, org_id in partners.items():
            membership = self._viewer.memberships.get(org_id)
            if membership is None or membership.role is Role.EXTERNAL:
                stmt = stmt.where(Grant.partner_id != partner_id)
            elif membership.role is Role.COLLABORATOR:
                # As domain.access.acts_for_client: a named (bound) client only.
                acts = (
                    Grant.client_id.is_not(None)
                    if membership.all_clients
                    else Grant.client_id.in_(membership.client_ids)
                )
                stmt = stmt.where((Grant.partner_id != partner_id) | acts)
        return await self._paged(session, keys, Grant, stmt, Grant.partner_id)

    async def _client_grants(
        self, session: AsyncSession, keys: Sequence[PagedKey]
    ) -> list[Page[Grant]]:
        org_ids = {k[0] for k in keys}
        stmt = select(Grant).where(Grant.client_id.in_(org_ids))
        return await self._paged(session, keys, Grant, stmt, Grant.client_id)
