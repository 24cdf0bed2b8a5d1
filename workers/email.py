"""Transactional emails: templates, rendering, delivery, and the ``send_email`` actor.

Use cases queue an email with ``resolvers.events.emit_email(session, to=..., template=...,
context={...})``; the ``send_email`` actor renders and delivers it once the transaction
has committed. Emails never carry invoice data.

Templates (``workers/templates/<name>.subject.txt``, ``<name>.txt``, ``<name>.html``) and
the context keys each one takes. Every key is required; other keys are ignored
(:func:`validate_context`; rendering uses ``StrictUndefined``). Values are strings, except
``products`` and ``payment_methods``: lists of strings (display names).

==============================  =====================================================
template                        context keys
==============================  =====================================================
welcome                         full_name, organization_name
verify_email                    full_name, verify_url, token
account_exists                  full_name, login_url, reset_url
password_reset                  full_name, reset_url, token, minutes
password_changed                full_name
email_change_verify             full_name, new_email, verify_url, token
email_change_notice             full_name, new_email
member_invitation               organization_name, inviter_name, role, accept_url,
                                token, days
grant_invitation_to_client      partner_name, client_name, level, products, accept_url
grant_invitation_to_partner     client_name, partner_name, level, products, accept_url
grant_accepted                  partner_name, client_name, actor_name, level, products,
                                payment_methods, requested_level, requested_products
grant_refused                   partner_name, client_name, actor_name
grant_cancelled                 partner_name, client_name, actor_name
grant_access_changed            partner_name, client_name, actor_name, level, products
grant_payment_methods_changed   partner_name, client_name, actor_name, payment_methods
grant_stopped                   partner_name, client_name, actor_name
==============================  =====================================================

``actor_name`` is the display name of the person who acted; ``level`` the access level
(e.g. "read only"); ``accept_url`` an absolute URL. Every template also gets
``site_url`` (``settings.public_url``), added here.

Message: multipart/alternative (text, then HTML); ``From`` = ``settings.email_from``;
``To`` = the payload's ``to``; ``Subject`` = ``<name>.subject.txt`` on one line;
``Message-ID`` = ``<outbox-<id>@<domain of email_from>>``, the same on every (re)send, so
a receiver can drop the rare duplicate after a crash.

Backends (``settings.email_backend``): ``smtp`` (aiosmtplib, settings ``smtp_*``),
``file`` (``<email_file_dir>/outbox-<id>.eml``, overwritten by a resend), ``console``
(printed to stdout).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any

import aiosmtplib
import jinja2
from sqlalchemy.ext.asyncio import AsyncSession

from config.metrics import EMAIL_FAILURES, EMAILS
from config.settings import EmailBackend, Settings
from db.models import OutboxMessage, utcnow
from workers.outbox import PermanentJobError, outbox_actor
from workers.runtime import current_settings

logger = logging.getLogger(__name__)

#: The actor name ``resolvers.events.emit_email`` writes.
SEND_EMAIL = "send_email"

TEMPLATE_DIR = Path(__file__).parent / "templates"

_GRANT = ("partner_name", "client_name")
#: Template name -> the context keys it takes (all required, no others).
TEMPLATE_KEYS: dict[str, frozenset[str]] = {
    "welcome": frozenset({"full_name", "organization_name"}),
    "grant_invitation_to_client": frozenset({*_GRANT, "level", "products", "accept_url"}),
    "grant_invitation_to_partner": frozenset({*_GRANT, "level", "products", "accept_url"}),
    "grant_accepted": frozenset(
        {*_GRANT, "actor_name", "level", "products", "payment_methods"}
        | {"requested_level", "requested_products"}
    ),
    "grant_refused": frozenset({*_GRANT, "actor_name"}),
    "grant_cancelled": frozenset({*_GRANT, "actor_name"}),
    "grant_access_changed": frozenset({*_GRANT, "actor_name", "level", "products"}),
    "grant_payment_methods_changed": frozenset({*_GRANT, "actor_name", "payment_methods"}),
    "grant_stopped": frozenset({*_GRANT, "actor_name"}),
    "grant_ending": frozenset({*_GRANT, "ends_at", "days"}),
    "bid_verify_email": frozenset({"author_name", "summary", "deadline", "verify_url"}),
    "bid_published": frozenset({"author_name", "summary", "matching_partners", "manage_url"}),
    "bid_received": frozenset(
        {"partner_name", "summary", "families", "language", "region", "budget"}
        | {"deadline", "bid_url"}
    ),
    "bid_awarded": frozenset({"partner_name", "summary", "amount", "author_name", "author_email"}),
    "order_confirmation": frozenset({"client_name", "actor_name", "products"}),
    "partner_application_accepted": frozenset(
        {"organization_name", "registration_number", "website"}
    ),
    "partner_application_refused": frozenset({"organization_name", "reasons"}),
    "partner_review_below_minimum": frozenset(
        {"organization_name", "year", "managed_volume", "minimum_volume"}
    ),
    "verify_email": frozenset({"full_name", "verify_url", "token"}),
    "account_exists": frozenset({"full_name", "login_url", "reset_url"}),
    "password_reset": frozenset({"full_name", "reset_url", "token", "minutes"}),
    "password_changed": frozenset({"full_name"}),
    "email_change_verify": frozenset({"full_name", "new_email", "verify_url", "token"}),
    "email_change_notice": frozenset({"full_name", "new_email"}),
    "member_invitation": frozenset(
        {"organization_name", "inviter_name", "role", "accept_url", "token", "days"}
    ),
    "webhook_endpoint_disabled": frozenset(
        {"organization_name", "url", "failing_since", "last_error", "settings_url"}
    ),
    "cashback_statement": frozenset(
        {"partner_name", "period", "credit_count", "credited", "corrected", "closing_balance"}
    ),
}
_LIST_KEYS = frozenset({"products", "payment_methods", "requested_products"})


class EmailTemplateError(PermanentJobError, ValueError):
    """Unknown template or wrong context: a retry cannot fix it."""


def validate_context(template: str, context: dict[str, Any]) -> None:
    """Raise :class:`EmailTemplateError` unless ``context`` fits ``template`` exactly.

    Use cases may call it when they emit, to fail in the request rather than in the worker.
    """
    keys = TEMPLATE_KEYS.get(template)
    if keys is None:
        raise EmailTemplateError(f"unknown email template {template!r}")
    # Extra keys are allowed (use cases share one context across a grant's emails and the
    # renderer only sees the declared ones); a missing key is a bug.
    missing = keys - context.keys()
    if missing:
        raise EmailTemplateError(f"email template {template!r}: missing keys {sorted(missing)}")
    for key in keys:
        value = context[key]
        if key in _LIST_KEYS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise EmailTemplateError(f"email template {template!r}: {key} is a list of str")
        elif not isinstance(value, str):
            raise EmailTemplateError(f"email template {template!r}: {key} is a str")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        # .html escaped; .txt (text body and subject) verbatim.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _domain(address: str) -> str:
    _, addr = parseaddr(address)
    domain = addr.rpartition("@")[2].strip()
    return domain or "partnergraph.invalid"


def message_id(outbox_id: int, settings: Settings) -> str:
    return f"<outbox-{outbox_id}@{_domain(settings.email_from)}>"


def render_email(
    template: str,
    context: dict[str, Any],
    *,
    to: str,
    outbox_id: int,
    settings: Settings,
) -> EmailMessage:
    """Render ``template`` into a multipart/alternative message to ``to``."""
    validate_context(template, context)
    env = _environment()
    values = {**context, "site_url": settings.public_url}
    subject_raw = env.get_template(f"{template}.subject.txt").render(values)
    subject = " ".join(subject_raw.split())  # one line, whatever the values contain
    text = env.get_template(f"{template}.txt").render(values)
    html = env.get_template(f"{template}.html").render(values)

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.email_from
    try:
        message["To"] = to
    except (ValueError, TypeError) as exc:  # e.g. a line break: header injection
        raise EmailTemplateError(f"bad recipient address {to!r}") from exc
    message["Message-ID"] = message_id(outbox_id, settings)
    message["Date"] = format_datetime(utcnow())
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def eml_path(outbox_id: int, settings: Settings) -> Path:
    return settings.email_file_dir / f"outbox-{outbox_id}.eml"


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # atomic: readers never see half a file; a resend overwrites


async def deliver(message: EmailMessage, *, outbox_id: int, settings: Settings) -> None:
    """Hand ``message`` to the backend ``settings.email_backend``."""
    backend = settings.email_backend
    if backend is EmailBackend.SMTP:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )
    elif backend is EmailBackend.FILE:
        path = eml_path(outbox_id, settings)
        await asyncio.to_thread(_write_file, path, message.as_bytes())
    else:
        sys.stdout.write(f"----- email (outbox {outbox_id}) -----\n{message.as_string()}\n")
        sys.stdout.flush()
    logger.info(
        "email %s sent via %s to %s (outbox %s)",
        message["Message-ID"],
        backend.value,
        message["To"],
        outbox_id,
    )


async def send_email_handler(session: AsyncSession, message: OutboxMessage) -> None:
    """Render and deliver the email of outbox row ``message``."""
    payload = message.payload
    try:
        to = str(payload["to"])
        template = str(payload["template"])
        context = dict(payload["context"])
    except (KeyError, TypeError, ValueError) as exc:
        raise EmailTemplateError(f"bad send_email payload: {exc!r}") from exc
    settings = current_settings()
    email = render_email(template, context, to=to, outbox_id=message.id, settings=settings)
    try:
        await deliver(email, outbox_id=message.id, settings=settings)
    except Exception as exc:
        EMAIL_FAILURES.labels(type(exc).__name__).inc()
        raise
    EMAILS.labels("sent").inc()
    # A secret (an invitation or verification token, or a link carrying one) has reached
    # its mailbox: do not keep it readable in the outbox, where only its digest should exist.
    secret_keys = [k for k, v in context.items() if k == "token" or "token=" in str(v)]
    if secret_keys:
        scrubbed = {**context, **dict.fromkeys(secret_keys, "[sent]")}
        message.payload = {**payload, "context": scrubbed}


outbox_actor(SEND_EMAIL, time_limit=2 * 60_000)(send_email_handler)
