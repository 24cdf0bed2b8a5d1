"""Helpers for the people tests: the emailed tokens (read from the outbox, where the email
actor finds them) and a sign-up that follows the emailed verification link."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.asgi import create_app
from config.settings import Settings
from db.models import OutboxMessage, utcnow
from tests.api.spine_support import Maker
from tests.conftest import Api

SIGN_UP = """mutation($i: SignUpInput!) { signUp(input: $i) {
  email userErrors { field message code } } }"""
VERIFY_EMAIL = """mutation($i: VerifyEmailInput!) { verifyEmail(input: $i) {
  token expiresAt user { id email fullName } userErrors { field message code } } }"""
PASSWORD = "correct horse battery"


async def emails_to(sessionmaker: Maker, to: str, after_id: int = 0) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.actor_name == "send_email", OutboxMessage.id > after_id)
            .order_by(OutboxMessage.id)
        )
        return [m for m in rows if m.payload["to"] == to]


async def emailed_token(sessionmaker: Maker, to: str, template: str) -> str:
    """The token of the latest `template` email to `to` (its link carries the same)."""
    found = [m for m in await emails_to(sessionmaker, to) if m.payload["template"] == template]
    assert found, f"no {template} email to {to}"
    context: dict[str, Any] = found[-1].payload["context"]
    token = str(context["token"])
    assert any(f"token={token}" in str(v) for v in context.values()), context
    return token


def sign_up_input(email: str, **extra: Any) -> dict[str, Any]:
    return {
        "email": email,
        "password": PASSWORD,
        "fullName": email.split("@")[0].title(),
        "organizationName": f"{email.split('@')[1]} org",
        "currency": "CHF",
    } | extra


async def sign_up_and_verify(api: Api, sessionmaker: Maker, email: str, **extra: Any) -> str:
    """Sign up, follow the emailed verification link; the session token it logs in with."""
    data = await api.ok(SIGN_UP, {"i": sign_up_input(email, **extra)})
    assert data["signUp"]["userErrors"] == [], data
    token = await emailed_token(sessionmaker, data["signUp"]["email"], "verify_email")
    verified = await api.ok(VERIFY_EMAIL, {"i": {"token": token}})
    assert verified["verifyEmail"]["userErrors"] == [], verified
    return str(verified["verifyEmail"]["token"])


class Clock:
    """A clock the test moves: the app reads it for every expiry."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class ClockedApi:
    api: Api
    clock: Clock


@pytest.fixture
async def clocked(settings: Settings) -> AsyncIterator[ClockedApi]:
    """The app over HTTP, on a clock the test controls."""
    app = create_app(settings, start_workers=False)
    runtime = app.state.runtime
    clock = Clock()
    runtime.services.clock = clock
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield ClockedApi(Api(client), clock)
    await runtime.stop()
