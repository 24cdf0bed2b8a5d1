"""Accounts over HTTP: sign-up answering alike, email verification, resending, password
reset and change, email change, sessions and logout everywhere. Every emailed token works
once, before it expires, and is stored only as its digest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from db.models import AuditEvent, AuthSession, EmailToken, OutboxMessage, User
from resolvers.tokens import digest
from tests.api.people_support import (
    PASSWORD,
    SIGN_UP,
    VERIFY_EMAIL,
    ClockedApi,
    clocked,
    emailed_token,
    emails_to,
    sign_up_and_verify,
    sign_up_input,
)
from tests.api.spine_support import Maker, audit_events, last_ids, session_tokens
from tests.conftest import TEST_SECRET, Api, login

__all__ = ["clocked"]

LOGIN = """mutation($i: LoginInput!) { login(input: $i) {
  token user { email } userErrors { field message code } } }"""
ME = "query { viewer { user { email } memberships { role organization { name } } } }"
RESEND = """mutation($i: EmailInput!) { resendVerification(input: $i) {
  email userErrors { field message code } } }"""
REQUEST_RESET = """mutation($i: EmailInput!) { requestPasswordReset(input: $i) {
  email userErrors { field message code } } }"""
RESET = """mutation($i: ResetPasswordInput!) { resetPassword(input: $i) {
  token user { email } userErrors { field message code } } }"""
CHANGE_PASSWORD = """mutation($i: ChangePasswordInput!) { changePassword(input: $i) {
  user { email } userErrors { field message code } } }"""
CHANGE_EMAIL = """mutation($i: ChangeEmailInput!) { changeEmail(input: $i) {
  email userErrors { field message code } } }"""
SESSIONS = "query { viewer { sessions { id current createdAt lastUsedAt expiresAt } } }"
END_SESSION = """mutation($i: EndSessionInput!) { endSession(input: $i) {
  session { id current } userErrors { field code } } }"""
LOGOUT = """mutation($i: LogoutInput) { logout(input: $i) {
  ok endedSessions userErrors { code } } }"""


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def users(sessionmaker: Maker) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def test_sign_up_verify_then_act(api: Api, sessionmaker: Maker) -> None:
    audit_before, outbox_before = await last_ids(sessionmaker)
    data = await api.ok(
        SIGN_UP, {"i": sign_up_input("  Ada@Example.COM ", organizationName="Engines")}
    )
    assert data["signUp"] == {"email": "ada@example.com", "userErrors": []}
    # No session yet: the account cannot log in, hence cannot act, until verified.
    refused = await api.ok(LOGIN, {"i": {"email": "ada@example.com", "password": PASSWORD}})
    assert codes(refused["login"]) == ["EMAIL_NOT_VERIFIED"]
    assert refused["login"]["token"] is None
    (mail,) = await emails_to(sessionmaker, "ada@example.com", outbox_before)
    assert mail.payload["template"] == "verify_email"
    link = mail.payload["context"]["verify_url"]
    token = await emailed_token(sessionmaker, "ada@example.com", "verify_email")
    assert link == f"http://127.0.0.1:8000/verify-email?token={token}"
    assert token.startswith("pgv_")

    verified = await api.ok(VERIFY_EMAIL, {"i": {"token": token}})
    payload = verified["verifyEmail"]
    assert payload["userErrors"] == []
    assert payload["user"]["email"] == "ada@example.com"
    me = await api.ok(ME, token=payload["token"])
    assert me["viewer"]["memberships"] == [
        {"role": "LEGAL_REPRESENTATIVE", "organization": {"name": "Engines"}}
    ]
    # Once only.
    again = await api.ok(VERIFY_EMAIL, {"i": {"token": token}})
    assert codes(again["verifyEmail"]) == ["INVALID_TOKEN"]
    assert again["verifyEmail"]["token"] is None
    # Now the password logs in.
    assert await login(api, "ada@example.com", PASSWORD)
    events = await audit_events(sessionmaker, audit_before)
    assert [e.action for e in events] == ["user.sign_up", "user.verify_email", "session.login"]
    assert events[1].before == {"email": "ada@example.com", "verified": False}
    assert events[1].after == {"email": "ada@example.com", "verified": True}
    templates = [m.payload["template"] for m in await emails_to(sessionmaker, "ada@example.com")]
    assert templates == ["verify_email", "welcome"]
    # Stored as a digest only.
    async with sessionmaker() as session:
        stored = list(await session.scalars(select(EmailToken.token_hash)))
    assert digest(TEST_SECRET, token) in stored
    assert token not in stored


async def test_a_taken_email_answers_alike_and_tells_its_owner(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    before = await users(sessionmaker)
    audit_before, outbox_before = await last_ids(sessionmaker)
    fresh = await api.ok(SIGN_UP, {"i": sign_up_input("newcomer@shop.example")})
    taken = await api.ok(SIGN_UP, {"i": sign_up_input("Rep@Partner.example")})
    assert fresh["signUp"]["userErrors"] == taken["signUp"]["userErrors"] == []
    assert set(fresh["signUp"]) == set(taken["signUp"]) == {"email", "userErrors"}
    assert await users(sessionmaker) == before + 1
    (notice,) = await emails_to(sessionmaker, "rep@partner.example", outbox_before)
    assert notice.payload["template"] == "account_exists"
    assert notice.payload["context"]["reset_url"] == "http://127.0.0.1:8000/reset-password"
    # The owner's password did not change.
    assert await login(api, "rep@partner.example")
    actions = [e.action for e in await audit_events(sessionmaker, audit_before)]
    assert actions == ["user.sign_up", "user.sign_up_taken_email", "session.login"]


async def test_resend_verification_replaces_the_link(api: Api, sessionmaker: Maker) -> None:
    await api.ok(SIGN_UP, {"i": sign_up_input("late@reader.example")})
    first = await emailed_token(sessionmaker, "late@reader.example", "verify_email")
    unknown = await api.ok(RESEND, {"i": {"email": "nobody@reader.example"}})
    known = await api.ok(RESEND, {"i": {"email": "LATE@reader.example"}})
    assert unknown["resendVerification"]["userErrors"] == []
    assert known["resendVerification"]["userErrors"] == []
    assert await emails_to(sessionmaker, "nobody@reader.example") == []
    second = await emailed_token(sessionmaker, "late@reader.example", "verify_email")
    assert second != first
    stale = await api.ok(VERIFY_EMAIL, {"i": {"token": first}})
    assert codes(stale["verifyEmail"]) == ["INVALID_TOKEN"]
    fresh = await api.ok(VERIFY_EMAIL, {"i": {"token": second}})
    assert fresh["verifyEmail"]["userErrors"] == []
    # A verified account gets no more links.
    _, outbox_before = await last_ids(sessionmaker)
    await api.ok(RESEND, {"i": {"email": "late@reader.example"}})
    assert await emails_to(sessionmaker, "late@reader.example", outbox_before) == []


async def test_unknown_expired_and_used_tokens_answer_alike(
    clocked: ClockedApi, sessionmaker: Maker
) -> None:
    api, clock = clocked.api, clocked.clock
    await api.ok(SIGN_UP, {"i": sign_up_input("slow@reader.example")})
    token = await emailed_token(sessionmaker, "slow@reader.example", "verify_email")
    clock.advance(timedelta(hours=48, seconds=1))
    expired = await api.ok(VERIFY_EMAIL, {"i": {"token": token}})
    unknown = await api.ok(VERIFY_EMAIL, {"i": {"token": "pgv_" + "x" * 43}})
    malformed = await api.ok(VERIFY_EMAIL, {"i": {"token": "t" * 5000}})
    assert expired == unknown == malformed
    assert codes(expired["verifyEmail"]) == ["INVALID_TOKEN"]


async def test_password_reset_once_within_an_hour_ends_every_session(
    clocked: ClockedApi, sessionmaker: Maker, world: Any
) -> None:
    api, clock = clocked.api, clocked.clock
    old_session = await login(api, "rep@partner.example")
    audit_before, outbox_before = await last_ids(sessionmaker)
    unknown = await api.ok(REQUEST_RESET, {"i": {"email": "ghost@partner.example"}})
    known = await api.ok(REQUEST_RESET, {"i": {"email": "rep@partner.example"}})
    assert unknown["requestPasswordReset"]["userErrors"] == []
    assert known["requestPasswordReset"]["userErrors"] == []
    assert await emails_to(sessionmaker, "ghost@partner.example", outbox_before) == []
    token = await emailed_token(sessionmaker, "rep@partner.example", "password_reset")
    assert token.startswith("pgr_")

    too_short = await api.ok(RESET, {"i": {"token": token, "newPassword": "short"}})
    assert codes(too_short["resetPassword"]) == ["PASSWORD_TOO_SHORT"]
    clock.advance(timedelta(minutes=59))
    done = await api.ok(RESET, {"i": {"token": token, "newPassword": "a brand new secret"}})
    assert done["resetPassword"]["userErrors"] == []
    new_session = done["resetPassword"]["token"]
    assert (await api.gql(ME, token=old_session)).error_codes() == ["UNAUTHENTICATED"]
    assert (await api.ok(ME, token=new_session))["viewer"]["user"]["email"] == (
        "rep@partner.example"
    )
    again = await api.ok(RESET, {"i": {"token": token, "newPassword": "another new secret"}})
    assert codes(again["resetPassword"]) == ["INVALID_TOKEN"]
    refused = await api.ok(
        LOGIN, {"i": {"email": "rep@partner.example", "password": "partnergraph-demo"}}
    )
    assert codes(refused["login"]) == ["INVALID_CREDENTIALS"]
    assert await login(api, "rep@partner.example", "a brand new secret")
    events = await audit_events(sessionmaker, audit_before)
    assert [e.action for e in events] == [
        "user.password_reset_requested",
        "user.password_reset",
        "session.login",
    ]
    assert events[1].after == {"sessions": [], "password_changed": True}
    assert len(events[1].before["sessions"]) == 1

    # A link older than an hour no longer works.
    await api.ok(REQUEST_RESET, {"i": {"email": "rep@partner.example"}})
    late = await emailed_token(sessionmaker, "rep@partner.example", "password_reset")
    clock.advance(timedelta(minutes=60))
    expired = await api.ok(RESET, {"i": {"token": late, "newPassword": "yet another secret"}})
    assert codes(expired["resetPassword"]) == ["INVALID_TOKEN"]


async def test_change_password_ends_the_other_sessions(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    here = await login(api, "admin@partner.example")
    elsewhere = await login(api, "admin@partner.example")
    wrong = await api.ok(
        CHANGE_PASSWORD,
        {"i": {"currentPassword": "nope-nope-nope", "newPassword": "a brand new secret"}},
        token=here,
    )
    assert [(e["field"], e["code"]) for e in wrong["changePassword"]["userErrors"]] == [
        (["currentPassword"], "WRONG_PASSWORD")
    ]
    audit_before, _ = await last_ids(sessionmaker)
    done = await api.ok(
        CHANGE_PASSWORD,
        {"i": {"currentPassword": "partnergraph-demo", "newPassword": "a brand new secret"}},
        token=here,
    )
    assert done["changePassword"]["userErrors"] == []
    assert (await api.ok(ME, token=here))["viewer"]["user"]["email"] == "admin@partner.example"
    assert (await api.gql(ME, token=elsewhere)).error_codes() == ["UNAUTHENTICATED"]
    (event,) = await audit_events(sessionmaker, audit_before)
    assert event.action == "user.change_password"
    assert len(event.before["other_sessions"]) == 1
    templates = [
        m.payload["template"] for m in await emails_to(sessionmaker, "admin@partner.example")
    ]
    assert templates == ["password_changed"]


async def test_change_email_is_verified_at_the_new_address(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    token = await login(api, "collab@partner.example")
    wrong = await api.ok(
        CHANGE_EMAIL, {"i": {"newEmail": "lena@new.example", "password": "bad"}}, token=token
    )
    assert codes(wrong["changeEmail"]) == ["WRONG_PASSWORD"]
    audit_before, outbox_before = await last_ids(sessionmaker)
    asked = await api.ok(
        CHANGE_EMAIL,
        {"i": {"newEmail": "Lena@New.example", "password": "partnergraph-demo"}},
        token=token,
    )
    assert asked["changeEmail"] == {"email": "lena@new.example", "userErrors": []}
    # Nothing changes before the new address is verified; the old one is told.
    assert (await api.ok(ME, token=token))["viewer"]["user"]["email"] == "collab@partner.example"
    (notice,) = await emails_to(sessionmaker, "collab@partner.example", outbox_before)
    assert notice.payload["template"] == "email_change_notice"
    link = await emailed_token(sessionmaker, "lena@new.example", "email_change_verify")
    done = await api.ok(VERIFY_EMAIL, {"i": {"token": link}})
    assert done["verifyEmail"]["user"]["email"] == "lena@new.example"
    assert (await api.ok(ME, token=token))["viewer"]["user"]["email"] == "lena@new.example"
    again = await api.ok(VERIFY_EMAIL, {"i": {"token": link}})
    assert codes(again["verifyEmail"]) == ["INVALID_TOKEN"]
    assert await login(api, "lena@new.example")
    events = await audit_events(sessionmaker, audit_before)
    assert events[-1].action == "session.login"
    assert [(e.action, e.before, e.after) for e in events[:-1]] == [
        (
            "user.email_change_requested",
            {"email": "collab@partner.example"},
            {"requested_email": "lena@new.example"},
        ),
        ("user.change_email", {"email": "collab@partner.example"}, {"email": "lena@new.example"}),
    ]

    # An address another account uses answers alike, and no link goes out.
    _, outbox_before = await last_ids(sessionmaker)
    taken = await api.ok(
        CHANGE_EMAIL,
        {"i": {"newEmail": "rep@partner.example", "password": "partnergraph-demo"}},
        token=token,
    )
    assert taken["changeEmail"]["userErrors"] == []
    assert await emails_to(sessionmaker, "rep@partner.example", outbox_before) == []


async def test_sessions_end_one_and_log_out_everywhere(
    api: Api, sessionmaker: Maker, world: Any
) -> None:
    first = await login(api, "rep@full.example")
    second = await login(api, "rep@full.example")
    other_person = await login(api, "rep@limited.example")
    listed = (await api.ok(SESSIONS, token=second))["viewer"]["sessions"]
    assert [s["current"] for s in listed] == [True, False]
    first_id = listed[1]["id"]
    # Another person's session answers as missing.
    foreign = await api.ok(END_SESSION, {"i": {"id": first_id}}, token=other_person)
    assert codes(foreign["endSession"]) == ["NOT_FOUND"]
    ended = await api.ok(END_SESSION, {"i": {"id": first_id}}, token=second)
    assert ended["endSession"]["userErrors"] == []
    assert (await api.gql(ME, token=first)).error_codes() == ["UNAUTHENTICATED"]
    assert len((await api.ok(SESSIONS, token=second))["viewer"]["sessions"]) == 1

    third = await login(api, "rep@full.example")
    out = await api.ok(LOGOUT, {"i": {"everywhere": True}}, token=second)
    assert out["logout"] == {"ok": True, "endedSessions": 2, "userErrors": []}
    for token in (second, third):
        assert (await api.gql(ME, token=token)).error_codes() == ["UNAUTHENTICATED"]
    assert (await api.ok(ME, token=other_person))["viewer"]["user"]["email"] == (
        "rep@limited.example"
    )
    async with sessionmaker() as session:
        live = await session.scalar(
            select(func.count())
            .select_from(AuthSession)
            .where(
                AuthSession.revoked_at.is_(None),
                AuthSession.user_id == world.users["rep@full.example"],
            )
        )
    assert live == 0


async def test_a_helper_signed_up_account_acts(api: Api, sessionmaker: Maker) -> None:
    token = await sign_up_and_verify(api, sessionmaker, "helper@test.example")
    assert (await api.ok(ME, token=token))["viewer"]["user"]["email"] == "helper@test.example"
    # Secrets leave the outbox once sent; until then only the outbox row holds them.
    async with sessionmaker() as session:
        events = list(await session.scalars(select(AuditEvent)))
        outbox = list(await session.scalars(select(OutboxMessage)))
    assert all("pgv_" not in str(e.after) + str(e.before) for e in events)
    assert any("pgv_" in str(m.payload) for m in outbox)


async def test_an_unverified_account_cannot_act_even_with_a_session(
    api: Api, sessionmaker: Maker
) -> None:
    await api.ok(SIGN_UP, {"i": sign_up_input("eager@reader.example")})
    # A session row for the unverified account (as if one had been made somehow).
    token = (await session_tokens(sessionmaker, ["eager@reader.example"]))["eager@reader.example"]
    assert (await api.gql(ME, token=token)).error_codes() == ["UNAUTHENTICATED"]
    link = await emailed_token(sessionmaker, "eager@reader.example", "verify_email")
    await api.ok(VERIFY_EMAIL, {"i": {"token": link}})
    assert (await api.ok(ME, token=token))["viewer"]["user"]["email"] == "eager@reader.example"
