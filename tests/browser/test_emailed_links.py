"""Every link an email carries opens its page in the console, at the address `serve`
listens on (PUBLIC_URL left unset): the sign-up email's link verifies the account."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from resolvers import links
from tests.browser.conftest import Server
from tests.browser.pages import heading

# Each builder of resolvers/links.py and the page it must open.
PAGES = [
    (lambda url: links.verify_email_url(url, "pgv_x"), "Verify your email"),
    (lambda url: links.reset_password_url(url, "pgr_x"), "Choose a new password"),
    (links.forgot_password_url, "Reset your password"),
    (lambda url: links.accept_member_invitation_url(url, "pgm_x"), "Join the organization"),
    (lambda url: links.accept_grant_invitation_url(url, "pgi_x"), "Answer the invitation"),
    (links.partnerships_url, "Log in"),  # signed in, it shows the partnerships
    (lambda url: links.verify_bid_url(url, "pgb_x"), "Confirm your bid"),
    (lambda url: links.manage_bid_url(url, "pga_x"), "Your bid"),
    (lambda url: links.received_bid_url(url, 7), "Log in"),  # signed in: the bid
    (links.login_url, "Log in"),
    (links.webhooks_url, "Log in"),  # signed in: the webhook endpoints
]


@pytest.mark.parametrize(("build", "title"), PAGES)
def test_every_emailed_link_opens_its_page(
    tabs: Any, server: Server, build: Any, title: str
) -> None:
    tab = tabs("link")
    tab.go(build(server.url))
    assert heading(tab).inner_text() == title
    tab.shot(title.lower().replace(" ", "-"))


def test_the_sign_up_email_links_here_and_verifies(tabs: Any, server: Server) -> None:
    email = f"ada-{uuid.uuid4().hex[:8]}@shop.example"
    tab = tabs("signup")
    tab.go("/sign-up")
    form = tab.page.get_by_role("form", name="Sign up")
    form.get_by_label("Your name").fill("Ada Keller")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill("short")
    form.get_by_label("Organization name").fill("Ada's Shop")
    form.get_by_role("button", name="Sign up").click()
    # The API's userErrors entry shows beside its field.
    password_error = form.locator(".field", has=tab.page.get_by_label("Password")).get_by_role(
        "alert"
    )
    password_error.wait_for()
    tab.shot("password-error")
    form.get_by_label("Password").fill("correct horse battery staple")
    form.get_by_role("button", name="Sign up").click()
    tab.page.get_by_role("heading", name="Check your email").wait_for()
    link = server.wait_for_link(email, "/verify-email?token=")
    assert link.startswith(server.url + "/verify-email?token=")  # not :8000
    tab.go(link)
    tab.page.get_by_role("button", name="Verify my email").click()
    tab.page.get_by_text("Ada Keller").wait_for()
    tab.shot("verified")
    assert httpx.get(link).status_code == 200


def test_log_in_with_the_keyboard_only(tabs: Any, server: Server) -> None:
    """The skip link comes first; Tab reaches the labelled fields; Enter submits; the new
    page's heading takes the focus."""
    tab = tabs("keyboard")
    tab.go("/login")
    tab.page.get_by_role("form", name="Log in").wait_for()  # rendered: Tab goes in
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("() => document.activeElement.textContent") == "Skip to the content"
    for _ in range(12):
        tab.page.keyboard.press("Tab")
        if tab.page.evaluate("() => document.activeElement.name") == "email":
            break
    else:
        raise AssertionError("Tab never reached the email field")
    tab.page.keyboard.type("rep@limited.example")
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("() => document.activeElement.name") == "password"
    tab.page.keyboard.type("partnergraph-demo")
    tab.page.keyboard.press("Enter")
    tab.page.get_by_role("heading", name="Partners").wait_for()
    tab.page.get_by_role("link", name="Members").press("Enter")
    tab.page.get_by_role("heading", name="Members").wait_for()
    assert tab.page.evaluate("() => document.activeElement.id") == "page-title"
    tab.shot("members")
