"""Per-request DataLoaders: one query per relation per batch, all on the request's session.

Every batch runs on the request's `RequestSession` (one connection), one batch at a time
(see `db.session` for what a batch may do there). A batch that reads rows
another loader serves primes that loader (`DataLoader.prime`), so a later `load` costs no
SQL. Loaders fetch raw rows; the decision who may see them is domain.access's, made by the
schema's permission classes and the node resolvers before anything is returned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, String, and_, cast, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
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
from db.queries import grant_in_term
from db.session import RequestSession
from domain.access import GrantFacts, Viewer, partner_product_scope, product_limit
from domain.enums import AccessLevel, GrantStatus, Role
from domain.grants import effective_status
from resolvers.context import Services
from resolvers.pagination import (
    Page,
    PageRequest,
    ParentPages,
    fetch_pages_by_parent,
    fetch_row_page,
)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

PagedKey = tuple[int, PageRequest]

_NONE: frozenset[int] = frozenset()
# A grant's granted product ids as one string ("3,7"): string_agg / group_concat.
_GRANTED_PRODUCT_IDS = (
    select(func.aggregate_strings(cast(GrantProduct.product_id, String), ","))
    .where(GrantProduct.grant_id == Grant.id)
    .correlate(Grant)
    .scalar_subquery()
    .label("granted_product_ids")
)


def _group_by_request(keys: Sequence[PagedKey]) -> dict[PageRequest, list[int]]:
    groups: dict[PageRequest, list[int]] = defaultdict(list)
    for parent, request in keys:
        groups[request].append(parent)
    return groups


async def _forgotten(keys: Sequence[Any]) -> Sequence[Any]:
    raise RuntimeError("the request's loaders were forgotten: it is answered")


class BatchLoaders:
    """What every set of loaders shares: a DataLoader per relation whose batches run on the
    request's session, and loaders of rows by id. Sets for other areas (bids, orders)
    subclass it and are made per request by `RequestContext.loader_set`."""

    def __init__(self, db: RequestSession) -> None:
        self._db = db
        self._made: list[DataLoader[Any, Any]] = []

    def _loader(
        self, batch: Callable[[AsyncSession, Sequence[K]], Awaitable[Sequence[V]]]
    ) -> DataLoader[K, V]:
        async def load(keys: list[K]) -> Sequence[V]:
            async with self._db.use() as session:
                return await batch(session, keys)

        loader: DataLoader[K, V] = DataLoader(load_fn=load)
        self._made.append(loader)
        return loader

    def forget(self) -> None:
        """Drop everything loaded, once the request is answered. A loader and the set that
        made it refer to each other (its batch function is a method of the set), so only
        the cycle collector would free them and all they cached: a page's thousands of
        rows, kept alive until a collection walks them (most of the CPU the collector took
        per dashboard request). Emptied caches go at once, by reference counting."""
        for loader in self._made:
            loader.clear_all()
            loader.batch = None  # its last batch holds the futures of its last answers
            loader.load_fn = _forgotten  # its batch function refers back to this set
        self._made.clear()

    def _by_id(self, model: type[Any]) -> DataLoader[int, Any]:
        async def batch(session: AsyncSession, ids: Sequence[int]) -> list[Any]:
            rows = await session.scalars(select(model).where(model.id.in_(set(ids))))
            by_id = {row.id: row for row in rows}
            return [by_id.get(i) for i in ids]

        return self._loader(batch)


class Loaders(BatchLoaders):
    def __init__(self, services: Services, viewer: Viewer, db: RequestSession) -> None:
        super().__init__(db)
        self._viewer = viewer
        self._clock = services.clock
        self.organization: DataLoader[int, Organization | None] = self._loader(self._organizations)
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

    async def _organizations(
        self, session: AsyncSession, org_ids: Sequence[int]
    ) -> list[Organization | None]:
        """Organizations by id; their partner rows come along (primed, no second query)."""
        rows = (
            await session.execute(
                select(Organization, Partner)
                .outerjoin(Partner, Partner.organization_id == Organization.id)
                .where(Organization.id.in_(set(org_ids)))
            )
        ).all()
        by_id: dict[int, Organization | None] = {}
        for org, partner in rows:
            by_id[org.id] = org
            self.partner_by_organization.prime(org.id, partner)
            if partner is not None:
                self.partner.prime(partner.id, partner)
        return self._ordered(org_ids, by_id, None)

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

    def _fact(self, grant: Grant, partner_org: int, product_ids: str | None) -> GrantFacts:
        """GrantFacts from a `_grants_with_partner_org` row."""
        return GrantFacts(
            partner_organization_id=partner_org,
            client_organization_id=grant.client_id,
            # A pending invitation past its expiry shows nothing, even before the sweep.
            status=effective_status(
                grant.status,
                grant.invitation_expires_at,
                self._clock(),
                grant.ends_at,
                grant.renews_automatically,
            ),
            level=grant.level,
            payment_methods=grant.payment_methods,
            product_ids=frozenset(int(p) for p in product_ids.split(",")) if product_ids else _NONE,
            grant_id=grant.id,
        )

    async def _facts(self, session: AsyncSession, stmt: Any) -> list[GrantFacts]:
        return [self._fact(*row) for row in (await session.execute(stmt)).all()]

    def _grants_with_partner_org(self) -> Any:
        """Grant, its partner's organization id, its granted product ids ("1,2"): one row each."""
        return select(Grant, Partner.organization_id, _GRANTED_PRODUCT_IDS).join(
            Partner, Partner.id == Grant.partner_id
        )

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
        self, session: AsyncSession, keys: Sequence[PagedKey], pages: ParentPages[V]
    ) -> list[Page[V]]:
        results: dict[PagedKey, Page[V]] = {}
        for request, parents in _group_by_request(keys).items():
            for parent_id, page in (await pages.fetch(session, parents, request)).items():
                results[(parent_id, request)] = page
        return [results[k] for k in keys]

    async def _organization_products(
        self, session: AsyncSession, keys: Sequence[PagedKey]
    ) -> list[Page[Product]]:
        return await self._paged(session, keys, _ORGANIZATION_PRODUCTS)

    async def _client_products(
        self, session: AsyncSession, keys: Sequence[PagedKey]
    ) -> list[Page[Product]]:
        """Products a grant covers: the whole client (FULL) or its granted set (LIMITED);
        for a collaborator whose rights choose products, those of them the grant covers."""
        grant_ids = {k[0] for k in keys}
        chosen = await self._chosen_products(session, sorted(grant_ids))
        if not chosen:
            return await self._paged(session, keys, _CLIENT_PRODUCTS)
        stmt = _products_of_grants(grant_ids).where(
            or_(
                Grant.id.not_in(sorted(chosen)),
                *(and_(Grant.id == g, Product.id.in_(p)) for g, p in chosen.items()),
            )
        )
        results: dict[PagedKey, Page[Product]] = {}
        for request, parents in _group_by_request(keys).items():
            pages = await fetch_pages_by_parent(
                session, Product, stmt, Grant.id, Product.id, parents, request, plain_rows=True
            )
            for parent_id, page in pages.items():
                results[(parent_id, request)] = page
        return [results[k] for k in keys]

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
        return await self._paged(session, keys, _ORGANIZATION_INVOICES)

    async def _partner_paid_invoices(
        self, session: AsyncSession, keys: Sequence[PagedKey]
    ) -> list[Page[Invoice]]:
        """For each grant, the invoices its partner paid for the grant's client."""
        return await self._paged(session, keys, _PARTNER_PAID_INVOICES)

    def _acted_for(self) -> ColumnElement[bool]:
        """As domain.access.acts_for_client, in SQL, over grants joined to their partner:
        the partners whose organization the viewer is a member of (not an external one);
        for a collaborator, only the named (bound) clients."""
        acted: list[ColumnElement[bool]] = []
        for org_id, membership in self._viewer.memberships.items():
            if membership.role is Role.EXTERNAL:
                continue
            if membership.role is Role.COLLABORATOR:
                acts = (
                    Grant.client_id.is_not(None)
                    if membership.all_clients
                    else Grant.client_id.in_(membership.client_ids)
                )
                acted.append(and_(Partner.organization_id == org_id, acts))
            else:
                acted.append(Partner.organization_id == org_id)
        return or_(false(), *acted)

    async def _partner_grants(
        self, session: AsyncSession, keys: Sequence[PagedKey]
    ) -> list[Page[Grant]]:
        """A partner's clients: its pending (unexpired) and active grants, narrowed to the
        clients a collaborator viewer acts for. SPEC: a refused, cancelled, expired or
        stopped grant shows the partner nothing of the client, not even its name.

        One statement per partner page (`LIMIT`, so as fast at 100,000 clients as at 10),
        which also brings each grant's facts and client organization: the `grant`,
        `grant_facts` and `organization` loaders are primed with them."""
        live = or_(
            and_(Grant.status == GrantStatus.ACTIVE, grant_in_term(self._clock())),
            and_(
                Grant.status == GrantStatus.PENDING,
                or_(
                    Grant.invitation_expires_at.is_(None),
                    Grant.invitation_expires_at > self._clock(),
                ),
            ),
        )
        pages: dict[PagedKey, Page[Grant]] = {}
        for partner_id, request in dict.fromkeys(keys):
            stmt = (
                self._grants_with_partner_org()
                .add_columns(Organization)
                .outerjoin(Organization, Organization.id == Grant.client_id)
                .where(Grant.partner_id == partner_id, live, self._acted_for())
            )
            rows = await fetch_row_page(session, stmt, Grant.id, request)
            found: list[Any] = rows.items
            for grant, partner_org, product_ids, client in found:
                self.grant.prime(grant.id, grant)
                self.grant_facts.prime(grant.id, self._fact(grant, partner_org, product_ids))
                if client is not None:
                    self.organization.prime(client.id, client)
            pages[(partner_id, request)] = rows.map(lambda row: row[0])
        return [pages[k] for k in keys]

    async def _client_grants(
        self, session: AsyncSession, keys: Sequence[PagedKey]
    ) -> list[Page[Grant]]:
        return await self._paged(session, keys, _CLIENT_GRANTS)


