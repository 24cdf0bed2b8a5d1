"""The dashboard bench's world, written in bulk by SQL (``INSERT ... SELECT generate_series``).

One partner organization per size (10, 1,000, 100,000 clients), each with a legal
representative logged in (a session token), plus one organization without a partner
for the ``{ __typename }`` probes. Every client has an active grant, 20 products and 20
invoices (10 it paid, 10 its partner paid). The grants cycle through the three paths of
the dashboard: FULL + PARTNER payment (products and partner-paid invoices shown), FULL +
CLIENT payment (products shown, ``invoices`` FORBIDDEN), LIMITED on 10 of the 20 products
(those shown, ``invoices`` FORBIDDEN).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import asyncpg

PRODUCTS_PER_CLIENT = 20
INVOICES_PER_CLIENT = 20
GRANTED_PER_LIMITED = 10


@dataclass(frozen=True)
class PartnerWorld:
    clients: int
    organization_id: int
    partner_id: int
    token: str


def token_digest(secret_key: str, token: str) -> str:
    # As resolvers.tokens.digest (the bench writes rows directly, so it states it once here).
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


async def _user_with_session(
    conn: asyncpg.Connection, label: str, org_id: int, secret_key: str
) -> str:
    user_id = await conn.fetchval(
        "INSERT INTO users (created_at, email, full_name, password_hash, email_verified_at) "
        "VALUES (now(), $1, $2, 'not-a-hash', now()) RETURNING id",
        f"rep-{label}@bench.example",
        f"Rep {label}",
    )
    await conn.execute(
        "INSERT INTO memberships (created_at, user_id, organization_id, role, all_clients) "
        "VALUES (now(), $1, $2, 'LEGAL_REPRESENTATIVE', false)",
        user_id,
        org_id,
    )
    token = f"pgs_bench-{label}"
    await conn.execute(
        "INSERT INTO auth_sessions (created_at, user_id, token_hash, expires_at) "
        "VALUES (now(), $1, $2, now() + interval '7 days')",
        user_id,
        token_digest(secret_key, token),
    )
    return token


async def _organization(conn: asyncpg.Connection, name: str, code: str) -> int:
    org_id: int = await conn.fetchval(
        "INSERT INTO organizations (created_at, name, kind, currency, support_code, "
        "premium_support) VALUES (now(), $1, 'COMPANY', 'CHF', $2, false) RETURNING id",
        name,
        code,
    )
    return org_id


async def seed_partner(
    conn: asyncpg.Connection, label: str, clients: int, secret_key: str
) -> PartnerWorld:
    """A partner with `clients` clients, each with its grant, products and invoices."""
    org_id = await _organization(conn, f"Partner {label}", f"P-{label}")
    partner_id = await conn.fetchval(
        "INSERT INTO partners (created_at, organization_id, status) "
        "VALUES (now(), $1, 'ACTIVE') RETURNING id",
        org_id,
    )
    token = await _user_with_session(conn, label, org_id, secret_key)
    inviter = await conn.fetchval(
        "SELECT user_id FROM memberships WHERE organization_id = $1", org_id
    )
    # Clients: organizations, then one active grant each (k = the client's index).
    await conn.execute(
        "CREATE TEMP TABLE bench_clients AS "
        "WITH made AS (INSERT INTO organizations (created_at, name, kind, currency, "
        "  support_code, premium_support) "
        "  SELECT now(), 'Client ' || $1 || '-' || lpad(k::text, 6, '0'), 'COMPANY', 'CHF', "
        "    'C' || $1 || '-' || k, false FROM generate_series(0, $2 - 1) AS k "
        "  RETURNING id, support_code) "
        "SELECT id, split_part(support_code, '-', 2)::int AS k FROM made",
        label,
        clients,
    )
    await conn.execute(
        "INSERT INTO grants (created_at, updated_at, partner_id, client_id, initiated_by, "
        "  status, requested_level, requested_payment_methods, requested_families, "
        "  requested_product_ids, level, payment_methods, invitations_sent, "
        "  invited_by_user_id, accepted_at, version) "
        "SELECT now(), now(), $1, c.id, 'CLIENT', 'ACTIVE', "
        "  CASE WHEN c.k % 3 = 2 THEN 'LIMITED' ELSE 'FULL' END, NULL, '[]', '[]', "
        "  CASE WHEN c.k % 3 = 2 THEN 'LIMITED' ELSE 'FULL' END, "
        "  CASE c.k % 3 WHEN 0 THEN 'PARTNER' WHEN 1 THEN 'CLIENT' END, 1, $2, now(), 1 "
        "FROM bench_clients c ORDER BY c.k",
        partner_id,
        inviter,
    )
    await conn.execute(
        "INSERT INTO products (created_at, organization_id, kind, family, name, quantity, "
        "  status) "
        "SELECT now(), c.id, 'web_hosting', 'WEB_HOSTING', 'site-' || c.k || '-' || n || '.ch', "
        "  1, 'ACTIVE' FROM bench_clients c, generate_series(1, $1) AS n ORDER BY c.k, n",
        PRODUCTS_PER_CLIENT,
    )
    # Fresh statistics: without them the planner takes the new tables for empty and scans
    # the products once per client below (hours at 100,000 clients instead of seconds).
    await conn.execute("ANALYZE bench_clients; ANALYZE grants; ANALYZE products")
    await conn.execute(
        "INSERT INTO grant_products (grant_id, product_id) "
        "SELECT g.id, p.id FROM bench_clients c "
        "JOIN grants g ON g.client_id = c.id "
        "JOIN LATERAL (SELECT id FROM products WHERE organization_id = c.id "
        "  ORDER BY id LIMIT $1) p ON true WHERE c.k % 3 = 2",
        GRANTED_PER_LIMITED,
    )
    # Invoices: odd n paid by the partner (its own sequence), even n by the client.
    await conn.execute(
        "INSERT INTO invoices (created_at, organization_id, client_id, sequence, number, "
        "  currency, total_amount, status, issued_at) "
        "SELECT now(), CASE WHEN n % 2 = 1 THEN $1 ELSE c.id END, c.id, "
        "  c.k * $2 + n, 'INV-' || (c.k * $2 + n), 'CHF', 12.50 + n, 'PAID', now() "
        "FROM bench_clients c, generate_series(1, $2) AS n ORDER BY c.k, n",
        org_id,
        INVOICES_PER_CLIENT,
    )
    await conn.execute("DROP TABLE bench_clients")
    return PartnerWorld(clients, org_id, partner_id, token)


async def seed_plain_member(conn: asyncpg.Connection, secret_key: str) -> str:
    """A token of a member of an organization that is no partner: `{ __typename }` probes."""
    org_id = await _organization(conn, "Plain organization", "PLAIN")
    return await _user_with_session(conn, "plain", org_id, secret_key)
