"""The floor: the partner dashboard as a plain Starlette + SQLAlchemy handler.

It answers the bench's DASHBOARD query (and only it: the page sizes are read from the
query text) for a logged-in viewer who is a legal representative or administrator of
the organizations it belongs to, with the JSON bytes the GraphQL app answers: the same
objects, the same order, the same `FORBIDDEN` errors with their paths and locations.
One connection, five statements, rows straight from SQL into dicts and `orjson`.
It is what hand-written code costs, the yardstick the bench divides by.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

AUTH = text(
    "SELECT s.user_id, s.expires_at, s.revoked_at, m.organization_id, m.role "
    "FROM auth_sessions s JOIN memberships m ON m.user_id = s.user_id "
    "WHERE s.token_hash = :digest ORDER BY m.organization_id"
)
ORGANIZATIONS = text(
    "SELECT o.id, o.name, p.id AS partner_id FROM organizations o "
    "LEFT JOIN partners p ON p.organization_id = o.id WHERE o.id IN :ids ORDER BY o.id"
).bindparams(bindparam("ids", expanding=True))
GRANTS = text(
    "SELECT g.* FROM partners pa CROSS JOIN LATERAL ("
    " SELECT g.id, g.partner_id, g.client_id, g.invitee_email, g.status, g.level, "
    "  g.payment_methods, o.name FROM grants g "
    " LEFT JOIN organizations o ON o.id = g.client_id "
    " WHERE g.partner_id = pa.id AND (g.status = 'ACTIVE' OR (g.status = 'PENDING' AND "
    "  (g.invitation_expires_at IS NULL OR g.invitation_expires_at > :now))) "
    " ORDER BY g.id LIMIT :first) g WHERE pa.id IN :partners ORDER BY g.partner_id, g.id"
).bindparams(bindparam("partners", expanding=True))
PRODUCTS = text(
    "SELECT grant_id, name, family FROM ("
    " SELECT g.id AS grant_id, p.id, p.name, p.family, "
    "  row_number() OVER (PARTITION BY g.id ORDER BY p.id) AS rank "
    " FROM grants g JOIN products p ON p.organization_id = g.client_id WHERE g.id IN :full"
    " UNION ALL"
    " SELECT gp.grant_id, p.id, p.name, p.family, "
    "  row_number() OVER (PARTITION BY gp.grant_id ORDER BY p.id) AS rank "
    " FROM grant_products gp JOIN products p ON p.id = gp.product_id WHERE gp.grant_id IN :limited"
    ") x WHERE rank <= :first ORDER BY grant_id, id"
).bindparams(bindparam("full", expanding=True), bindparam("limited", expanding=True))
INVOICES = text(
    "SELECT client_id, number, total_amount, currency FROM ("
    " SELECT i.client_id, i.id, i.number, i.total_amount, i.currency, "
    "  row_number() OVER (PARTITION BY i.client_id ORDER BY i.id) AS rank "
    " FROM invoices i WHERE i.organization_id = :payer AND i.client_id IN :clients"
    ") x WHERE rank <= :first ORDER BY client_id, id"
).bindparams(bindparam("clients", expanding=True))

BILLING = {"LEGAL_REPRESENTATIVE", "ADMINISTRATOR"}
FORBIDDEN = "You may not read this field."


def global_id(kind: str, key: int) -> str:
    return base64.b64encode(f"{kind}:{key}".encode()).decode()


def _first(query: str, field: str) -> int:
    found = re.search(field + r"\(first:\s*(\d+)", query)
    return int(found.group(1)) if found else 100


def _location(query: str, field: str) -> dict[str, int]:
    at = query.index(field + "(")
    line = query.count("\n", 0, at) + 1
    return {"line": line, "column": at - (query.rfind("\n", 0, at) + 1) + 1}


def _dashboard_app(engine: AsyncEngine, secret_key: str) -> Starlette:
    async def graphql(request: Request) -> Response:
        body = orjson.loads(await request.body())
        query: str = body["query"]
        _, _, token = request.headers.get("authorization", "").partition(" ")
        digest = hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()
        async with engine.connect() as conn:
            viewer = (await conn.execute(AUTH, {"digest": digest})).all()
            now = datetime.now(UTC)
            if not viewer or viewer[0].revoked_at is not None or viewer[0].expires_at <= now:
                return Response(orjson.dumps({"data": None}), media_type="application/json")
            roles = {row.organization_id: row.role for row in viewer}
            orgs = (await conn.execute(ORGANIZATIONS, {"ids": list(roles)})).all()
            partners = [o.partner_id for o in orgs if o.partner_id is not None]
            grants_by_partner: dict[int, list[Any]] = defaultdict(list)
            size = _first(query, "clients")
            if partners:
                params = {"partners": partners, "now": now, "first": size}
                for grant in await conn.execute(GRANTS, params):
                    grants_by_partner[grant.partner_id].append(grant)
            page = [g for gs in grants_by_partner.values() for g in gs]
            products: dict[int, list[dict[str, Any]]] = defaultdict(list)
            invoices: dict[int, list[dict[str, Any]]] = defaultdict(list)
            if page:
                full = [g.id for g in page if g.level == "FULL"] or [0]
                limited = [g.id for g in page if g.level == "LIMITED"] or [0]
                params = {"full": full, "limited": limited, "first": _first(query, "products")}
                for row in await conn.execute(PRODUCTS, params):
                    products[row.grant_id].append(
                        {"node": {"name": row.name, "family": row.family}}
                    )
                paid = [g.client_id for g in page if g.payment_methods == "PARTNER"]
                payer = {o.partner_id: o.id for o in orgs}
                if paid:
                    params = {
                        "payer": payer[page[0].partner_id],
                        "clients": paid,
                        "first": _first(query, "invoices"),
                    }
                    for row in await conn.execute(INVOICES, params):
                        amount = {"amount": str(row.total_amount), "currency": row.currency}
                        invoices[row.client_id].append(
                            {"node": {"number": row.number, "total": amount}}
                        )
        errors: list[dict[str, Any]] = []
        memberships = []
        for m, org in enumerate(orgs):
            partner: dict[str, Any] | None = None
            if org.partner_id is not None:
                edges = []
                for e, g in enumerate(grants_by_partner.get(org.partner_id, [])):
                    readable = (
                        g.level == "FULL"
                        and g.payment_methods == "PARTNER"
                        and roles[org.id] in BILLING
                    )
                    if not readable:
                        path = ["viewer", "memberships", m, "organization", "partner"]
                        path += ["clients", "edges", e, "node", "invoices"]
                        errors.append(
                            {
                                "message": FORBIDDEN,
                                "locations": [_location(query, "invoices")],
                                "path": path,
                                "extensions": {"code": "FORBIDDEN"},
                            }
                        )
                    node = {
                        "id": global_id("Client", g.id),
                        "name": g.name if g.client_id is not None else g.invitee_email or "",
                        "grant": {
                            "status": g.status,
                            "level": g.level,
                            "paymentMethods": g.payment_methods,
                        },
                        "products": {"edges": products.get(g.id, [])},
                        "invoices": {"edges": invoices.get(g.client_id, [])} if readable else None,
                    }
                    edges.append({"node": node})
                partner = {"id": global_id("Partner", org.partner_id), "clients": {"edges": edges}}
            memberships.append(
                {
                    "role": roles[org.id],
                    "organization": {
                        "id": global_id("Organization", org.id),
                        "name": org.name,
                        "partner": partner,
                    },
                }
            )
        answer: dict[str, Any] = {"data": {"viewer": {"memberships": memberships}}}
        if errors:
            answer["errors"] = errors
        return Response(orjson.dumps(answer), media_type="application/json")

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])


def floor_app(engine: AsyncEngine) -> Starlette:
    return _dashboard_app(engine, os.environ["PARTNERGRAPH_SECRET_KEY"])
