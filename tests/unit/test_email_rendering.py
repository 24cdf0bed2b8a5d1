"""Email templates render to text + HTML, escape HTML, and take exactly their documented keys."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import jinja2
import jinja2.meta
import markupsafe
import pytest

from config.settings import Settings
from resolvers import events
from workers import email as email_module
from workers.email import (
    TEMPLATE_DIR,
    TEMPLATE_KEYS,
    EmailTemplateError,
    render_email,
    validate_context,
)

SAMPLE_VALUES: dict[str, Any] = {
    "full_name": "Ada Lovelace",
    "organization_name": "Analytical Engines Ltd",
    "partner_name": "Cloud Partner SAS",
    "client_name": "Client Corp",
    "level": "read only",
    "products": ["Object Storage", "Managed Kubernetes"],
    "requested_products": ["Object Storage"],
    "payment_methods": ["Credit card", "Bank transfer"],
    "accept_url": "https://partners.example/grants/42/accept?token=abc",
    "actor_name": "Grace Hopper",
}


def sample_context(template: str) -> dict[str, Any]:
    # Keys without a hand-written sample get a recognizable string of their own.
    return {key: SAMPLE_VALUES.get(key, f"sample-{key}") for key in TEMPLATE_KEYS[template]}


@pytest.fixture
def settings() -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        email_from="partnergraph <no-reply@partners.example>",
        public_url="https://partners.example",
    )


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


def test_the_actor_name_is_the_one_emit_email_writes() -> None:
    assert email_module.SEND_EMAIL == events.SEND_EMAIL == "send_email"


def test_expected_templates_exist() -> None:
    assert set(TEMPLATE_KEYS) >= {
        "grant_invitation_to_client",
        "grant_invitation_to_partner",
        "grant_accepted",
        "grant_refused",
        "grant_cancelled",
        "grant_access_changed",
        "grant_payment_methods_changed",
        "grant_stopped",
        "welcome",
    }
    on_disk = {p.name for p in TEMPLATE_DIR.iterdir() if not p.name.startswith("_")}
    expected = {
        f"{name}{suffix}" for name in TEMPLATE_KEYS for suffix in (".subject.txt", ".txt", ".html")
    }
    assert on_disk == expected


@pytest.mark.parametrize("template", sorted(TEMPLATE_KEYS))
def test_templates_use_exactly_the_documented_keys(template: str) -> None:
    env = jinja2.Environment(autoescape=True)
    used: set[str] = set()
    for suffix in (".subject.txt", ".txt", ".html"):
        source = (TEMPLATE_DIR / f"{template}{suffix}").read_text()
        used |= jinja2.meta.find_undeclared_variables(env.parse(source))
    assert used - {"site_url"} == set(TEMPLATE_KEYS[template])  # site_url: always given


@pytest.mark.parametrize("template", sorted(TEMPLATE_KEYS))
def test_each_template_renders_text_and_html(template: str, settings: Settings) -> None:
    context = sample_context(template)
    message = render_email(template, context, to="ada@example.com", outbox_id=7, settings=settings)

    assert message.get_content_type() == "multipart/alternative"
    assert message["To"] == "ada@example.com"
    assert message["From"] == "partnergraph <no-reply@partners.example>"
    assert message["Message-ID"] == "<outbox-7@partners.example>"
    subject = message["Subject"]
    assert subject
    assert "\n" not in subject
    assert "{" not in subject

    text, html = parts(message)
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert "https://partners.example" in text  # the layout's footer
    for key, value in context.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            assert item in text, (key, item)
            assert str(markupsafe.escape(item)) in html, (key, item)
    # No markup leaks into the text part ("Name <address>" is plain text, not a tag).
    assert not re.search(r"</?(p|a|ul|li|strong|em|br|div|table|html|body)\b", text)


def test_subjects_name_the_parties(settings: Settings) -> None:
    message = render_email(
        "grant_invitation_to_client",
        sample_context("grant_invitation_to_client"),
        to="c@example.com",
        outbox_id=1,
        settings=settings,
    )
    assert message["Subject"] == "Cloud Partner SAS asks for access to Client Corp"


def test_html_escapes_names_text_keeps_them(settings: Settings) -> None:
    evil = '<script>alert("x")</script> & Co'
    context = sample_context("grant_accepted") | {"client_name": evil}
    message = render_email(
        "grant_accepted", context, to="a@example.com", outbox_id=3, settings=settings
    )
    text, html = parts(message)

    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html
    assert evil in text
    assert "<script>" in message["Subject"]  # a header is plain text, not HTML


def test_list_items_are_escaped_in_html(settings: Settings) -> None:
    context = sample_context("grant_access_changed") | {"products": ["<b>Storage</b>"]}
    message = render_email(
        "grant_access_changed", context, to="a@example.com", outbox_id=3, settings=settings
    )
    _, html = parts(message)
    assert "<li>&lt;b&gt;Storage&lt;/b&gt;</li>" in html


def test_empty_product_list_renders(settings: Settings) -> None:
    context = sample_context("grant_access_changed") | {"products": []}
    message = render_email(
        "grant_access_changed", context, to="a@example.com", outbox_id=3, settings=settings
    )
    text, html = parts(message)
    assert "(no product)" in text
    assert "(no product)" in html


def test_message_id_is_stable_per_outbox_id(settings: Settings) -> None:
    context = sample_context("welcome")
    first = render_email("welcome", context, to="a@example.com", outbox_id=99, settings=settings)
    again = render_email("welcome", context, to="a@example.com", outbox_id=99, settings=settings)
    other = render_email("welcome", context, to="a@example.com", outbox_id=100, settings=settings)
    assert first["Message-ID"] == again["Message-ID"] == "<outbox-99@partners.example>"
    assert other["Message-ID"] != first["Message-ID"]


def test_missing_key_is_refused() -> None:
    context = sample_context("grant_refused")
    del context["actor_name"]
    with pytest.raises(EmailTemplateError, match="missing keys \\['actor_name'\\]"):
        validate_context("grant_refused", context)


def test_extra_key_is_ignored_not_rendered(settings: Settings) -> None:
    context = sample_context("welcome") | {"invoice_total": "12345.67"}
    validate_context("welcome", context)
    message = render_email("welcome", context, to="a@example.com", outbox_id=1, settings=settings)
    assert "12345.67" not in message.as_string()


@pytest.mark.parametrize("name", ["nope", "../welcome", "_layout"])
def test_unknown_template_is_refused(name: str, settings: Settings) -> None:
    with pytest.raises(EmailTemplateError, match="unknown email template"):
        render_email(name, {}, to="a@example.com", outbox_id=1, settings=settings)


def test_wrong_value_types_are_refused() -> None:
    with pytest.raises(EmailTemplateError, match="products is a list of str"):
        validate_context(
            "grant_access_changed", sample_context("grant_access_changed") | {"products": "x"}
        )
    with pytest.raises(EmailTemplateError, match="full_name is a str"):
        validate_context("welcome", sample_context("welcome") | {"full_name": 3})


def test_recipient_with_a_line_break_is_refused(settings: Settings) -> None:
    with pytest.raises(EmailTemplateError, match="bad recipient"):
        render_email(
            "welcome",
            sample_context("welcome"),
            to="a@example.com\r\nBcc: everyone@example.com",
            outbox_id=1,
            settings=settings,
        )


def test_template_errors_are_permanent() -> None:
    from workers.outbox import PermanentJobError

    assert issubclass(EmailTemplateError, PermanentJobError)
