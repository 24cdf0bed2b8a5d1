"""The SMTP backend against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import EmailBackend, Settings
from db.models import OutboxMessage
from db.session import transaction
from resolvers.events import emit_email
from workers import runtime
from workers.email import send_email_handler
from workers.outbox import process_once

CONTEXT = {
    "partner_name": "Cloud Partner SAS",
    "client_name": "Client <b>Corp</b>",
    "level": "read only",
    "products": ["Object Storage"],
    "accept_url": "https://partners.example/grants/1/accept",
}


class Recorder:
    """An aiosmtpd handler keeping what it receives."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.envelopes: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield recorder, port
    controller.stop()


@pytest.fixture
def smtp_settings(settings: Settings, smtp_server: tuple[Recorder, int]) -> Iterator[Settings]:
    configured = settings.model_copy(
        update={
            "email_backend": EmailBackend.SMTP,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server[1],
            "smtp_timeout_seconds": 5.0,
        }
    )
    runtime.configure(configured)  # what the send_email handler reads
    yield configured
    runtime.configure(None)


async def emit_invitation(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with transaction(sessionmaker) as session:
        message = emit_email(
            session, to="client@example.com", template="grant_invitation_to_client", context=CONTEXT
        )
        await session.flush()
        return message.id


async def test_email_reaches_a_real_smtp_server(
    sessionmaker: async_sessionmaker[AsyncSession],
    smtp_server: tuple[Recorder, int],
    smtp_settings: Settings,
) -> None:
    recorder, _ = smtp_server
    outbox_id = await emit_invitation(sessionmaker)

    assert await process_once(outbox_id, send_email_handler, sessionmaker=sessionmaker)

    assert len(recorder.envelopes) == 1
    mail_from, rcpt_tos, content = recorder.envelopes[0]
    assert mail_from == "no-reply@partners.example"
    assert rcpt_tos == ["client@example.com"]
    received = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(received, EmailMessage)
    assert received["To"] == "client@example.com"
    assert received["From"] == "partnergraph <no-reply@partners.example>"
    assert received["Subject"] == "Cloud Partner SAS asks for access to Client <b>Corp</b>"
    assert received["Message-ID"] == f"<outbox-{outbox_id}@partners.example>"
    assert received.get_content_type() == "multipart/alternative"
    text = received.get_body(preferencelist=("plain",))
    html = received.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    text_body = text.get_content()
    html_body = html.get_content()
    assert "Cloud Partner SAS asks Client <b>Corp</b> for read only access" in text_body
    assert "https://partners.example/grants/1/accept" in text_body
    assert "Client &lt;b&gt;Corp&lt;/b&gt;" in html_body
    assert '<a href="https://partners.example/grants/1/accept">' in html_body
    assert "<li>Object Storage</li>" in html_body

    # A second delivery of the same outbox message sends nothing.
    assert not await process_once(outbox_id, send_email_handler, sessionmaker=sessionmaker)
    assert len(recorder.envelopes) == 1


async def test_smtp_failure_is_recorded_and_raised_for_a_retry(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    down = settings.model_copy(
        update={
            "email_backend": EmailBackend.SMTP,
            "smtp_host": "127.0.0.1",
            "smtp_port": free_port(),  # nothing listens there
            "smtp_timeout_seconds": 2.0,
        }
    )
    runtime.configure(down)
    try:
        outbox_id = await emit_invitation(sessionmaker)
        with pytest.raises(Exception, match=r"(?i)connect"):
            await process_once(outbox_id, send_email_handler, sessionmaker=sessionmaker)
    finally:
        runtime.configure(None)
    async with sessionmaker() as session:
        failed = await session.get(OutboxMessage, outbox_id)
    assert failed is not None
    assert failed.processed_at is None
    assert failed.attempts == 1
    assert failed.last_error is not None
    assert failed.last_error.startswith("SMTPConnect")
