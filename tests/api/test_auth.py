"""Sign-up, login, logout, session expiry and API tokens, over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from db.models import ApiToken, AuditEvent, AuthSession, OutboxMessage, utcnow
from resolvers.demo import PARTNER
from resolvers.tokens import digest
from tests.api.spine_support import INVITE, Maker, audit_events, last_ids
from tests.conftest import TEST_SECRET, Api, gid, login

LOGIN = """mutation($i: LoginInput!) { login(input: $i) {
  token expiresAt user { email } userErrors { field message code } } }"""
LOGOUT = "mutation { logout { ok userErrors { code } } }"
ME = "query { viewer { user { email } memberships { role organization { id name } } } }"
CREATE_TOKEN = """mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) {
  secret apiToken { id name prefix access expiresAt revokedAt }
  userErrors { field message code } } }"""
REVOKE_TOKEN = """mutation($i: RevokeApiTokenInput!) { revokeApiToken(input: $i) {
  apiToken { id revokedAt } userErrors { code } } }"""
CLIENTS = """query($p: ID!) { node(id: $p) { ... on Partner { clients { edges { node {
  name } } } } } }"""


async def test_a_wrong_email_and_a_wrong_password_answer_alike(api: Api, world: Any) -> None:
    answers = []
    for email, password in [
        ("nobody@partner.example", "partnergraph-demo"),
        ("rep@partner.example", "wrong-password"),
        ("rep@partner.example", ""),
    ]:
        data = await api.ok(LOGIN, {"i": {"email": email, "password": password}})
        answers.append(data["login"])
    assert answers[0]["userErrors"] == [
        {
            "field": None,
            "message": "The email or the password is wrong.",
            "code": "INVALID_CREDENTIALS",
        }
    ]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["token"] is None
    assert answers[0]["user"] is None


async def test_logout_revokes_the_token(api: Api, world: Any) -> None:
    first = await login(api, "rep@partner.example")
    second = await login(api, "rep@partner.example")
    data = await api.ok(LOGOUT, token=first)
    assert data["logout"] == {"ok": True, "userErrors": []}
    result = await api.gql(ME, token=first)
    assert result.error_codes() == ["UNAUTHENTICATED"]
    again = await api.gql(LOGOUT, token=first)
    assert again.error_codes() == ["UNAUTHENTICATED"]
    # Only that login ends; the other one still works.
    assert (await api.ok(ME, token=second))["viewer"]["user"]["email"] == "rep@partner.example"


async def test_an_expired_session_is_rejected(api: Api, sessionmaker: Maker, world: Any) -> None:
    token = await login(api, "rep@partner.example")
    assert (await api.gql(ME, token=token)).errors == []
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(AuthSession)
            .where(AuthSession.token_hash == digest(TEST_SECRET, token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    result = await api.gql(ME, token=token)
    assert result.error_codes() == ["UNAUTHENTICATED"]
    assert result.data is None


async def test_api_tokens(api: Api, sessionmaker: Maker, world: Any) -> None:
    rep = await login(api, "rep@partner.example")
    admin = await login(api, "admin@partner.example")
    partner_org = gid("Organization", world.organizations[PARTNER])

    # Only a legal representative creates one.
    denied = await api.ok(
        CREATE_TOKEN,
        {"i": {"organizationId": partner_org, "name": "ci", "access": "READ_WRITE"}},
        token=admin,
    )
    assert [e["code"] for e in denied["createApiToken"]["userErrors"]] == ["ROLE_NOT_ALLOWED"]

    audit_before, outbox_before = await last_ids(sessionmaker)
    created = await api.ok(
        CREATE_TOKEN,
        {"i": {"organizationId": partner_org, "name": "crm sync", "access": "READ_WRITE"}},
        token=rep,
    )
    payload = created["createApiToken"]
    assert payload["userErrors"] == []
    secret = payload["secret"]
    token_gid = payload["apiToken"]["id"]
    assert secret.startswith("pgt_")
    assert len(secret) > 40
    assert payload["apiToken"]["prefix"] == secret[:10]
    assert payload["apiToken"]["access"] == "READ_WRITE"
    # Shown once: the type has no field that could give the secret back.
    fields = await api.ok('query { __type(name: "ApiToken") { fields { name } } }', token=rep)
    names = {f["name"] for f in fields["__type"]["fields"]}
    assert names.isdisjoint({"secret", "token", "tokenHash"})
    # Stored hashed: no column of any row written holds the plaintext.
    async with sessionmaker() as session:
        rows: list[Any] = list(await session.scalars(select(ApiToken)))
        rows += list(await session.scalars(select(AuditEvent).where(AuditEvent.id > audit_before)))
        rows += list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.id > outbox_before))
        )
    (stored,) = [r for r in rows if isinstance(r, ApiToken)]
    assert stored.token_hash == digest(TEST_SECRET, secret)
    for row in rows:
        values = [str(getattr(row, c.key)) for c in row.__table__.columns]
        assert not any(secret in v or secret[10:] in v for v in values), row

    # Its owner sees it by ID; an administrator does not (as if it did not exist).
    look = "query($id: ID!) { node(id: $id) { ... on ApiToken { name } } }"
    assert (await api.ok(look, {"id": token_gid}, token=rep))["node"] == {"name": "crm sync"}
    assert (await api.ok(look, {"id": token_gid}, token=admin))["node"] is None

    # It acts for its organization: reads its clients, invites a client.
    clients = await api.ok(CLIENTS, {"p": gid("Partner", world.partner_id)}, token=secret)
    assert len(clients["node"]["clients"]["edges"]) == 2
    audit_before, _ = await last_ids(sessionmaker)
    invited = await api.ok(
        INVITE,
        {
            "i": {
                "organizationId": partner_org,
                "clientEmail": "prospect@client.example",
                "access": {"level": "FULL", "paymentMethods": "CLIENT"},
            }
        },
        token=secret,
    )
    assert invited["invite"]["userErrors"] == []
    assert invited["invite"]["grant"]["status"] == "PENDING"
    (event,) = await audit_events(sessionmaker, audit_before)
    assert (event.action, event.actor_api_token_id, event.actor_user_id) == (
        "grant.invite",
        stored.id,
        None,
    )
    # A token cannot make tokens: that needs a person.
    nested = await api.gql(
        CREATE_TOKEN,
        {"i": {"organizationId": partner_org, "name": "x", "access": "READ"}},
        token=secret,
    )
    assert nested.error_codes() == ["UNAUTHENTICATED"]

    # Revoked: rejected at once.
    revoked = await api.ok(REVOKE_TOKEN, {"i": {"id": token_gid}}, token=rep)
    assert revoked["revokeApiToken"]["apiToken"]["revokedAt"] is not None
    result = await api.gql(CLIENTS, {"p": gid("Partner", world.partner_id)}, token=secret)
    assert result.error_codes() == ["UNAUTHENTICATED"]


async def test_read_only_and_expired_api_tokens(api: Api, sessionmaker: Maker, world: Any) -> None:
    rep = await login(api, "rep@partner.example")
    partner_org = gid("Organization", world.organizations[PARTNER])
    tokens = {}
    for access in ("READ", "READ_WRITE"):
        data = await api.ok(
            CREATE_TOKEN,
            {"i": {"organizationId": partner_org, "name": access, "access": access}},
            token=rep,
        )
        tokens[access] = data["createApiToken"]["secret"]
    invite = {
        "i": {
            "organizationId": partner_org,
            "clientEmail": "prospect@client.example",
            "access": {"level": "FULL", "paymentMethods": "CLIENT"},
        }
    }
    read = await api.ok(INVITE, invite, token=tokens["READ"])
    assert [e["code"] for e in read["invite"]["userErrors"]] == ["READ_ONLY_TOKEN"]
    # A past expiry date cannot be given; an expiry that passes ends the token.
    past = await api.ok(
        CREATE_TOKEN,
        {
            "i": {
                "organizationId": partner_org,
                "name": "old",
                "access": "READ",
                "expiresAt": (utcnow() - timedelta(hours=1)).isoformat(),
            }
        },
        token=rep,
    )
    assert [e["code"] for e in past["createApiToken"]["userErrors"]] == ["INVALID_EXPIRY"]
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == digest(TEST_SECRET, tokens["READ_WRITE"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    result = await api.gql(INVITE, invite, token=tokens["READ_WRITE"])
    assert result.error_codes() == ["UNAUTHENTICATED"]