# The paginated relations' statements, made once per page shape (`ParentPages`).


def _products_of_grants(grant_ids: Any) -> Any:
    """Products a grant covers: the whole client (FULL) or its granted set (LIMITED)."""
    granted = select(GrantProduct.product_id).where(GrantProduct.grant_id == Grant.id)
    return (
        select(Product)
        .join(Grant, Grant.client_id == Product.organization_id)
        .where(
            Grant.id.in_(grant_ids),
            or_(
                Grant.level == AccessLevel.FULL,
                and_(Grant.level == AccessLevel.LIMITED, Product.id.in_(granted)),
            ),
        )
    )


_ORGANIZATION_PRODUCTS = ParentPages(
    Product,
    lambda org_ids: select(Product).where(Product.organization_id.in_(org_ids)),
    Product.organization_id,
    Product.id,
)
# Shown, never changed: plain rows (`Product.of`, `Invoice.of` read the same attributes).
_CLIENT_PRODUCTS = ParentPages(Product, _products_of_grants, Grant.id, Product.id, plain_rows=True)
_ORGANIZATION_INVOICES = ParentPages(
    Invoice,
    lambda org_ids: select(Invoice).where(Invoice.organization_id.in_(org_ids)),
    Invoice.organization_id,
    Invoice.id,
)
_PARTNER_PAID_INVOICES = ParentPages(
    Invoice,
    # The payer as a correlated value, not a join: joined, PostgreSQL estimates a payer's
    # invoices at a client's few and walks all of them (16 ms at 1,000 clients, not 0.6).
    lambda grant_ids: (
        select(Invoice)
        .join(Grant, Grant.client_id == Invoice.client_id)
        .where(
            Grant.id.in_(grant_ids),
            Invoice.organization_id
            == select(Partner.organization_id)
            .where(Partner.id == Grant.partner_id)
            .scalar_subquery(),
        )
    ),
    Grant.id,
    Invoice.id,
    plain_rows=True,
)
_CLIENT_GRANTS = ParentPages(
    Grant,
    lambda org_ids: select(Grant).where(Grant.client_id.in_(org_ids)),
    Grant.client_id,
    Grant.id,
)
